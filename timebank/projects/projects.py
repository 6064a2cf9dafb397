"""A project's life: made from needs, claimed by one organisation, worked through tasks, accepted with the
residents' satisfaction, closed.

The claim moves the project from open to claimed with one conditional UPDATE — of two organisations racing,
the loser updates no row — and a partial UNIQUE index on the active claim backs it up. Every refusal raises
before the unit of work commits, so nothing is half-written.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from timebank.clock import local, local_today, utc_bounds
from timebank.cobuilding.models import ResourceKind, UnitReportIn, UnitReportInStatus, UnitResource
from timebank.db_base import utcnow
from timebank.errors import Conflict, Forbidden, InvalidInput, RuleViolation, get_or_404
from timebank.hours import needs, tasks
from timebank.hours.models import Eligibility, Need, NeedStatus, Task, TaskScope, TaskStatus
from timebank.ops import audit
from timebank.people import orgs
from timebank.people.access import ADMIN_ROLES, Actor
from timebank.people.models import Branch, Employer, OrgKind, PartyMember
from timebank.projects import notices
from timebank.projects.models import (
    ClaimantKind,
    Project,
    ProjectClaim,
    ProjectClaimStatus,
    ProjectNeed,
    ProjectResource,
    ProjectStatus,
    ProjectTask,
    ProjectTier,
)
from timebank.teams import teams as team_rules
from timebank.teams.models import TeamStatus

MAX_NEEDS = 50
MAX_RESOURCES = 20
MAX_TITLE, MAX_PLACE, MAX_GOAL, MAX_REASON = 120, 200, 2000, 500
MAX_BUDGET = 10_000_000
MAX_DAYS = 3 * 366
# Where a project's tasks may be claimed, by the kind of organisation that holds it.
TASK_RULES = {ClaimantKind.unit: (TaskScope.organisation, Eligibility.employer),
              ClaimantKind.branch: (TaskScope.organisation, Eligibility.branch),
              ClaimantKind.team: (TaskScope.individual, Eligibility.anyone)}
LIVE = (ProjectStatus.open, ProjectStatus.claimed, ProjectStatus.in_progress)


def get(session: Session, project_id: int, *, lock: bool = False) -> Project:
    return get_or_404(session, Project, project_id, "project_not_found", with_for_update=lock or None)


def _admin_project(session: Session, actor: Actor, project_id: int) -> Project:
    project = get(session, project_id, lock=True)
    actor.require_on(ADMIN_ROLES, project.community_path)
    return project


def _text(value: str | None, *, what: str, limit: int, required: bool = True) -> str:
    """`value` stripped; `what` names the field in the Chinese refusal."""
    value = (value or "").strip()
    if required and not value:
        raise InvalidInput("project_field_required", what=what)
    if len(value) > limit:
        raise InvalidInput("project_field_too_long", what=what, max_chars=limit)
    return value


def _budget(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_BUDGET:
        raise InvalidInput("project_budget_range", what=what, max=MAX_BUDGET)
    return value


def _resources(lines: list[dict] | None) -> list[tuple[ResourceKind, str]]:
    lines = list(lines or ())
    if len(lines) > MAX_RESOURCES:
        raise InvalidInput("too_many_resources", max=MAX_RESOURCES)
    out = []
    for line in lines:
        try:
            kind = ResourceKind(line.get("kind"))
        except ValueError as exc:
            raise InvalidInput("project_resource_kind") from exc
        out.append((kind, _text(line.get("description"), what="所需资源", limit=200)))
    return out


def create(session: Session, actor: Actor, *, community_id: int, title: str, tier: ProjectTier, goal: str,
           starts_on: date, ends_on: date, budget_minutes: int, budget_points: int, need_ids: list[int],
           resources: list[dict] | None = None, category: str | None = None, place: str | None = None) -> Project:
    """Make a project from open needs of one community and publish it in the community's project list. Each need
    is answered (open → accepted) and the resident told; the category defaults to the needs' most common one."""
    community = orgs.get(session, community_id)
    if community.kind != OrgKind.community:
        raise InvalidInput("not_in_community", variant="project")
    actor.require_on(ADMIN_ROLES, community.path)
    title = _text(title, what="项目名称", limit=MAX_TITLE)
    goal = _text(goal, what="项目目标", limit=MAX_GOAL)
    if starts_on > ends_on:
        raise InvalidInput("project_period")
    if ends_on < local_today() or (ends_on - starts_on).days > MAX_DAYS:
        raise InvalidInput("project_period", variant="range", max_days=MAX_DAYS)
    budget_minutes, budget_points = _budget(budget_minutes, "时长预算（分钟）"), _budget(budget_points, "积分预算")
    wanted = sorted(dict.fromkeys(int(n) for n in need_ids or ()))
    if not wanted:
        raise InvalidInput("project_needs_required")
    if len(wanted) > MAX_NEEDS:
        raise InvalidInput("project_needs_too_many", max=MAX_NEEDS)
    lines = _resources(resources)
    found = list(session.scalars(select(Need).where(Need.id.in_(wanted)).order_by(Need.id).with_for_update()))
    if len(found) != len(wanted):
        raise InvalidInput("project_need_missing")
    for need in found:
        if need.community_id != community.id:
            raise RuleViolation("need_other_community", variant="project")
        if need.status != NeedStatus.open:
            raise Conflict("project_need_taken", need=need.title)
    category = (category or "").strip()
    if not category:
        common = Counter(n.category for n in found if n.category).most_common(1)
        category = common[0][0] if common else ""
    category = _text(category, what="服务类别", limit=40)
    needs.check_category(session, community, category)
    place = _text(place or community.name, what="服务地点", limit=MAX_PLACE)
    project = Project(community_id=community.id, community_path=community.path, title=title, tier=tier,
                      category=category, place=place, goal=goal, starts_on=starts_on, ends_on=ends_on,
                      budget_minutes=budget_minutes, budget_points=budget_points, status=ProjectStatus.open,
                      created_by_id=actor.person_id or 0, created_at=utcnow())
    session.add(project)
    session.flush()
    try:
        with session.begin_nested():
            session.add_all([ProjectNeed(project_id=project.id, need_id=n.id) for n in found])
            session.flush()
    except IntegrityError as exc:  # another project took one of the needs at the same moment
        raise Conflict("project_need_taken", need="") from exc
    session.add_all([ProjectResource(project_id=project.id, kind=kind, description=text) for kind, text in lines])
    _start, fulfil_by = utc_bounds(starts_on, ends_on)  # the project's last Beijing day is the needs' deadline
    for need in found:
        needs.accept(session, actor, need, fulfil_by=fulfil_by)
    session.flush()
    audit.record(session, actor, "project.create", "project", project.id, org_path=community.path,
                 after={"title": title, "tier": str(tier), "need_ids": wanted, "budget_minutes": budget_minutes,
                        "budget_points": budget_points})
    return project


