"""Reads of the three lists (三张清单) and of projects, for the API, the pages and the appraisal above.

- 需求清单: open needs not yet in a project, grouped by category and place (the grid or community posted in).
- 资源清单: what reported-in units offer; for each line a project asks for, the best-placed offers first.
- 项目清单: a community's (or a street's, a district's) projects, with their claimant and progress.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from timebank.clock import utc_bounds
from timebank.cobuilding.models import UnitReportIn, UnitReportInStatus, UnitResource
from timebank.hours.models import Attendance, Decision, Need, NeedStatus, Task, Verification, WishClaim, WishClaimStatus
from timebank.people.models import Employer, Org
from timebank.projects.models import (
    ClaimantKind,
    Project,
    ProjectClaim,
    ProjectClaimStatus,
    ProjectNeed,
    ProjectResource,
    ProjectStatus,
    ProjectTask,
)

SUGGESTIONS = 5


@dataclass(frozen=True)
class NeedGroup:
    category: str | None
    org_id: int
    place: str
    need_ids: list[int]


def need_groups(session: Session, community_id: int) -> list[NeedGroup]:
    """The community's open needs that no project holds yet, grouped by (category, where posted), largest first."""
    rows = session.execute(
        select(Need.id, Need.category, Need.org_id, Org.name).join(Org, Org.id == Need.org_id)
        .outerjoin(ProjectNeed, ProjectNeed.need_id == Need.id)
        .where(Need.community_id == community_id, Need.status == NeedStatus.open, ProjectNeed.id.is_(None))
        .order_by(Need.id).limit(2000)).all()
    groups: dict[tuple, list[int]] = defaultdict(list)
    names = {}
    for need_id, category, org_id, name in rows:
        groups[(category, org_id)].append(need_id)
        names[org_id] = name
    return sorted((NeedGroup(cat, org, names[org], ids) for (cat, org), ids in groups.items()),
                  key=lambda g: (-len(g.need_ids), g.category or "", g.org_id))


def list_stmt(path: str, *, status: ProjectStatus | None = None, published_only: bool = False):
    """Projects of communities under `path`, newest first. The published list leaves out cancelled projects."""
    stmt = select(Project).where(Project.community_path.startswith(path, autoescape=True))
    if status is not None:
        stmt = stmt.where(Project.status == status)
    elif published_only:
        stmt = stmt.where(Project.status != ProjectStatus.cancelled)
    return stmt.order_by(Project.id.desc())


@dataclass
class Card:
    """A project as its lists show it: the project's own fields, its active claim and its progress."""

    project: Project
    claim: ProjectClaim | None
    progress: dict

    def __getattr__(self, name: str):
        return getattr(self.project, name)


def cards(session: Session, projects: list[Project]) -> list[Card]:
    ids = [p.id for p in projects]
    claims, done = claims_of(session, ids), progress(session, ids)
    return [Card(p, claims.get(p.id), done[p.id]) for p in projects]


def claims_of(session: Session, project_ids: list[int]) -> dict[int, ProjectClaim]:
    """The active claim of each project, with its organisation loaded."""
    if not project_ids:
        return {}
    return {c.project_id: c for c in session.scalars(select(ProjectClaim).options(
        selectinload(ProjectClaim.employer), selectinload(ProjectClaim.branch), selectinload(ProjectClaim.team))
        .where(ProjectClaim.project_id.in_(project_ids), ProjectClaim.status == ProjectClaimStatus.active))}


