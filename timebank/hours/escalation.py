"""Deadlines and escalation of needs (网格解决不了的，社区沟通街道……上交至区级指挥中心).

Each need gets a response deadline and a fulfilment deadline when posted, from the district's policy
(setting `need_deadlines`: {category: {"respond_hours": n, "fulfil_days": m}, "*": default}). A need is overdue
while open past `respond_by`, or while accepted / claimed and not fulfilled past `fulfil_by`.

An overdue or stuck need goes up the tree one level per step (grid → community → street → district): by a grid
worker or admin where it is handled now, with a reason, or by the sweep (cron) once per deadline. Each step is a
`NeedEscalation` row keyed by (need, level), so two sweeps (or two people) at the same moment take one step.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from timebank.clock import utc_bounds
from timebank.db_base import utcnow
from timebank.errors import Conflict, InvalidInput, get_or_404
from timebank.hours import notices, queries
from timebank.hours.models import NEED_WAITING_SQL, Need, NeedEscalation, NeedStatus
from timebank.ops import audit
from timebank.people import orgs
from timebank.people.access import FIELD_ROLES, READ_ROLES, SYSTEM, Actor, org_scope_clause
from timebank.people.models import Org, OrgKind

DEFAULT_RESPOND_HOURS = 24
DEFAULT_FULFIL_DAYS = 7
MAX_RESPOND_HOURS = 24 * 90
MAX_FULFIL_DAYS = 365

# Statuses in which a need still waits for someone, and which deadline applies in each.
WAITING_TO_RESPOND = (NeedStatus.open,)
WAITING_TO_FULFIL = (NeedStatus.accepted, NeedStatus.claimed)
ESCALATABLE = WAITING_TO_RESPOND + WAITING_TO_FULFIL


@dataclass(frozen=True)
class Deadlines:
    respond_hours: int
    fulfil_days: int


def _bounded(value, default: int, ceiling: int) -> int:
    """A policy number as an int within 1..ceiling; anything else (a typo in the settings) gives the default."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= ceiling:
        return default
    return int(value)


def deadlines(session: Session, org: Org, category: str | None) -> Deadlines:
    """The policy for a category at `org` (nearest setting up the tree), else the policy's "*", else 24 h / 7 days."""
    policy = orgs.setting(session, org, "need_deadlines", None) or {}
    if not isinstance(policy, dict):
        policy = {}
    fallback = policy.get("*") if isinstance(policy.get("*"), dict) else {}
    chosen = policy.get(category) if category and isinstance(policy.get(category), dict) else {}
    respond = chosen.get("respond_hours", fallback.get("respond_hours"))
    fulfil = chosen.get("fulfil_days", fallback.get("fulfil_days"))
    return Deadlines(_bounded(respond, DEFAULT_RESPOND_HOURS, MAX_RESPOND_HOURS),
                     _bounded(fulfil, DEFAULT_FULFIL_DAYS, MAX_FULFIL_DAYS))


def stamp_deadlines(session: Session, need: Need, org: Org, now: datetime) -> None:
    """Called by `needs.post`: the deadlines are written on the need, so a later policy change keeps history."""
    policy = deadlines(session, org, need.category)
    need.respond_by = now + timedelta(hours=policy.respond_hours)
    need.fulfil_by = now + timedelta(days=policy.fulfil_days)


def overdue_clause(now: datetime):
    """Needs overdue at `now`: open past the response deadline, or accepted / claimed past the fulfilment one.
    The first term repeats the statuses in the words of the partial index `ix_need_waiting_id`, so the planner
    may walk only the needs still waiting."""
    return and_(text(f"need.{NEED_WAITING_SQL}"),
                or_(and_(Need.status.in_(WAITING_TO_RESPOND), Need.respond_by < now),
                    and_(Need.status.in_(WAITING_TO_FULFIL), Need.fulfil_by < now)))


def overdue_kind(need: Need, now: datetime | None = None) -> str | None:
    """"respond" or "fulfil" when the need is overdue now, else None (what the lists flag)."""
    now = now or utcnow()
    if need.status in WAITING_TO_RESPOND and need.respond_by is not None and need.respond_by < now:
        return "respond"
    if need.status in WAITING_TO_FULFIL and need.fulfil_by is not None and need.fulfil_by < now:
        return "fulfil"
    return None


