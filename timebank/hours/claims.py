"""Claims (党员接单): a volunteer takes a slot, may withdraw before the start, is marked no-show after.

The slot counter on the task is moved by a conditional UPDATE (`claimed < slots`), so two volunteers racing
for the last slot cannot both get it, on PostgreSQL (row lock taken by the UPDATE) as on SQLite (BEGIN
IMMEDIATE). One claim row per person and task (UNIQUE); a withdrawn claim can be taken again.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from timebank.db_base import utcnow
from timebank.errors import Conflict, Forbidden, RuleViolation, get_or_404
from timebank.hours import tasks
from timebank.hours.models import Attendance, Claim, ClaimStatus, Eligibility, Task, TaskStatus
from timebank.ops import audit
from timebank.people.access import FIELD_ROLES, Actor
from timebank.people.models import PartyMember, Person


def check_eligible(session: Session, task: Task, person_id: int) -> None:
    """The task's eligibility (anyone, party members, one branch's or one employer's members) for one person."""
    if task.eligibility == Eligibility.anyone:
        return
    member = session.scalar(select(PartyMember).where(PartyMember.person_id == person_id))
    ok = member is not None and (
        task.eligibility == Eligibility.party_members
        or (task.eligibility == Eligibility.branch and member.branch_id == task.eligible_branch_id)
        or (task.eligibility == Eligibility.employer and member.employer_id == task.eligible_employer_id)
    )
    if not ok:
        raise Forbidden("not_eligible")


def check_claimable(session: Session, task: Task) -> None:
    """A task takes claims while it is published and has not started."""
    if task.status != TaskStatus.published:
        raise Conflict("task_cancelled")
    if utcnow() >= task.starts_at:
        raise RuleViolation("task_started")


def claim(session: Session, actor: Actor, task_id: int) -> Claim:
    """Take a slot on a published task that has not started."""
    person_id = actor.person_id
    if person_id is None:
        raise Forbidden("people_only")
    if session.scalar(select(Person.home_org_id).where(Person.id == person_id)) is None:
        # A self-registered person joins a community first (its admin approves the join request).
        raise Forbidden("not_joined")
    task = tasks.get(session, task_id)
    check_claimable(session, task)
    check_eligible(session, task, person_id)
    existing = held_claim(session, task.id, person_id)
    if existing is not None and existing.status != ClaimStatus.withdrawn:
        raise Conflict("already_claimed", claim_id=existing.id)
    if not tasks.take_slot(session, task.id):
        raise Conflict("task_full")
    row = place(session, task, person_id, existing)
    session.flush()
    session.expire(task, ["claimed"])
    audit.record(session, actor, "claim.create", "claim", row.id, org_path=task.org_path,
                 after={"task_id": task.id, "person_id": person_id})
    return row


def held_claim(session: Session, task_id: int, person_id: int) -> Claim | None:
    """The person's claim row on the task, whatever its status, locked for the claim about to be written."""
    return session.scalar(select(Claim).where(Claim.task_id == task_id, Claim.person_id == person_id)
                          .with_for_update())


def place(session: Session, task: Task, person_id: int, existing: Claim | None, *,
          team_claim_id: int | None = None) -> Claim:
    """Write the claim for a slot already taken: a withdrawn claim is taken again, else a new row (one per
    person and task). `team_claim_id` marks a slot taken by the person's team (由 X 队认领)."""
    if existing is not None:
        existing.status, existing.withdrawn_at, existing.created_at = ClaimStatus.active, None, utcnow()
        existing.team_claim_id = team_claim_id
        return existing
    row = Claim(task_id=task.id, person_id=person_id, status=ClaimStatus.active, team_claim_id=team_claim_id)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError as exc:  # a twin request of the same person won the insert
        raise Conflict("already_claimed") from exc
    return row


def get(session: Session, claim_id: int, *, lock: bool = False) -> Claim:
    row = get_or_404(session, Claim, claim_id, "claim_not_found", with_for_update=lock or None)
    return row


def get_visible(session: Session, actor: Actor, claim_id: int) -> Claim:
    row = get(session, claim_id)
    if row.person_id != actor.person_id:
        actor.require_on(FIELD_ROLES, row.task.org_path)
    return row


def withdraw(session: Session, actor: Actor, claim_id: int) -> Claim:
    """The volunteer gives the slot back, before the task starts."""
    row = get(session, claim_id, lock=True)
    actor.require_person(row.person_id)
    if row.status != ClaimStatus.active:
        raise Conflict("claim_state")
    if utcnow() >= row.task.starts_at:
        raise RuleViolation("task_started", variant="withdraw")
    row.status, row.withdrawn_at = ClaimStatus.withdrawn, utcnow()
    tasks.give_back_slot(session, row.task_id)
    session.flush()
    session.expire(row.task, ["claimed"])
    audit.record(session, actor, "claim.withdraw", "claim", row.id, org_path=row.task.org_path,
                 before={"status": "active"}, after={"status": "withdrawn"})
    return row


def mark_no_show(session: Session, actor: Actor, claim_id: int) -> Claim:
    """The grid worker or an admin marks a claimant who never came, once the task has started."""
    row = get(session, claim_id, lock=True)
    actor.require_on(FIELD_ROLES, row.task.org_path)
    if row.status != ClaimStatus.active:
        raise Conflict("claim_state")
    if utcnow() < row.task.starts_at:
        raise RuleViolation("task_not_started")
    if session.scalar(select(Attendance.id).where(Attendance.claim_id == row.id).limit(1)) is not None:
        raise Conflict("has_attendance")
    row.status, row.no_show_at, row.no_show_by_id = ClaimStatus.no_show, utcnow(), actor.person_id
    session.flush()
    audit.record(session, actor, "claim.no_show", "claim", row.id, org_path=row.task.org_path,
                 before={"status": "active"}, after={"status": "no_show"})
    return row


def my_claims_stmt(actor: Actor, *, status: ClaimStatus | None = None):
    stmt = select(Claim).where(Claim.person_id == actor.person_id)
    if status is not None:
        stmt = stmt.where(Claim.status == status)
    return stmt


def task_claims_stmt(task: Task):
    return select(Claim).where(Claim.task_id == task.id)