# --- the claim (党组织认领) ---------------------------------------------------------------------------------


def _check_claimant(session: Session, actor: Actor, project: Project, kind: ClaimantKind, employer_id: int | None,
                    branch_id: int | None, team_id: int | None, *, for_claim: bool = True) -> dict:
    """Who speaks for which organisation, and (`for_claim`) which may claim: a unit's contact, for a unit reported
    in to the community; a member of a party branch (or an admin over it), for a branch in or above the
    community; a team's leader, for an active team of the community."""
    given = {"employer_id": employer_id, "branch_id": branch_id, "team_id": team_id}
    needed = {ClaimantKind.unit: "employer_id", ClaimantKind.branch: "branch_id", ClaimantKind.team: "team_id"}[kind]
    if given[needed] is None or any(v is not None for k, v in given.items() if k != needed):
        raise InvalidInput("project_claimant")
    if kind == ClaimantKind.unit:
        actor.require_employer(employer_id)
        get_or_404(session, Employer, employer_id, "employer_not_found")
        reported = session.scalar(select(UnitReportIn.id).where(
            UnitReportIn.employer_id == employer_id, UnitReportIn.community_id == project.community_id,
            UnitReportIn.status == UnitReportInStatus.active))
        if reported is None and for_claim:
            raise RuleViolation("unit_not_reported_in", variant="project")
    elif kind == ClaimantKind.branch:
        branch = get_or_404(session, Branch, branch_id, "branch_not_found")
        path = branch.org.path
        if for_claim and not (project.community_path.startswith(path) or path.startswith(project.community_path)):
            raise RuleViolation("branch_other_community")
        member = actor.person_id is not None and session.scalar(select(PartyMember.id).where(
            PartyMember.person_id == actor.person_id, PartyMember.branch_id == branch.id)) is not None
        if not member:
            actor.require_on(ADMIN_ROLES, path)
    else:
        team = team_rules.get(session, team_id)
        team_rules.require_leads(actor, team)
        if for_claim and team.status != TeamStatus.active:
            raise Conflict("team_dissolved")
        if for_claim and team.org_id != project.community_id:
            raise RuleViolation("team_task_other_community", variant="project")
    return given