def _deadline_expr():
    """The deadline that applies to the need in its status (SQL)."""
    return case((Need.status.in_(WAITING_TO_RESPOND), Need.respond_by), else_=Need.fulfil_by)


def escalated_to_clause(actor: Actor):
    """Needs escalated to an org where the actor is field staff or admin (the need is handled right there)."""
    ids = [g.org_id for g in actor.grants if g.role in FIELD_ROLES and g.org_id]
    return and_(Need.escalation_level > 0, Need.handling_org_id.in_(ids)) if ids else Need.id.is_(None)


def _step(session: Session, need: Need, *, by_id: int | None, cause: str, reason: str, now: datetime
          ) -> NeedEscalation:
    """Move the (locked) need one level up and record the step; the UNIQUE (need, level) key refuses a twin."""
    if need.status not in ESCALATABLE:
        raise Conflict("need_state", status_now=str(need.status))
    here = orgs.get(session, need.handling_org_id)
    if here.parent_id is None:
        raise Conflict("need_at_top")
    parent = orgs.get(session, here.parent_id)
    level = need.escalation_level + 1
    step = NeedEscalation(need_id=need.id, level=level, from_org_id=here.id, to_org_id=parent.id, by_id=by_id,
                          cause=cause, reason=reason, created_at=now)
    try:
        with session.begin_nested():
            session.add(step)
            session.flush()
    except IntegrityError as exc:  # a twin took this step first (a concurrent sweep, or a second click)
        raise Conflict("need_already_escalated") from exc
    need.handling_org_id, need.handling_path = parent.id, parent.path
    need.escalation_level, need.escalated_at = level, now
    session.flush()
    notices.need_escalated(session, need, step, to_org=parent)
    return step


def escalate(session: Session, actor: Actor, need_id: int, *, reason: str,
             from_level: int | None = None) -> NeedEscalation:
    """A grid worker or admin where the need is handled now sends it one level up, with a reason. `from_level` is
    the level the person saw: a second click of the same button (or two people at once) is refused, not taken
    as a second step."""
    need = get_or_404(session, Need, need_id, "need_not_found", with_for_update=True)
    actor.require_on(FIELD_ROLES, need.handling_path)
    if from_level is not None and from_level != need.escalation_level:
        raise Conflict("need_already_escalated")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("reason_required", variant="escalate")
    if len(reason) > 500:
        raise InvalidInput("reason_too_long", max_chars=500)
    step = _step(session, need, by_id=actor.person_id, cause="manual", reason=reason, now=utcnow())
    audit.record(session, actor, "need.escalate", "need", need.id, org_path=need.org_path,
                 after={"level": step.level, "to_org_id": step.to_org_id, "reason": reason})
    return step


def due_for_sweep(session: Session, now: datetime, *, limit: int = 500) -> list[int]:
    """Overdue needs not escalated since the deadline that applies now (oldest deadline first)."""
    deadline = _deadline_expr()
    return list(session.scalars(
        select(Need.id).where(overdue_clause(now), Need.handling_path.like("/%/%/"),  # not at the district
                              or_(Need.escalated_at.is_(None), Need.escalated_at < deadline))
        .order_by(deadline, Need.id).limit(limit)))


def sweep(session: Session, *, now: datetime | None = None, limit: int = 500) -> int:
    """Cron: each overdue need not escalated since its deadline goes up ONE level. Running it again at the same
    time changes nothing; two sweeps at once skip each other's locked rows, and the UNIQUE key settles the rest.
    Needs already at the district stay there (nothing above). Returns the steps taken."""
    now = now or utcnow()
    taken = 0
    for need_id in due_for_sweep(session, now, limit=limit):
        stmt = select(Need).where(Need.id == need_id).with_for_update(skip_locked=True)
        need = session.scalars(stmt.execution_options(populate_existing=True)).first()
        if need is None:  # another sweep holds it
            continue
        kind = overdue_kind(need, now)
        deadline = need.respond_by if kind == "respond" else need.fulfil_by
        if kind is None or (need.escalated_at is not None and need.escalated_at >= deadline):
            continue
        here = session.get(Org, need.handling_org_id)
        if here is None or here.parent_id is None:
            continue
        try:
            step = _step(session, need, by_id=None, cause=kind, reason="", now=now)
        except Conflict:
            continue
        audit.record(session, SYSTEM, "need.escalate", "need", need.id, org_path=need.org_path,
                     after={"level": step.level, "to_org_id": step.to_org_id, "cause": kind})
        taken += 1
    return taken