def progress(session: Session, project_ids: list[int]) -> dict[int, dict]:
    """Per project: tasks published, needs answered, and the minutes and points credited so far on its tasks
    (accepted verifications, reversals left out), and how many volunteers served."""
    out = {pid: {"tasks": 0, "needs": 0, "minutes": 0, "points": 0, "volunteers": 0} for pid in project_ids}
    if not project_ids:
        return out
    for pid, n in session.execute(select(ProjectTask.project_id, func.count()).where(
            ProjectTask.project_id.in_(project_ids)).group_by(ProjectTask.project_id)):
        out[pid]["tasks"] = n
    for pid, n in session.execute(select(ProjectNeed.project_id, func.count()).where(
            ProjectNeed.project_id.in_(project_ids)).group_by(ProjectNeed.project_id)):
        out[pid]["needs"] = n
    rows = session.execute(
        select(ProjectTask.project_id, func.coalesce(func.sum(Verification.minutes_accepted), 0),
               func.coalesce(func.sum(Verification.points), 0), func.count(func.distinct(Verification.person_id)))
        .join(Attendance, Attendance.task_id == ProjectTask.task_id)
        .join(Verification, Verification.attendance_id == Attendance.id)
        .where(ProjectTask.project_id.in_(project_ids), Verification.decision == Decision.accepted,
               Verification.credited_at.is_not(None), Verification.reversed_at.is_(None))
        .group_by(ProjectTask.project_id))
    for pid, minutes, points, people in rows:
        out[pid].update(minutes=int(minutes), points=int(points), volunteers=int(people))
    return out


def project_tasks(session: Session, project_id: int) -> list[Task]:
    return list(session.scalars(select(Task).join(ProjectTask, ProjectTask.task_id == Task.id)
                                .where(ProjectTask.project_id == project_id).order_by(Task.starts_at, Task.id)))


def project_needs(session: Session, project_id: int) -> list[Need]:
    return list(session.scalars(select(Need).join(ProjectNeed, ProjectNeed.need_id == Need.id)
                                .where(ProjectNeed.project_id == project_id).order_by(Need.id)))


def _bigrams(text: str) -> set[str]:
    text = "".join(ch for ch in (text or "") if not ch.isspace())
    return {text[i:i + 2] for i in range(len(text) - 1)} | ({text} if len(text) == 1 else set())


def suggestions(session: Session, project: Project, line: ProjectResource, *, limit: int = SUGGESTIONS) -> list[dict]:
    """Available resources of the same kind offered by units with an active report-in in the project's district,
    best first: same community, then same street; then shared words with the line asked for and with the
    project's category (Chinese has no spaces: two-character pieces are compared)."""
    district = "/".join(project.community_path.split("/")[:2]) + "/"
    street = project.community_path.rsplit("/", 2)[0] + "/"
    rows = session.execute(
        select(UnitResource, UnitReportIn.community_id, UnitReportIn.community_path, Employer.name, Org.name)
        .join(UnitReportIn, UnitReportIn.id == UnitResource.report_in_id)
        .join(Employer, Employer.id == UnitReportIn.employer_id)
        .join(Org, Org.id == UnitReportIn.community_id)
        .where(UnitResource.kind == line.kind, UnitResource.available.is_(True),
               UnitReportIn.status == UnitReportInStatus.active,
               UnitReportIn.community_path.startswith(district, autoescape=True))
        .limit(500)).all()
    wanted, category = _bigrams(line.description), _bigrams(project.category)
    scored = []
    for res, community_id, path, unit, community in rows:
        words = _bigrams(res.description)
        place = 2 if community_id == project.community_id else 1 if path.startswith(street) else 0
        score = 10 * place + 3 * len(words & category) + len(words & wanted)
        scored.append((-score, res.id, {"resource_id": res.id, "unit": unit, "community": community,
                                        "description": res.description, "quantity": res.quantity,
                                        "unit_of_quantity": res.unit, "score": score,
                                        "place": ("本社区", "本街道", "本区")[2 - place]}))
    return [item for _s, _i, item in sorted(scored, key=lambda t: t[:2])[:limit]]


# --- into the appraisal ------------------------------------------------------------------------------------------