def _active_claim(session: Session, project_id: int) -> ProjectClaim | None:
    return session.scalar(select(ProjectClaim).where(ProjectClaim.project_id == project_id,
                                                     ProjectClaim.status == ProjectClaimStatus.active))


def claim(session: Session, actor: Actor, project_id: int, *, kind: ClaimantKind, employer_id: int | None = None,
          branch_id: int | None = None, team_id: int | None = None) -> ProjectClaim:
    """An organisation claims an open project. Exactly one wins; the same claim sent twice returns the first."""
    if actor.person_id is None:
        raise Forbidden("people_only")
    project = get(session, project_id)
    given = _check_claimant(session, actor, project, kind, employer_id, branch_id, team_id)
    now = utcnow()
    taken = session.execute(update(Project).where(Project.id == project.id, Project.status == ProjectStatus.open)
                            .values(status=ProjectStatus.claimed, claimed_at=now)
                            .execution_options(synchronize_session=False))
    if taken.rowcount != 1:
        held = _active_claim(session, project.id)
        if held is not None and held.kind == kind and all(getattr(held, k) == v for k, v in given.items()):
            return held  # a double submit of the same claim
        if held is not None:
            raise Conflict("project_taken")
        session.refresh(project)
        raise Conflict("project_state", status_now=str(project.status))
    row = ProjectClaim(project_id=project.id, kind=kind, person_id=actor.person_id,
                       status=ProjectClaimStatus.active, claimed_at=now, **given)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError as exc:  # the partial UNIQUE index: another claim is active
        raise Conflict("project_taken") from exc
    session.refresh(project)
    audit.record(session, actor, "project.claim", "project", project.id, org_path=project.community_path,
                 after={"claim_id": row.id, "kind": str(kind), **given})
    notices.claimed(session, project, row)
    return row


def _require_claimer(session: Session, actor: Actor, row: ProjectClaim) -> None:
    """The claimant's side: the unit's contacts, the branch's members or admins over it, the team's leader."""
    _check_claimant(session, actor, row.project, row.kind, row.employer_id, row.branch_id, row.team_id,
                    for_claim=False)


def withdraw_claim(session: Session, actor: Actor, project_id: int) -> ProjectClaim:
    """The organisation gives the project back before any task was published under it: open again."""
    project = get(session, project_id, lock=True)
    row = _active_claim(session, project.id)
    if row is None:
        raise Conflict("project_state", status_now=str(project.status))
    if not actor.has_role_on(ADMIN_ROLES, project.community_path):
        _require_claimer(session, actor, row)
    if project.status != ProjectStatus.claimed:
        raise Conflict("project_state", variant="withdraw", status_now=str(project.status))
    row.status, row.withdrawn_at = ProjectClaimStatus.withdrawn, utcnow()
    project.status, project.claimed_at = ProjectStatus.open, None
    session.flush()
    audit.record(session, actor, "project.withdraw", "project", project.id, org_path=project.community_path,
                 after={"claim_id": row.id})
    return row


