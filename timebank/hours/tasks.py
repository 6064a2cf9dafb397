"""Tasks (社区派单): a community admin publishes a need, or the community's own activity, as a task.

Policy read with `orgs.setting` (inherited, nearest node wins; the demo district sets the first three):

- `categories` — list of category names (e.g. the five colours 红色先锋 橙色关爱 绿色环保 金色助老 蓝色平安).
  When set, a task's (and a need's) category must be one of them; unset allows any.
- `points_per_hour` — int, or a {category: int} map (a category missing from the map falls back to the map's
  `"*"` entry, else `DEFAULT_POINTS_PER_HOUR`). Fixed on the task at publish time; an admin may give a lower
  or equal value for one task, never a higher one.
- `points_cap_per_task` — int: most points one attendance on one task can earn (a task may set a lower cap).
- `daily_minutes_cap` — int: most minutes one person may have recorded in one local day (see attendance).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from timebank.db_base import utcnow
from timebank.errors import Conflict, InvalidInput, RuleViolation, get_or_404
from timebank.hours import needs, notices
from timebank.hours.models import Claim, ClaimStatus, Eligibility, Need, Task, TaskScope, TaskStatus
from timebank.ops import audit
from timebank.people import orgs
from timebank.people.access import ADMIN_ROLES, FIELD_ROLES, Actor
from timebank.people.models import Branch, Employer, Org, OrgKind, Role

DEFAULT_POINTS_PER_HOUR = 10
MAX_TASK_HOURS = 24
# How far ahead a task may be published: beyond it a date is a typo (year 9999), not a plan.
MAX_DAYS_AHEAD = 366
# The sizes the table holds; the API's schema and the console's form both end up here.
MAX_TITLE, MAX_PLACE, MAX_DESCRIPTION, MAX_CATEGORY, MAX_SLOTS = 120, 200, 4000, 40, 10_000
# A start this far back is a form filled in slowly, not a task in the past.
START_GRACE = timedelta(minutes=5)
# What an admin may change on a published task; times and slots only before it starts.
EDITABLE = ("title", "description", "place", "starts_at", "ends_at", "slots")


def points_per_hour_for(session: Session, org: Org, category: str) -> int:
    value = orgs.setting(session, org, "points_per_hour", DEFAULT_POINTS_PER_HOUR)
    if isinstance(value, dict):
        value = value.get(category, value.get("*", DEFAULT_POINTS_PER_HOUR))
    return int(value)


def publish(session: Session, actor: Actor, *, org_id: int, title: str, category: str, place: str,
            starts_at: datetime, ends_at: datetime, slots: int, description: str = "",
            need_id: int | None = None, scope: TaskScope = TaskScope.individual,
            points_per_hour: int | None = None, points_cap: int | None = None,
            eligibility: Eligibility = Eligibility.anyone, eligible_branch_id: int | None = None,
            eligible_employer_id: int | None = None) -> Task:
    """Publish a task in a community (or one of its grids); from a need it accepts that need."""
    org = orgs.get(session, org_id)
    if org.kind not in (OrgKind.community, OrgKind.grid):
        raise InvalidInput("not_in_community", variant="task")
    community = orgs.community_of(session, org)
    actor.require_on(ADMIN_ROLES, community.path)
    category = (category or "").strip()
    if not category:
        raise InvalidInput("task_field_required", variant="category")
    if len(category) > MAX_CATEGORY:
        raise InvalidInput("task_field_too_long", variant="category", max_chars=MAX_CATEGORY)
    needs.check_category(session, org, category)
    title, place, description = check_fields(title=title, place=place, description=description, slots=slots)
    check_times(starts_at, ends_at)
    policy_rate = points_per_hour_for(session, org, category)
    if points_per_hour is None:
        points_per_hour = policy_rate
    elif points_per_hour > policy_rate:
        raise RuleViolation("points_rule_exceeded", max_points=policy_rate)
    policy_cap = orgs.setting(session, org, "points_cap_per_task", None)
    if policy_cap is not None:
        points_cap = int(policy_cap) if points_cap is None else min(points_cap, int(policy_cap))
    _check_eligibility(session, scope, eligibility, eligible_branch_id, eligible_employer_id)
    need = None
    if need_id is not None:
        need = get_or_404(session, Need, need_id, "need_not_found", with_for_update=True)
        if need.community_id != community.id:
            raise RuleViolation("need_other_community")
        needs.accept(session, actor, need)
    task = Task(community_id=community.id, org_id=org.id, org_path=org.path, need_id=need_id, title=title,
                description=description, category=category, scope=scope, place=place, starts_at=starts_at,
                ends_at=ends_at, slots=slots, claimed=0, points_per_hour=points_per_hour, points_cap=points_cap,
                eligibility=eligibility, eligible_branch_id=eligible_branch_id,
                eligible_employer_id=eligible_employer_id, status=TaskStatus.published,
                created_by_id=actor.person_id or 0)
    session.add(task)
    session.flush()
    audit.record(session, actor, "task.publish", "task", task.id, org_path=org.path,
                 after={"title": title, "category": category, "slots": slots, "need_id": need_id,
                        "points_per_hour": points_per_hour, "points_cap": points_cap})
    if need is not None:
        notices.need_changed(session, need, "need.published", task=task)
    return task


def check_fields(*, title: str, place: str, description: str, slots: int) -> tuple[str, str, str]:
    """The task's words and slots, whoever sends them (API, console form): trimmed, within the table's sizes."""
    title, place, description = (title or "").strip(), (place or "").strip(), (description or "").strip()
    if not title:
        raise InvalidInput("task_field_required", variant="title")
    if len(title) > MAX_TITLE:
        raise InvalidInput("task_field_too_long", variant="title", max_chars=MAX_TITLE)
    if not place:
        raise InvalidInput("task_field_required", variant="place")
    if len(place) > MAX_PLACE:
        raise InvalidInput("task_field_too_long", variant="place", max_chars=MAX_PLACE)
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInput("task_field_too_long", variant="description", max_chars=MAX_DESCRIPTION)
    if isinstance(slots, bool) or not isinstance(slots, int) or not 1 <= slots <= MAX_SLOTS:
        raise InvalidInput("slots_range", max_slots=MAX_SLOTS)
    return title, place, description


def check_times(starts_at: datetime, ends_at: datetime) -> None:
    """A task's window: ends after it starts, at most a day long, starts now or later, within a year."""
    if ends_at <= starts_at:
        raise InvalidInput("ends_before_start")
    if (ends_at - starts_at).total_seconds() > MAX_TASK_HOURS * 3600:
        raise InvalidInput("task_too_long", max_hours=MAX_TASK_HOURS)
    now = utcnow()
    if ends_at <= now:
        raise InvalidInput("task_in_past")
    if starts_at < now - START_GRACE:
        raise InvalidInput("task_starts_in_past")
    if starts_at - now > timedelta(days=MAX_DAYS_AHEAD):
        raise InvalidInput("task_too_far", max_days=MAX_DAYS_AHEAD)


