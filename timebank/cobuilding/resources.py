"""资源清单: the unit keeps its resource list current while the report-in is pending or active — it adds lines
and changes them (a line is never deleted: one no longer offered is marked unavailable, so contributions drawn
from it keep their meaning)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from timebank.cobuilding.models import LIVE_UNIT_REPORT_IN, UnitReportIn, UnitResource
from timebank.cobuilding.report_in import MAX_RESOURCES, get, get_visible
from timebank.db_base import utcnow
from timebank.errors import Conflict, InvalidInput, get_or_404
from timebank.ops import audit
from timebank.people.access import Actor

EDITABLE = ("description", "quantity", "unit", "available", "kind")


def _editable_report_in(session: Session, actor: Actor, report_in_id: int) -> UnitReportIn:
    row = get(session, report_in_id)
    actor.require_employer(row.employer_id)
    if row.status not in LIVE_UNIT_REPORT_IN:
        raise Conflict("unit_report_in_not_live", variant="resources")
    return row


def _snapshot(res: UnitResource) -> dict:
    return {"kind": str(res.kind), "description": res.description, "quantity": res.quantity, "unit": res.unit,
            "available": res.available}


def add(session: Session, actor: Actor, report_in_id: int, *, kind, description: str, quantity: int | None = None,
        unit: str | None = None, available: bool = True) -> UnitResource:
    row = _editable_report_in(session, actor, report_in_id)
    count = session.scalar(select(func.count()).select_from(UnitResource)
                           .where(UnitResource.report_in_id == row.id))
    if count >= MAX_RESOURCES:
        raise InvalidInput("too_many_resources", max=MAX_RESOURCES)
    now = utcnow()
    res = UnitResource(report_in_id=row.id, kind=kind, description=description, quantity=quantity, unit=unit,
                       available=available, created_at=now, updated_at=now)
    session.add(res)
    session.flush()
    audit.record(session, actor, "unit_resource.add", "unit_resource", res.id, org_path=row.community_path,
                 after=_snapshot(res))
    return res


def update(session: Session, actor: Actor, resource_id: int, **changes) -> UnitResource:
    """Change the fields given (None for quantity/unit clears them)."""
    res = get_or_404(session, UnitResource, resource_id, "unit_resource_not_found")
    row = _editable_report_in(session, actor, res.report_in_id)
    before = _snapshot(res)
    for key, value in changes.items():
        if key in EDITABLE:
            setattr(res, key, value)
    res.updated_at = utcnow()
    session.flush()
    audit.record(session, actor, "unit_resource.update", "unit_resource", res.id, org_path=row.community_path,
                 before=before, after=_snapshot(res))
    return res


def list_for(session: Session, actor: Actor, report_in_id: int) -> list[UnitResource]:
    row = get_visible(session, actor, report_in_id)
    return list(session.scalars(select(UnitResource).where(UnitResource.report_in_id == row.id)
                                .order_by(UnitResource.id)))