def history(session: Session, actor: Actor, need: Need) -> list[NeedEscalation]:
    """The need's steps up the tree, in order (the caller has checked the need is visible)."""
    return list(session.scalars(select(NeedEscalation).where(NeedEscalation.need_id == need.id)
                                .order_by(NeedEscalation.level)))


def mark_responded(need: Need, now: datetime) -> None:
    """The first acceptance, claim or rejection is the need's response."""
    if need.responded_at is None:
        need.responded_at = now


# --- figures: response time and fulfilment rate per community and per street ---------------------------------


def figures(session: Session, actor: Actor, *, start: date, end: date, by: str = "community",
            now: datetime | None = None) -> list[dict]:
    """Per community (or street) in the actor's read scope, for needs posted in [start, end) (Beijing days):
    posted, responded, median / average hours from posted to responded, due (fulfilment deadline passed, or
    fulfilled), fulfilled within the deadline, and the rate. Rejected needs are not due (nothing to fulfil).
    Beside them, the micro-wishes fulfilled by a direct claim in the period and the people they helped (惠及群众)."""
    if by not in ("community", "street"):
        raise InvalidInput("figures_by")
    if end <= start or (end - start).days > 400:
        raise InvalidInput("period_too_long", max_days=400)
    now = now or utcnow()
    lo, hi = utc_bounds(start, end - timedelta(days=1))
    rows = session.execute(
        select(Need.community_id, Need.status, Need.created_at, Need.responded_at, Need.fulfil_by, Need.fulfilled_at)
        .where(org_scope_clause(actor, READ_ROLES, Need.org_path), Need.created_at >= lo, Need.created_at < hi)).all()
    communities = {o.id: o for o in session.scalars(select(Org).where(
        Org.kind == OrgKind.community, org_scope_clause(actor, READ_ROLES, Org.path)))}
    group_of = {cid: (c.parent_id if by == "street" else cid) for cid, c in communities.items()}
    groups = {gid for gid in group_of.values() if gid is not None}
    names = {o.id: o.name for o in session.scalars(select(Org).where(Org.id.in_(groups)))} if groups else {}
    acc: dict[int, dict] = defaultdict(lambda: {"posted": 0, "hours": [], "due": 0, "on_time": 0})
    for community_id, status, created_at, responded_at, fulfil_by, fulfilled_at in rows:
        gid = group_of.get(community_id)
        if gid is None:
            continue
        cell = acc[gid]
        cell["posted"] += 1
        if responded_at is not None:
            cell["hours"].append((responded_at - created_at).total_seconds() / 3600)
        if status == NeedStatus.rejected or fulfil_by is None:
            continue
        if fulfilled_at is not None or fulfil_by <= now:
            cell["due"] += 1
            if fulfilled_at is not None and fulfilled_at <= fulfil_by:
                cell["on_time"] += 1
    helped: dict[int, list[int]] = defaultdict(lambda: [0, 0])  # micro-wishes fulfilled by a direct claim
    for community_id, counts in queries.wish_counts(session, queries.Period("", start, end),
                                                    community_ids=list(communities)).items():
        gid = group_of.get(community_id)
        if gid is not None:
            helped[gid][0] += counts["wishes_fulfilled"]
            helped[gid][1] += counts["people_helped"]
    out = []
    for gid in sorted(groups, key=lambda g: (names.get(g, ""), g)):
        cell = acc[gid]
        hours = cell["hours"]
        out.append({"org_id": gid, "name": names.get(gid, ""), "kind": by, "posted": cell["posted"],
                    "responded": len(hours),
                    "median_response_hours": round(statistics.median(hours), 1) if hours else None,
                    "average_response_hours": round(sum(hours) / len(hours), 1) if hours else None,
                    "due": cell["due"], "fulfilled_on_time": cell["on_time"],
                    "fulfilment_rate": round(cell["on_time"] / cell["due"], 3) if cell["due"] else None,
                    "wishes_fulfilled": helped[gid][0], "people_helped": helped[gid][1]})
    return out
