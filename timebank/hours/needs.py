"""Needs (群众点单): residents' requests and micro-wishes (微心愿), and their life cycle.

open → accepted (a task was published from it) / rejected (with a reason) → fulfilled → closed.
A resident posts for themself; a grid worker or admin may post on a resident's behalf inside their scope.
Residents see their own needs, admins and grid workers those inside their scope.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from timebank.db_base import utcnow
from timebank.errors import Conflict, Forbidden, InvalidInput, get_or_404
from timebank.hours import escalation, notices
from timebank.hours.models import Need, NeedKind, NeedStatus
from timebank.ops import audit
from timebank.people import orgs
from timebank.people.access import ADMIN_ROLES, FIELD_ROLES, READ_ROLES, Actor, org_scope_clause
from timebank.people.models import OrgKind, Person

# What the resident is told at each step of the need (`notify.templates`).
NEED_NOTICES = {NeedStatus.accepted: "need.accepted", NeedStatus.fulfilled: "need.fulfilled",
                NeedStatus.rejected: "need.closed", NeedStatus.closed: "need.closed"}


def categories(session: Session, org) -> list[str] | None:
    """The district's configured categories (setting `categories`), or None when any category is allowed."""
    value = orgs.setting(session, org, "categories", None)
    return list(value) if value else None


def check_category(session: Session, org, category: str | None) -> None:
    allowed = categories(session, org)
    if category is not None and allowed is not None and category not in allowed:
        raise InvalidInput("unknown_category", category=category, allowed="、".join(allowed))


def post(session: Session, actor: Actor, *, kind: NeedKind, org_id: int, title: str, description: str = "",
         category: str | None = None, wanted_by: date | None = None, requester_id: int | None = None) -> Need:
    """Post a need in a grid or community, for oneself or (field staff) for a resident."""
    if actor.person_id is None:
        raise Forbidden("people_only")
    org = orgs.get(session, org_id)
    if org.kind not in (OrgKind.community, OrgKind.grid, OrgKind.building):
        raise InvalidInput("not_in_community", variant="need")
    community = orgs.community_of(session, org)
    check_category(session, org, category)
    if wanted_by is not None and wanted_by < utcnow().date():
        raise InvalidInput("wanted_by_past")
    if requester_id is None or requester_id == actor.person_id:
        requester_id = actor.person_id
    else:
        actor.require_on(FIELD_ROLES, org.path)
        get_or_404(session, Person, requester_id, "person_not_found")
    now = utcnow()
    need = Need(kind=kind, org_id=org.id, org_path=org.path, community_id=community.id, requester_id=requester_id,
                entered_by_id=actor.person_id, title=title, description=description, category=category,
                wanted_by=wanted_by, status=NeedStatus.open, created_at=now, handling_org_id=org.id,
                handling_path=org.path, escalation_level=0)
    escalation.stamp_deadlines(session, need, org, now)
    session.add(need)
    session.flush()
    audit.record(session, actor, "need.post", "need", need.id, org_path=org.path,
                 after={"kind": str(kind), "title": title, "requester_id": requester_id})
    return need


def get(session: Session, need_id: int) -> Need:
    need = get_or_404(session, Need, need_id, "need_not_found")
    return need


def get_visible(session: Session, actor: Actor, need_id: int) -> Need:
    need = get(session, need_id)
    if actor.person_id in (need.requester_id, need.entered_by_id):
        return need
    actor.require_on(READ_ROLES | FIELD_ROLES, need.org_path)
    return need


def visible_clause(actor: Actor):
    """Own needs, plus those inside the actor's admin / field / auditor scope, by where they were posted or by
    where they are handled now (after escalation)."""
    own = or_(Need.requester_id == actor.person_id, Need.entered_by_id == actor.person_id) \
        if actor.person_id else None
    scoped = or_(org_scope_clause(actor, READ_ROLES | FIELD_ROLES, Need.org_path),
                 org_scope_clause(actor, READ_ROLES | FIELD_ROLES, Need.handling_path))
    return scoped if own is None else or_(own, scoped)


def list_stmt(actor: Actor, *, status: NeedStatus | None = None, community_id: int | None = None,
              overdue: bool = False, escalated_to_me: bool = False, now: datetime | None = None):
    """The needs list: visible needs, filtered by status, community, overdue now, or escalated to my org."""
    stmt = select(Need).where(visible_clause(actor))
    if status is not None:
        stmt = stmt.where(Need.status == status)
    if community_id is not None:
        stmt = stmt.where(Need.community_id == community_id)
    if overdue:
        stmt = stmt.where(escalation.overdue_clause(now or utcnow()))
    if escalated_to_me:
        stmt = stmt.where(escalation.escalated_to_clause(actor))
    return stmt


