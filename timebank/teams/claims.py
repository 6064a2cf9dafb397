"""A team's claim (团队认领): the leader takes N slots of a task at once for N named active members — all or none.

The task's slot counter moves by one conditional UPDATE (`claimed + n <= slots`, `hours.tasks.take_slots`), so two
teams racing for the last slots, or a team and single volunteers, never overfill the task: on PostgreSQL the UPDATE
takes the task's row lock and re-checks the condition after a concurrent commit; on SQLite the write transaction
holds the database lock. Each member's slot is then an ordinary `Claim` written by the hours rule (eligibility per
member, one claim per person and task), marked with the team claim. Any refusal raises before the unit of work
commits, so nothing is half-written.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from timebank.db_base import utcnow
from timebank.errors import Conflict, Forbidden, InvalidInput, RuleViolation, get_or_404
from timebank.hours import claims as hour_claims
from timebank.hours import tasks
from timebank.hours.models import Claim, ClaimStatus, Task, TaskStatus
from timebank.ops import audit
from timebank.people.access import Actor
from timebank.people.models import Person
from timebank.teams import notices
from timebank.teams import teams as team_rules
from timebank.teams.models import MemberStatus, Team, TeamClaim, TeamClaimStatus, TeamMember, TeamStatus

MAX_MEMBERS = 100


def _names(session: Session, person_ids) -> str:
    rows = session.execute(select(Person.id, Person.name).where(Person.id.in_(list(person_ids)))).all()
    by_id = dict(rows)
    return "、".join(by_id.get(pid, "") for pid in sorted(person_ids))


def claim_for_team(session: Session, actor: Actor, team_id: int, task_id: int, person_ids: list[int]) -> TeamClaim:
    """Take one slot of the task for each named active member, or none. A repeat of the same claim (a double
    submit) returns the first; a member already holding a claim on the task refuses the whole team claim."""
    wanted = list(dict.fromkeys(int(p) for p in person_ids or ()))
    if not wanted:
        raise InvalidInput("team_members_required")
    if len(wanted) > MAX_MEMBERS:
        raise InvalidInput("team_members_too_many", max_members=MAX_MEMBERS)
    team = team_rules.get(session, team_id)
    team_rules.require_leads(actor, team)
    if team.status != TeamStatus.active:
        raise Conflict("team_dissolved")
    task = tasks.get(session, task_id)
    if task.community_id != team.org_id:
        raise RuleViolation("team_task_other_community")
    hour_claims.check_claimable(session, task)
    existing = session.scalar(select(TeamClaim).where(TeamClaim.team_id == team.id, TeamClaim.task_id == task.id)
                              .with_for_update())
    if existing is not None and existing.status == TeamClaimStatus.active:
        if set(member_ids(session, existing)) == set(wanted):
            return existing  # the same claim sent twice
        raise Conflict("team_already_claimed")
    active = set(session.scalars(select(TeamMember.person_id).where(
        TeamMember.team_id == team.id, TeamMember.status == MemberStatus.active,
        TeamMember.person_id.in_(wanted))))
    outsiders = [p for p in wanted if p not in active]
    if outsiders:
        raise RuleViolation("team_members_not_active", names=_names(session, outsiders))
    not_eligible = []
    for person_id in wanted:
        try:
            hour_claims.check_eligible(session, task, person_id)
        except Forbidden:
            not_eligible.append(person_id)
    if not_eligible:
        raise Forbidden("not_eligible", variant="team", names=_names(session, not_eligible))
    held = {c.person_id: c for c in session.scalars(select(Claim).where(
        Claim.task_id == task.id, Claim.person_id.in_(wanted)).with_for_update())}
    taken = [pid for pid, c in held.items() if c.status != ClaimStatus.withdrawn]
    if taken:
        raise Conflict("team_member_already_claimed", names=_names(session, taken))
    if not tasks.take_slots(session, task.id, len(wanted)):
        session.expire(task, ["claimed", "slots", "status"])
        if task.status != TaskStatus.published:
            raise Conflict("task_cancelled")
        raise Conflict("not_enough_slots", wanted=len(wanted), free=max(task.slots - task.claimed, 0))
    now = utcnow()
    if existing is not None:
        existing.status, existing.size, existing.created_at = TeamClaimStatus.active, len(wanted), now
        existing.claimed_by_id, existing.withdrawn_at, existing.withdrawn_by_id = actor.person_id, None, None
        row = existing
    else:
        row = TeamClaim(team_id=team.id, task_id=task.id, size=len(wanted), status=TeamClaimStatus.active,
                        claimed_by_id=actor.person_id, created_at=now)
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError as exc:  # a twin submit of the same team claim committed first
            raise Conflict("team_already_claimed") from exc
    session.flush()
    for person_id in wanted:
        hour_claims.place(session, task, person_id, held.get(person_id), team_claim_id=row.id)
    session.flush()
    session.expire(task, ["claimed"])
    audit.record(session, actor, "team.claim", "team_claim", row.id, org_path=task.org_path,
                 after={"team_id": team.id, "task_id": task.id, "person_ids": wanted})
    notices.members_claimed(session, team, task, row, wanted)
    return row


def get(session: Session, team_claim_id: int, *, lock: bool = False) -> TeamClaim:
    return get_or_404(session, TeamClaim, team_claim_id, "team_claim_not_found", with_for_update=lock or None)


def member_ids(session: Session, team_claim: TeamClaim, *, active_only: bool = True) -> list[int]:
    stmt = select(Claim.person_id).where(Claim.team_claim_id == team_claim.id)
    if active_only:
        stmt = stmt.where(Claim.status == ClaimStatus.active)
    return list(session.scalars(stmt.order_by(Claim.person_id)))


def withdraw(session: Session, actor: Actor, team_claim_id: int) -> TeamClaim:
    """The leader gives the team's slots back before the task starts: its members' active claims are withdrawn
    and their slots freed in one UPDATE."""
    row = get(session, team_claim_id, lock=True)
    team = row.team
    team_rules.require_leads(actor, team)
    if row.status != TeamClaimStatus.active:
        raise Conflict("team_claim_state")
    task = tasks.get(session, row.task_id, lock=True)
    if utcnow() >= task.starts_at:
        raise RuleViolation("task_started", variant="withdraw")
    people = member_ids(session, row)
    now = utcnow()
    if people:
        session.execute(update(Claim).where(Claim.team_claim_id == row.id, Claim.status == ClaimStatus.active)
                        .values(status=ClaimStatus.withdrawn, withdrawn_at=now)
                        .execution_options(synchronize_session="fetch"))
        tasks.give_back_slots(session, task.id, len(people))
    row.status, row.withdrawn_at, row.withdrawn_by_id = TeamClaimStatus.withdrawn, now, actor.person_id
    session.flush()
    session.expire(task, ["claimed"])
    audit.record(session, actor, "team.claim_withdraw", "team_claim", row.id, org_path=task.org_path,
                 before={"status": "active", "person_ids": people}, after={"status": "withdrawn"})
    notices.claim_withdrawn(session, team, task, row, people)
    return row


def team_claims_stmt(team: Team):
    return select(TeamClaim).where(TeamClaim.team_id == team.id)


def claimed_by_team(session: Session, claim_ids: list[int]) -> dict[int, str]:
    """For claims taken by a team: claim id → the team's name (shown as 由 X 队认领)."""
    if not claim_ids:
        return {}
    return dict(session.execute(
        select(Claim.id, Team.name).join(TeamClaim, TeamClaim.id == Claim.team_claim_id)
        .join(Team, Team.id == TeamClaim.team_id).where(Claim.id.in_(claim_ids))).all())


def tasks_for_team(session: Session, team: Team, *, limit: int = 50) -> list[Task]:
    """Open tasks of the team's community the leader may claim for members (soonest first)."""
    stmt = tasks.open_tasks_stmt(community_id=team.org_id).order_by(Task.starts_at, Task.id).limit(limit)
    return list(session.scalars(stmt))
