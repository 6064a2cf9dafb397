"""Micro-wishes (微心愿) claimed directly: a volunteer, or a unit (工作单位 / 驻区单位) through its contact, takes a
resident's wish, fulfils it with goods or with service, says how many people it helped (惠及群众 N 人), and the
resident (or a grid worker on their behalf) confirms.

One wish has at most one claim that is not withdrawn. The claim first moves the need from open to claimed with a
conditional UPDATE (the loser of a race updates no row), and a partial UNIQUE index on the claim backs it up.
A service wish may still be published as a task instead (`tasks.publish` → `needs.accept`) while open.
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from timebank.db_base import utcnow
from timebank.errors import Conflict, Forbidden, InvalidInput, get_or_404
from timebank.hours import notices
from timebank.hours.models import Need, NeedKind, NeedStatus, WishClaim, WishClaimStatus, WishWay
from timebank.ops import audit
from timebank.people.access import FIELD_ROLES, Actor
from timebank.people.models import Employer

MAX_PEOPLE_HELPED = 10_000


def claim(session: Session, actor: Actor, need_id: int, *, way: WishWay, goods_description: str = "",
          employer_id: int | None = None) -> WishClaim:
    """A volunteer (or a unit's contact, naming the unit) claims an open micro-wish. Exactly one claimant wins."""
    if actor.person_id is None:
        raise Forbidden("people_only")
    if employer_id is not None:
        actor.require_employer(employer_id)
        get_or_404(session, Employer, employer_id, "employer_not_found")
    need = get_or_404(session, Need, need_id, "need_not_found")
    if need.kind != NeedKind.micro_wish:
        raise InvalidInput("not_a_wish")
    if actor.person_id == need.requester_id:
        raise Forbidden("own_wish")
    goods_description = (goods_description or "").strip()
    if way == WishWay.goods and not goods_description:
        raise InvalidInput("goods_description_required")
    if len(goods_description) > 500:
        raise InvalidInput("reason_too_long", variant="goods", max_chars=500)
    now = utcnow()
    taken = session.execute(
        update(Need).where(Need.id == need_id, Need.status == NeedStatus.open)
        .values(status=NeedStatus.claimed, responded_at=func.coalesce(Need.responded_at, now))
        .execution_options(synchronize_session=False))
    if taken.rowcount != 1:
        mine = _active_claim_of(session, need_id, actor, employer_id)
        if mine is not None:  # a second submit of the same claim: the first is the answer
            return mine
        raise Conflict("wish_taken")
    row = WishClaim(need_id=need.id, community_id=need.community_id, person_id=actor.person_id,
                    employer_id=employer_id, status=WishClaimStatus.claimed, way=way,
                    goods_description=goods_description, claimed_at=now)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError as exc:  # the partial UNIQUE index: another claim is active
        raise Conflict("wish_taken") from exc
    session.refresh(need)
    audit.record(session, actor, "wish.claim", "need", need.id, org_path=need.org_path,
                 after={"claim_id": row.id, "way": str(way), "employer_id": employer_id})
    notices.wish_claim_changed(session, row, need, "wish.claimed")
    return row


def _active_claim_of(session: Session, need_id: int, actor: Actor, employer_id: int | None) -> WishClaim | None:
    """The wish's claim that is not withdrawn, if this claimer (the person, or the same unit) holds it."""
    row = session.scalars(select(WishClaim).where(WishClaim.need_id == need_id,
                                                  WishClaim.status != WishClaimStatus.withdrawn)).first()
    if row is None or row.employer_id != employer_id:
        return None
    return row if employer_id is not None or row.person_id == actor.person_id else None


def get(session: Session, claim_id: int, *, lock: bool = False) -> WishClaim:
    return get_or_404(session, WishClaim, claim_id, "wish_claim_not_found", with_for_update=lock or None)


def _require_claimer(actor: Actor, row: WishClaim) -> None:
    """The volunteer who claimed, or (for a unit's claim) any contact of that unit."""
    if row.employer_id is not None:
        actor.require_employer(row.employer_id)
    elif actor.person_id != row.person_id:
        raise Forbidden("not_owner")


def get_visible(session: Session, actor: Actor, claim_id: int) -> WishClaim:
    """The claimer, the resident, or field staff where the wish was posted."""
    row = get(session, claim_id)
    if actor.person_id == row.need.requester_id:
        return row
    if row.employer_id is not None and row.employer_id in actor.employer_ids():
        return row
    if actor.person_id == row.person_id and row.employer_id is None:
        return row
    actor.require_on(FIELD_ROLES, row.need.org_path)
    return row


def fulfil(session: Session, actor: Actor, claim_id: int, *, people_helped: int) -> WishClaim:
    """The claimer says the wish is fulfilled and how many people it helped; the need is fulfilled now."""
    row = get(session, claim_id, lock=True)
    _require_claimer(actor, row)
    if isinstance(people_helped, bool) or not isinstance(people_helped, int) \
            or not 1 <= people_helped <= MAX_PEOPLE_HELPED:
        raise InvalidInput("people_helped_range", max_people=MAX_PEOPLE_HELPED)
    if row.status in (WishClaimStatus.fulfilled, WishClaimStatus.confirmed) and row.people_helped == people_helped:
        return row  # a second submit of the same form
    if row.status != WishClaimStatus.claimed:
        raise Conflict("wish_claim_state", status_now=str(row.status))
    need = session.get(Need, row.need_id, with_for_update=True)
    now = utcnow()
    row.status, row.fulfilled_at, row.people_helped = WishClaimStatus.fulfilled, now, people_helped
    need.status, need.fulfilled_at = NeedStatus.fulfilled, now
    session.flush()
    audit.record(session, actor, "wish.fulfil", "need", need.id, org_path=need.org_path,
                 after={"claim_id": row.id, "people_helped": people_helped})
    notices.wish_claim_changed(session, row, need, "wish.fulfilled")
    return row


def confirm(session: Session, actor: Actor, claim_id: int) -> WishClaim:
    """The resident confirms the fulfilled wish (or a grid worker / admin where it was posted, for them)."""
    row = get(session, claim_id, lock=True)
    need = session.get(Need, row.need_id)
    if actor.person_id != need.requester_id:
        actor.require_on(FIELD_ROLES, need.org_path)
    if row.status != WishClaimStatus.fulfilled:
        raise Conflict("wish_claim_state", status_now=str(row.status))
    row.status, row.confirmed_at, row.confirmed_by_id = WishClaimStatus.confirmed, utcnow(), actor.person_id
    session.flush()
    audit.record(session, actor, "wish.confirm", "need", need.id, org_path=need.org_path,
                 after={"claim_id": row.id})
    notices.wish_claim_changed(session, row, need, "wish.confirmed")
    return row


def withdraw(session: Session, actor: Actor, claim_id: int) -> WishClaim:
    """The claimer gives the wish back before fulfilling it: the wish is open again for others."""
    row = get(session, claim_id, lock=True)
    _require_claimer(actor, row)
    if row.status != WishClaimStatus.claimed:
        raise Conflict("wish_claim_state", status_now=str(row.status))
    row.status, row.withdrawn_at = WishClaimStatus.withdrawn, utcnow()
    session.flush()
    session.execute(update(Need).where(Need.id == row.need_id, Need.status == NeedStatus.claimed)
                    .values(status=NeedStatus.open).execution_options(synchronize_session=False))
    need = session.get(Need, row.need_id, populate_existing=True)
    audit.record(session, actor, "wish.withdraw", "need", row.need_id, org_path=need.org_path,
                 after={"claim_id": row.id})
    return row


# --- reads --------------------------------------------------------------------------------------------------


def open_wishes_stmt(org_path: str):
    """Open micro-wishes posted inside `org_path` (a community, a street, a unit's district), oldest first."""
    return (select(Need).where(Need.kind == NeedKind.micro_wish, Need.status == NeedStatus.open,
                               Need.org_path.startswith(org_path, autoescape=True))
            .order_by(Need.created_at, Need.id))


def claims_stmt(*, person_id: int | None = None, employer_id: int | None = None):
    """A volunteer's own claims (not for a unit), or a unit's claims, newest first, with their wish."""
    stmt = select(WishClaim, Need).join(Need, Need.id == WishClaim.need_id)
    if employer_id is not None:
        stmt = stmt.where(WishClaim.employer_id == employer_id)
    else:
        stmt = stmt.where(WishClaim.person_id == person_id, WishClaim.employer_id.is_(None))
    return stmt.order_by(WishClaim.id.desc())


def claims_for_needs(session: Session, need_ids: list[int]) -> dict[int, WishClaim]:
    """The active claim of each of these needs (the resident's confirm button reads it)."""
    if not need_ids:
        return {}
    return {c.need_id: c for c in session.scalars(select(WishClaim).where(
        WishClaim.need_id.in_(need_ids), WishClaim.status != WishClaimStatus.withdrawn))}