def letter_section(session: Session, employer_id: int, *, district_path: str, starts_on: date,
                   ends_on: date) -> dict:
    """项目认领与微心愿 for one unit's letter of one period (local dates, inclusive): the projects the unit holds in
    the district whose period met the letter's, with their tier, status, progress and satisfaction; and the
    micro-wishes the unit claimed and fulfilled in the period, with the people they helped."""
    start, end = utc_bounds(starts_on, ends_on)
    rows = session.execute(
        select(Project, Org.name).join(ProjectClaim, ProjectClaim.project_id == Project.id)
        .join(Org, Org.id == Project.community_id)
        .where(ProjectClaim.employer_id == employer_id, ProjectClaim.kind == ClaimantKind.unit,
               ProjectClaim.status == ProjectClaimStatus.active,
               Project.community_path.startswith(district_path, autoescape=True),
               Project.starts_on <= ends_on, Project.ends_on >= starts_on)
        .order_by(Project.starts_on, Project.id)).all()
    done = progress(session, [p.id for p, _n in rows])
    projects = [{"id": p.id, "title": p.title, "tier": str(p.tier), "community": name, "status": str(p.status),
                 "starts_on": p.starts_on.isoformat(), "ends_on": p.ends_on.isoformat(),
                 "satisfaction": p.satisfaction, **done[p.id]} for p, name in rows]
    wishes = session.execute(
        select(WishClaim, Need.title, Org.name).join(Need, Need.id == WishClaim.need_id)
        .join(Org, Org.id == WishClaim.community_id)
        .where(WishClaim.employer_id == employer_id,
               WishClaim.status.in_((WishClaimStatus.fulfilled, WishClaimStatus.confirmed)),
               WishClaim.fulfilled_at >= start, WishClaim.fulfilled_at < end,
               Need.org_path.startswith(district_path, autoescape=True))
        .order_by(WishClaim.fulfilled_at, WishClaim.id)).all()
    return {
        "projects": projects,
        "projects_accepted": sum(1 for p in projects if p["status"] in ("accepted", "closed")),
        "wishes": [{"id": w.id, "title": title, "community": community, "way": str(w.way),
                    "people_helped": w.people_helped or 0, "confirmed": w.confirmed_at is not None}
                   for w, title, community in wishes],
        "wishes_fulfilled": len(wishes),
        "people_helped": sum(w.people_helped or 0 for w, _t, _c in wishes),
    }


def member_part(session: Session, person_ids: list[int], starts_on: date, ends_on: date) -> dict[int, dict]:
    """Each member's part in projects and micro-wishes in the period: the projects they served in (credited,
    not reversed, served in the period) with the minutes, and the wishes they claimed themselves and fulfilled."""
    out = {pid: {"projects": 0, "project_minutes": 0, "wishes_claimed": 0} for pid in person_ids}
    if not person_ids:
        return out
    rows = session.execute(
        select(Verification.person_id, func.count(func.distinct(ProjectTask.project_id)),
               func.coalesce(func.sum(Verification.minutes_accepted), 0))
        .join(Attendance, Attendance.id == Verification.attendance_id)
        .join(ProjectTask, ProjectTask.task_id == Attendance.task_id)
        .where(Verification.person_id.in_(person_ids), Verification.decision == Decision.accepted,
               Verification.credited_at.is_not(None), Verification.reversed_at.is_(None),
               Verification.served_on >= starts_on, Verification.served_on <= ends_on)
        .group_by(Verification.person_id))
    for pid, n, minutes in rows:
        out[pid].update(projects=int(n), project_minutes=int(minutes))
    start, end = utc_bounds(starts_on, ends_on)
    for pid, n in session.execute(
            select(WishClaim.person_id, func.count()).where(
                WishClaim.person_id.in_(person_ids), WishClaim.employer_id.is_(None),
                WishClaim.status.in_((WishClaimStatus.fulfilled, WishClaimStatus.confirmed)),
                WishClaim.fulfilled_at >= start, WishClaim.fulfilled_at < end)
            .group_by(WishClaim.person_id)):
        out[pid]["wishes_claimed"] = int(n)
    return out


def claimed_by(session: Session, *, employer_ids: set[int] = frozenset(), team_ids: set[int] = frozenset(),
               branch_ids: set[int] = frozenset()):
    """The projects these organisations hold now, newest first (a unit's, a leader's, a branch's page)."""
    conds = []
    if employer_ids:
        conds.append(ProjectClaim.employer_id.in_(list(employer_ids)))
    if team_ids:
        conds.append(ProjectClaim.team_id.in_(list(team_ids)))
    if branch_ids:
        conds.append(ProjectClaim.branch_id.in_(list(branch_ids)))
    if not conds:
        return []
    return list(session.scalars(select(Project).join(ProjectClaim, ProjectClaim.project_id == Project.id)
                                .where(ProjectClaim.status == ProjectClaimStatus.active, or_(*conds))
                                .order_by(Project.id.desc()).limit(200)))