# --- work under the project ----------------------------------------------------------------------------------


def planned(session: Session, project_id: int) -> tuple[int, int]:
    """(minutes, points) the project's published tasks may credit at most: every slot filled for the whole task."""
    minutes = points = 0
    rows = session.scalars(select(Task).join(ProjectTask, ProjectTask.task_id == Task.id).where(
        ProjectTask.project_id == project_id, Task.status == TaskStatus.published))
    for task in rows:
        each = int((task.ends_at - task.starts_at).total_seconds() // 60)
        pts = each * task.points_per_hour // 60
        if task.points_cap is not None:
            pts = min(pts, task.points_cap)
        minutes += each * task.slots
        points += pts * task.slots
    return minutes, points


def publish_task(session: Session, actor: Actor, project_id: int, *, title: str, starts_at: datetime,
                 ends_at: datetime, slots: int, place: str | None = None, description: str = "",
                 org_id: int | None = None, points_per_hour: int | None = None,
                 points_cap: int | None = None) -> Task:
    """Publish a task under a claimed project, for the claiming organisation's people, inside the project's period
    and budget. The first task starts the project (claimed → in progress)."""
    project = _admin_project(session, actor, project_id)
    if project.status not in (ProjectStatus.claimed, ProjectStatus.in_progress):
        raise Conflict("project_state", variant="task", status_now=str(project.status))
    held = _active_claim(session, project.id)
    if not project.starts_on <= local(starts_at).date() <= project.ends_on:
        raise RuleViolation("task_outside_project_period", starts_on=project.starts_on.isoformat(),
                            ends_on=project.ends_on.isoformat())
    scope, eligibility = TASK_RULES[held.kind]
    task = tasks.publish(session, actor, org_id=org_id or project.community_id, title=title,
                         category=project.category, place=place or project.place, starts_at=starts_at,
                         ends_at=ends_at, slots=slots, description=description, scope=scope,
                         points_per_hour=points_per_hour, points_cap=points_cap, eligibility=eligibility,
                         eligible_branch_id=held.branch_id, eligible_employer_id=held.employer_id)
    if task.community_id != project.community_id:
        raise RuleViolation("need_other_community", variant="project_task")
    session.add(ProjectTask(project_id=project.id, task_id=task.id))
    session.flush()
    minutes, points = planned(session, project.id)
    if (project.budget_minutes and minutes > project.budget_minutes) or \
            (project.budget_points and points > project.budget_points):
        raise RuleViolation("project_budget_exceeded", minutes=minutes, budget_minutes=project.budget_minutes,
                            points=points, budget_points=project.budget_points)
    if project.status == ProjectStatus.claimed:
        project.status, project.started_at = ProjectStatus.in_progress, utcnow()
    session.flush()
    audit.record(session, actor, "project.task", "project", project.id, org_path=project.community_path,
                 after={"task_id": task.id, "title": task.title, "slots": task.slots})
    notices.task_published(session, project, held, task)
    return task


def accept(session: Session, actor: Actor, project_id: int, *, satisfaction: int, note: str = "") -> Project:
    """The community accepts the work once every task has ended, recording the residents' satisfaction (1–5); the
    project's needs are fulfilled and the residents told."""
    project = _admin_project(session, actor, project_id)
    if isinstance(satisfaction, bool) or not isinstance(satisfaction, int) or not 1 <= satisfaction <= 5:
        raise InvalidInput("satisfaction_range")
    note = _text(note, what="验收意见", limit=MAX_REASON, required=False)
    if project.status == ProjectStatus.accepted and project.satisfaction == satisfaction:
        return project  # the same form sent twice
    if project.status != ProjectStatus.in_progress:
        raise Conflict("project_state", variant="accept", status_now=str(project.status))
    running = session.scalar(select(func.count()).select_from(Task).join(ProjectTask, ProjectTask.task_id == Task.id)
                             .where(ProjectTask.project_id == project.id, Task.status == TaskStatus.published,
                                    Task.ends_at > utcnow()))
    if running:
        raise RuleViolation("project_tasks_running", count=running)
    project.status, project.accepted_at, project.accepted_by_id = ProjectStatus.accepted, utcnow(), actor.person_id
    project.satisfaction, project.acceptance_note = satisfaction, note or None
    session.flush()
    for need_id in need_ids(session, project.id):
        needs.mark_fulfilled_by_service(session, actor, need_id)
    audit.record(session, actor, "project.accept", "project", project.id, org_path=project.community_path,
                 after={"satisfaction": satisfaction, "note": note})
    notices.accepted(session, project, _active_claim(session, project.id))
    return project


def close(session: Session, actor: Actor, project_id: int) -> Project:
    """Close an accepted project; its fulfilled needs are closed with it."""
    project = _admin_project(session, actor, project_id)
    if project.status == ProjectStatus.closed:
        return project
    if project.status != ProjectStatus.accepted:
        raise Conflict("project_state", variant="close", status_now=str(project.status))
    project.status, project.closed_at = ProjectStatus.closed, utcnow()
    session.flush()
    for need in session.scalars(select(Need).where(Need.id.in_(need_ids(session, project.id)),
                                                   Need.status == NeedStatus.fulfilled)):
        needs.close(session, actor, need.id)
    audit.record(session, actor, "project.close", "project", project.id, org_path=project.community_path)
    return project


def cancel(session: Session, actor: Actor, project_id: int, *, reason: str) -> Project:
    """Withdraw a project before any task: its claim ends and its needs go back on the needs list."""
    project = _admin_project(session, actor, project_id)
    reason = _text(reason, what="取消原因", limit=MAX_REASON)
    if project.status == ProjectStatus.cancelled:
        return project
    if project.status not in (ProjectStatus.open, ProjectStatus.claimed):
        raise Conflict("project_state", variant="cancel", status_now=str(project.status))
    held = _active_claim(session, project.id)
    now = utcnow()
    if held is not None:
        held.status, held.withdrawn_at = ProjectClaimStatus.withdrawn, now
    project.status, project.cancelled_at, project.cancel_reason = ProjectStatus.cancelled, now, reason
    ids = need_ids(session, project.id)
    for row in session.scalars(select(ProjectNeed).where(ProjectNeed.project_id == project.id)):
        session.delete(row)
    session.flush()
    for need in session.scalars(select(Need).where(Need.id.in_(ids)).with_for_update()):
        needs.release(session, actor, need)
    audit.record(session, actor, "project.cancel", "project", project.id, org_path=project.community_path,
                 after={"reason": reason, "need_ids": ids})
    return project


def arrange_resource(session: Session, actor: Actor, project_id: int, line_id: int,
                     unit_resource_id: int | None) -> ProjectResource:
    """Match a line the project asks for with a reported-in unit's resource of the same kind (None undoes it)."""
    project = _admin_project(session, actor, project_id)
    line = get_or_404(session, ProjectResource, line_id, "project_resource_not_found")
    if line.project_id != project.id:
        raise InvalidInput("project_resource_not_found")
    if unit_resource_id is not None:
        res = get_or_404(session, UnitResource, unit_resource_id, "unit_resource_not_found")
        if res.kind != line.kind or not res.available or res.report_in.status != UnitReportInStatus.active:
            raise RuleViolation("resource_not_offered")
    before = line.unit_resource_id
    line.unit_resource_id = unit_resource_id
    session.flush()
    audit.record(session, actor, "project.resource", "project", project.id, org_path=project.community_path,
                 before={"line_id": line.id, "unit_resource_id": before},
                 after={"line_id": line.id, "unit_resource_id": unit_resource_id})
    return line


def need_ids(session: Session, project_id: int) -> list[int]:
    return list(session.scalars(select(ProjectNeed.need_id).where(ProjectNeed.project_id == project_id)
                                .order_by(ProjectNeed.need_id)))


def active_claim(session: Session, project_id: int) -> ProjectClaim | None:
    return _active_claim(session, project_id)