def _check_eligibility(session: Session, scope: TaskScope, eligibility: Eligibility, branch_id: int | None,
                       employer_id: int | None) -> None:
    if eligibility == Eligibility.branch:
        if branch_id is None or session.get(Branch, branch_id) is None:
            raise InvalidInput("eligibility", variant="branch_missing")
    elif branch_id is not None:
        raise InvalidInput("eligibility", variant="branch_unexpected")
    if eligibility == Eligibility.employer:
        if employer_id is None or session.get(Employer, employer_id) is None:
            raise InvalidInput("eligibility", variant="employer_missing")
    elif employer_id is not None:
        raise InvalidInput("eligibility", variant="employer_unexpected")
    if scope == TaskScope.organisation and eligibility not in (Eligibility.branch, Eligibility.employer):
        raise InvalidInput("eligibility")


def get(session: Session, task_id: int, *, lock: bool = False) -> Task:
    task = get_or_404(session, Task, task_id, "task_not_found", with_for_update=lock or None)
    return task


def get_for_field(session: Session, actor: Actor, task_id: int) -> Task:
    """The task, for someone who runs it on site: its grid worker or an admin over it."""
    task = get(session, task_id)
    actor.require_on(FIELD_ROLES, task.org_path)
    return task


def get_for_admin(session: Session, actor: Actor, task_id: int, *, lock: bool = False) -> Task:
    """The task, for an admin (or auditor) over it: the console's task page."""
    task = get(session, task_id, lock=lock)
    actor.require_on(ADMIN_ROLES | {Role.auditor}, task.org_path)
    return task


def _active_claimant_ids(session: Session, task_id: int) -> list[int]:
    return list(session.scalars(select(Claim.person_id).where(
        Claim.task_id == task_id, Claim.status == ClaimStatus.active).order_by(Claim.person_id)))


CHANGE_LABELS = {"title": "名称", "place": "地点", "starts_at": "开始时间", "ends_at": "结束时间"}


