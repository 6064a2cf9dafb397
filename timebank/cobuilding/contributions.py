"""Contributions that are not hours (资金、场地、物资): the community records what a unit gave under its
co-building agreement. A row is never edited; a correction reverses it with a new row (the amount negated,
`reverses_id` naming it, at most once), after which the right figure is recorded anew."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from timebank.clock import local_today
from timebank.cobuilding.models import AgreementStatus, Contribution, ContributionKind, UnitResource
from timebank.cobuilding.report_in import get_for_admin, get_visible
from timebank.db_base import utcnow
from timebank.errors import Conflict, InvalidInput, NotFound, get_or_404
from timebank.ops import audit
from timebank.people.access import ADMIN_ROLES, Actor

MAX_AMOUNT_FEN = 10_000_000_000  # 1 亿元: more is a typing mistake


def _snapshot(c: Contribution) -> dict:
    return {"kind": str(c.kind), "amount_fen": c.amount_fen, "quantity": c.quantity,
            "on_date": c.on_date.isoformat(), "resource_id": c.resource_id, "reverses_id": c.reverses_id}


def record(session: Session, actor: Actor, report_in_id: int, *, kind: ContributionKind, description: str,
           on_date: date, amount_fen: int | None = None, quantity: str | None = None,
           resource_id: int | None = None) -> Contribution:
    """An admin over the community records a contribution dated within the agreement's term (not in the future)."""
    row = get_for_admin(session, actor, report_in_id)
    agreement = row.agreement
    if agreement is None or agreement.status in (AgreementStatus.pending, AgreementStatus.void):
        raise Conflict("agreement_not_in_force")
    if on_date > local_today():
        raise InvalidInput("date_in_future", variant="contribution")
    if not agreement.starts_on <= on_date <= agreement.ends_on:
        raise InvalidInput("contribution_outside_term")
    if amount_fen is not None and not 0 <= amount_fen <= MAX_AMOUNT_FEN:
        raise InvalidInput("contribution_amount")
    if kind == ContributionKind.funds and not amount_fen:
        raise InvalidInput("contribution_amount", variant="funds")
    if amount_fen is None and not quantity:
        raise InvalidInput("contribution_amount", variant="missing")
    if resource_id is not None:
        resource = session.get(UnitResource, resource_id)
        if resource is None or resource.report_in_id != row.id:
            raise NotFound("unit_resource_not_found")
    c = Contribution(agreement_id=agreement.id, report_in_id=row.id, employer_id=row.employer_id,
                     community_path=row.community_path, resource_id=resource_id, kind=kind, description=description,
                     amount_fen=amount_fen, quantity=quantity, on_date=on_date, recorded_by_id=actor.person_id,
                     recorded_at=utcnow())
    session.add(c)
    session.flush()
    audit.record(session, actor, "contribution.record", "contribution", c.id, org_path=row.community_path,
                 after=_snapshot(c))
    return c


def reverse(session: Session, actor: Actor, contribution_id: int, *, reason: str) -> Contribution:
    """The correction of a mistaken row: a new row that cancels it (a reversal itself is not reversed)."""
    original = get_or_404(session, Contribution, contribution_id, "contribution_not_found")
    actor.require_on(ADMIN_ROLES, original.community_path)
    if original.reverses_id is not None:
        raise Conflict("contribution_is_reversal")
    taken = session.scalar(select(Contribution.id).where(Contribution.reverses_id == original.id))
    if taken is not None:
        raise Conflict("contribution_already_reversed")
    c = Contribution(agreement_id=original.agreement_id, report_in_id=original.report_in_id,
                     employer_id=original.employer_id, community_path=original.community_path,
                     resource_id=original.resource_id, kind=original.kind, description=original.description,
                     amount_fen=-original.amount_fen if original.amount_fen is not None else None,
                     quantity=original.quantity, on_date=original.on_date, reverses_id=original.id, reason=reason,
                     recorded_by_id=actor.person_id, recorded_at=utcnow())
    session.add(c)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:  # reversed twice at the same moment
        raise Conflict("contribution_already_reversed") from exc
    audit.record(session, actor, "contribution.reverse", "contribution", original.id,
                 org_path=original.community_path, after={**_snapshot(c), "reason": reason})
    return c


def list_for(session: Session, actor: Actor, report_in_id: int) -> list[Contribution]:
    row = get_visible(session, actor, report_in_id)
    return list(session.scalars(select(Contribution).where(Contribution.report_in_id == row.id)
                                .order_by(Contribution.on_date, Contribution.id)))


def reversed_ids(rows: list[Contribution]) -> set[int]:
    return {c.reverses_id for c in rows if c.reverses_id is not None}


def net_fen(rows: list[Contribution]) -> int:
    return sum(c.amount_fen or 0 for c in rows)


def standing_count(rows: list[Contribution]) -> int:
    """Contributions that stand: neither a reversal nor reversed."""
    cancelled = reversed_ids(rows)
    return sum(1 for c in rows if c.reverses_id is None and c.id not in cancelled)