def _lock_for_admin(session: Session, actor: Actor, need_id: int) -> Need:
    need = get_or_404(session, Need, need_id, "need_not_found", with_for_update=True)
    actor.require_on(ADMIN_ROLES, need.org_path)
    return need


def _transition(session: Session, actor: Actor, need: Need, allowed: set[NeedStatus], to: NeedStatus,
                action: str, **after) -> Need:
    if need.status not in allowed:
        raise Conflict("need_state", status_now=str(need.status))
    before = {"status": str(need.status)}
    need.status = to
    session.flush()
    audit.record(session, actor, action, "need", need.id, org_path=need.org_path, before=before,
                 after={"status": str(to), **after})
    notices.need_changed(session, need, NEED_NOTICES[to])
    return need


def reject(session: Session, actor: Actor, need_id: int, *, reason: str) -> Need:
    need = _lock_for_admin(session, actor, need_id)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("reason_required")
    if len(reason) > 500:
        raise InvalidInput("reason_too_long", max_chars=500)
    need.reject_reason = reason
    need.decided_by_id, need.decided_at = actor.person_id, utcnow()
    escalation.mark_responded(need, need.decided_at)
    return _transition(session, actor, need, {NeedStatus.open}, NeedStatus.rejected, "need.reject", reason=reason)


def accept(session: Session, actor: Actor, need: Need, *, fulfil_by: datetime | None = None) -> Need:
    """The community answers the need: a task is published from it (社区派单, `tasks.publish`) or a project takes
    it in (`projects.projects.create`), whose period is then the need's fulfilment deadline (`fulfil_by`)."""
    if fulfil_by is not None:
        need.fulfil_by = fulfil_by
    need.decided_by_id, need.decided_at = actor.person_id, utcnow()
    escalation.mark_responded(need, need.decided_at)
    return _transition(session, actor, need, {NeedStatus.open}, NeedStatus.accepted, "need.accept")


def release(session: Session, actor: Actor, need: Need) -> Need:
    """A cancelled project lets its needs go: accepted → open, back on the needs list (their deadlines stand)."""
    if need.status != NeedStatus.accepted:
        return need
    need.status = NeedStatus.open
    session.flush()
    audit.record(session, actor, "need.release", "need", need.id, org_path=need.org_path,
                 before={"status": str(NeedStatus.accepted)}, after={"status": str(NeedStatus.open)})
    return need


def fulfil(session: Session, actor: Actor, need_id: int) -> Need:
    need = _lock_for_admin(session, actor, need_id)
    need.fulfilled_at = utcnow()
    return _transition(session, actor, need, {NeedStatus.accepted}, NeedStatus.fulfilled, "need.fulfil")


def mark_fulfilled_by_service(session: Session, actor: Actor, need_id: int) -> None:
    """A verified attendance on the need's task fulfils it (if it is still only accepted)."""
    need = session.get(Need, need_id, with_for_update=True)
    if need is not None and need.status == NeedStatus.accepted:
        need.fulfilled_at = utcnow()
        _transition(session, actor, need, {NeedStatus.accepted}, NeedStatus.fulfilled, "need.fulfil")


def close(session: Session, actor: Actor, need_id: int, *, reason: str | None = None) -> Need:
    """Close a need: the requester may close their own open need (withdraw it); admins any in scope, with the
    reason the resident reads (kept in `reject_reason`, the need's one decision reason) unless it was fulfilled."""
    need = get_or_404(session, Need, need_id, "need_not_found", with_for_update=True)
    reason = (reason or "").strip() or None
    if actor.person_id == need.requester_id:
        allowed = {NeedStatus.open, NeedStatus.fulfilled}
    else:
        actor.require_on(ADMIN_ROLES, need.org_path)
        if reason is None and need.status != NeedStatus.fulfilled:  # a need left unmet is explained
            raise InvalidInput("reason_required", variant="close")
        allowed = {NeedStatus.open, NeedStatus.accepted, NeedStatus.fulfilled, NeedStatus.rejected}
    if reason is not None:
        if len(reason) > 500:
            raise InvalidInput("reason_too_long", max_chars=500)
        need.reject_reason = reason
    need.closed_at = utcnow()
    return _transition(session, actor, need, allowed, NeedStatus.closed, "need.close", reason=reason)