def edit(session: Session, actor: Actor, task_id: int, *, changes: dict) -> Task:
    """Edit a published task (an admin over it). Times and slots only before the start; slots never below the
    claims already taken. The claimants are told what changed (before → after)."""
    task = get(session, task_id, lock=True)
    actor.require_on(ADMIN_ROLES, task.org_path)
    if task.status != TaskStatus.published:
        raise Conflict("task_cancelled", variant="edit")
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise InvalidInput("not_editable")
    wanted = {key: getattr(task, key) for key in EDITABLE} | changes
    title, place, description = check_fields(title=wanted["title"], place=wanted["place"],
                                             description=wanted["description"], slots=wanted["slots"])
    wanted |= {"title": title, "place": place, "description": description}
    moved = {k for k in ("starts_at", "ends_at", "slots") if wanted[k] != getattr(task, k)}
    if moved and utcnow() >= task.starts_at:
        raise RuleViolation("task_started", variant="edit")
    if {"starts_at", "ends_at"} & moved:
        check_times(wanted["starts_at"], wanted["ends_at"])
    if wanted["slots"] < task.claimed:
        raise RuleViolation("slots_below_claimed", claimed=task.claimed)
    before, after = {}, {}
    for key in EDITABLE:
        if wanted[key] != getattr(task, key):
            before[key], after[key] = _plain(getattr(task, key)), _plain(wanted[key])
            setattr(task, key, wanted[key])
    if not after:
        return task
    session.flush()
    audit.record(session, actor, "task.update", "task", task.id, org_path=task.org_path, before=before, after=after)
    told = [label for key, label in CHANGE_LABELS.items() if key in after]
    if told:  # each active claimant reads what changed in the inbox (and by SMS, per their settings)
        notices.task_changed(session, task, change="、".join(told) + "有变更")
    return task


def _plain(value):
    return value.isoformat() if isinstance(value, datetime) else value


def cancel(session: Session, actor: Actor, task_id: int, *, reason: str | None = None) -> Task:
    """Cancel a task that has not ended: its active claims are released and their claimants told."""
    task = get(session, task_id, lock=True)
    actor.require_on(ADMIN_ROLES, task.org_path)
    if task.status != TaskStatus.published:
        raise Conflict("task_state")
    if task.ends_at <= utcnow():
        raise RuleViolation("task_ended", variant="cancel")
    reason = (reason or "").strip()[:500] or None
    person_ids = _active_claimant_ids(session, task.id)
    notices.task_cancelled(session, task, reason=reason or "社区取消了该任务")  # told while they still hold a claim
    now = utcnow()
    session.execute(update(Claim).where(Claim.task_id == task.id, Claim.status == ClaimStatus.active)
                    .values(status=ClaimStatus.withdrawn, withdrawn_at=now)
                    .execution_options(synchronize_session="fetch"))
    task.status, task.cancelled_at, task.claimed = TaskStatus.cancelled, now, 0
    session.flush()
    audit.record(session, actor, "task.cancel", "task", task.id, org_path=task.org_path,
                 before={"status": "published", "claimed": len(person_ids)},
                 after={"status": "cancelled", "released_claims": len(person_ids), "reason": reason})
    return task



def open_tasks_stmt(*, community_id: int | None = None, category: str | None = None,
                    starts_after: datetime | None = None, starts_before: datetime | None = None):
    """Published tasks that have not started (a started one can no longer be claimed) and still have a free
    slot. Order it by `starts_at` for people (soonest first); the API pages it by id."""
    stmt = select(Task).where(Task.status == TaskStatus.published, Task.claimed < Task.slots,
                              Task.starts_at > utcnow())
    if community_id is not None:
        stmt = stmt.where(Task.community_id == community_id)
    if category is not None:
        stmt = stmt.where(Task.category == category)
    if starts_after is not None:
        stmt = stmt.where(Task.starts_at >= starts_after)
    if starts_before is not None:
        stmt = stmt.where(Task.starts_at < starts_before)
    return stmt


def take_slot(session: Session, task_id: int) -> bool:
    """Atomically take one slot: a conditional UPDATE that cannot pass `slots`, whatever runs beside it."""
    return take_slots(session, task_id, 1)


def take_slots(session: Session, task_id: int, count: int) -> bool:
    """Atomically take `count` slots at once, or none: one conditional UPDATE (`claimed + count <= slots`), so a
    team's claim of several slots and a volunteer's claim of one can never overfill the task together."""
    result = session.execute(
        update(Task).where(Task.id == task_id, Task.status == TaskStatus.published,
                           Task.claimed + count <= Task.slots)
        .values(claimed=Task.claimed + count).execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def give_back_slot(session: Session, task_id: int) -> None:
    give_back_slots(session, task_id, 1)


def give_back_slots(session: Session, task_id: int, count: int) -> None:
    session.execute(
        update(Task).where(Task.id == task_id, Task.claimed >= count).values(claimed=Task.claimed - count)
        .execution_options(synchronize_session=False)
    )
