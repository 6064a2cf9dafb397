"""单位报到: an employer's party organisation reports in to a community with its resource list and co-building
agreement; the community accepts or refuses with a reason; the unit renews before the report-in lapses, as a
member's report-in does (the community's `report_in_valid_months` setting gives the term).

Who: a contact of the unit (`employer_contact`) submits, renews and withdraws; an admin over the community
accepts or refuses (and may renew); admins and auditors over the community read, and so does the unit.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from timebank.clock import add_months, local_today
from timebank.cobuilding import notices
from timebank.cobuilding.models import (
    LIVE_UNIT_REPORT_IN,
    AgreementStatus,
    CobuildingAgreement,
    UnitReportIn,
    UnitReportInStatus,
    UnitResource,
)
from timebank.db_base import utcnow
from timebank.errors import Conflict, InvalidInput, get_or_404
from timebank.ops import audit
from timebank.people import orgs
from timebank.people.access import ADMIN_ROLES, READ_ROLES, Actor
from timebank.people.models import Employer, Org, OrgKind

DEFAULT_VALID_MONTHS = 12
MAX_RESOURCES = 30


def get(session: Session, report_in_id: int) -> UnitReportIn:
    return get_or_404(session, UnitReportIn, report_in_id, "unit_report_in_not_found")


def is_unit_of(actor: Actor, row: UnitReportIn) -> bool:
    return row.employer_id in actor.employer_ids()


def get_visible(session: Session, actor: Actor, report_in_id: int) -> UnitReportIn:
    """The unit's own contacts, or admins and auditors over the community; anyone else is refused."""
    row = get(session, report_in_id)
    if not is_unit_of(actor, row):
        actor.require_on(READ_ROLES, row.community_path)
    return row


def get_for_admin(session: Session, actor: Actor, report_in_id: int) -> UnitReportIn:
    row = get(session, report_in_id)
    actor.require_on(ADMIN_ROLES, row.community_path)
    return row


def was_accepted(row: UnitReportIn) -> bool:
    """Accepted at some time (active now, or lapsed or withdrawn after acceptance)."""
    return row.decided_at is not None and row.status != UnitReportInStatus.rejected


def _community(session: Session, community_id: int) -> Org:
    org = orgs.get(session, community_id)
    if org.kind != OrgKind.community:
        raise InvalidInput("not_a_community", variant="unit_report_in")
    return org


def _valid_months(session: Session, community: Org) -> int:
    return int(orgs.setting(session, community, "report_in_valid_months", DEFAULT_VALID_MONTHS))


def _snapshot(row: UnitReportIn) -> dict:
    return {"status": str(row.status), "employer_id": row.employer_id, "community_id": row.community_id,
            "reported_on": row.reported_on.isoformat(), "expires_on": row.expires_on.isoformat()}


def check_agreement_term(starts_on: date, ends_on: date) -> None:
    if ends_on < starts_on:
        raise InvalidInput("ends_before_start", variant="agreement")


def submit(session: Session, actor: Actor, *, employer_id: int, community_id: int, party_org_name: str,
           contact_name: str, contact_phone: str, resources: list[dict], agreement: dict,
           reported_on: date | None = None, note: str | None = None) -> UnitReportIn:
    """The unit reports in to a community with what it offers and the agreement it signed; the community decides."""
    actor.require_employer(employer_id)
    get_or_404(session, Employer, employer_id, "employer_not_found")
    community = _community(session, community_id)
    if not resources:
        raise InvalidInput("resources_required")
    if len(resources) > MAX_RESOURCES:
        raise InvalidInput("too_many_resources", max=MAX_RESOURCES)
    check_agreement_term(agreement["starts_on"], agreement["ends_on"])
    today = local_today()
    reported_on = reported_on or today
    if reported_on > today:
        raise InvalidInput("date_in_future")
    live = session.scalar(select(UnitReportIn.id).where(
        UnitReportIn.employer_id == employer_id, UnitReportIn.community_id == community.id,
        UnitReportIn.status.in_(LIVE_UNIT_REPORT_IN)))
    if live is not None:
        raise Conflict("already_reported_in", variant="unit")
    row = UnitReportIn(employer_id=employer_id, community_id=community.id, community_path=community.path,
                       status=UnitReportInStatus.pending, party_org_name=party_org_name, contact_name=contact_name,
                       contact_phone=contact_phone, note=note, reported_on=reported_on,
                       expires_on=add_months(reported_on, _valid_months(session, community)),
                       submitted_by_id=actor.person_id)
    session.add(row)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:  # a twin submitted at the same moment
        raise Conflict("already_reported_in", variant="unit") from exc
    now = utcnow()
    session.add_all([UnitResource(report_in_id=row.id, kind=r["kind"], description=r["description"],
                                  quantity=r.get("quantity"), unit=r.get("unit"),
                                  available=r.get("available", True), created_at=now, updated_at=now)
                     for r in resources])
    session.add(CobuildingAgreement(report_in_id=row.id, title=agreement["title"], terms=agreement["terms"],
                                    starts_on=agreement["starts_on"], ends_on=agreement["ends_on"],
                                    signed_on=agreement.get("signed_on"), status=AgreementStatus.pending))
    session.flush()
    audit.record(session, actor, "unit_report_in.submit", "unit_report_in", row.id, org_path=community.path,
                 after={**_snapshot(row), "resources": len(resources)})
    return row


def _pending_for_decision(session: Session, actor: Actor, report_in_id: int) -> UnitReportIn:
    row = get_for_admin(session, actor, report_in_id)
    if row.status != UnitReportInStatus.pending:
        raise Conflict("unit_report_in_not_pending")
    return row


def accept(session: Session, actor: Actor, report_in_id: int) -> UnitReportIn:
    row = _pending_for_decision(session, actor, report_in_id)
    before = _snapshot(row)
    row.status, row.decided_by_id, row.decided_at = UnitReportInStatus.active, actor.person_id, utcnow()
    if row.agreement is not None:
        row.agreement.status = AgreementStatus.in_force
    session.flush()
    audit.record(session, actor, "unit_report_in.accept", "unit_report_in", row.id, org_path=row.community_path,
                 before=before, after=_snapshot(row))
    notices.unit_report_in_decided(session, row)
    return row


def reject(session: Session, actor: Actor, report_in_id: int, *, reason: str) -> UnitReportIn:
    row = _pending_for_decision(session, actor, report_in_id)
    before = _snapshot(row)
    row.status, row.decided_by_id, row.decided_at = UnitReportInStatus.rejected, actor.person_id, utcnow()
    row.reason = reason
    if row.agreement is not None:
        row.agreement.status = AgreementStatus.void
    session.flush()
    audit.record(session, actor, "unit_report_in.reject", "unit_report_in", row.id, org_path=row.community_path,
                 before=before, after={**_snapshot(row), "reason": reason})
    notices.unit_report_in_decided(session, row)
    return row


def renew(session: Session, actor: Actor, report_in_id: int, *,
          agreement_ends_on: date | None = None) -> UnitReportIn:
    """Another term from today or from expiry, whichever is later; a lapsed report-in becomes active again
    (unless the unit has reported in there anew). The agreement may be extended in the same act."""
    row = get(session, report_in_id)
    if not is_unit_of(actor, row):
        actor.require_on(ADMIN_ROLES, row.community_path)
    if row.status not in (UnitReportInStatus.active, UnitReportInStatus.lapsed):
        raise Conflict("unit_report_in_not_renewable")
    if row.status == UnitReportInStatus.lapsed:
        newer = session.scalar(select(UnitReportIn.id).where(
            UnitReportIn.employer_id == row.employer_id, UnitReportIn.community_id == row.community_id,
            UnitReportIn.status.in_(LIVE_UNIT_REPORT_IN)))
        if newer is not None:
            raise Conflict("already_reported_in", variant="newer")
    agreement = row.agreement
    if agreement_ends_on is not None and agreement is not None:
        check_agreement_term(agreement.starts_on, agreement_ends_on)
        if agreement_ends_on < local_today():
            raise InvalidInput("agreement_ends_in_past")
    before = _snapshot(row)
    row.expires_on = add_months(max(local_today(), row.expires_on), _valid_months(session, row.community))
    row.status, row.renewed_at = UnitReportInStatus.active, utcnow()
    if agreement is not None:
        if agreement_ends_on is not None:
            agreement.ends_on = agreement_ends_on
        if agreement.ends_on >= local_today():
            agreement.status = AgreementStatus.in_force
    session.flush()
    audit.record(session, actor, "unit_report_in.renew", "unit_report_in", row.id, org_path=row.community_path,
                 before=before, after={**_snapshot(row), "agreement_ends_on":
                                       agreement.ends_on.isoformat() if agreement else None})
    return row


def withdraw(session: Session, actor: Actor, report_in_id: int) -> UnitReportIn:
    """The unit takes its report-in back (pending or active); what was recorded under it stays."""
    row = get(session, report_in_id)
    actor.require_employer(row.employer_id)
    if row.status not in LIVE_UNIT_REPORT_IN:
        raise Conflict("unit_report_in_not_live")
    before = _snapshot(row)
    was_active = row.status == UnitReportInStatus.active
    row.status = UnitReportInStatus.withdrawn
    if row.agreement is not None:
        row.agreement.status = AgreementStatus.ended if was_active else AgreementStatus.void
    session.flush()
    audit.record(session, actor, "unit_report_in.withdraw", "unit_report_in", row.id, org_path=row.community_path,
                 before=before, after=_snapshot(row))
    return row


def lapse_due(session: Session, *, today: date | None = None) -> int:
    """Cron: active report-ins past their expiry lapse, their agreements end, and agreements whose term ran out
    end. Returns how many report-ins lapsed."""
    today = today or local_today()
    due = select(UnitReportIn.id).where(UnitReportIn.status == UnitReportInStatus.active,
                                        UnitReportIn.expires_on < today)
    session.execute(update(CobuildingAgreement).where(
        CobuildingAgreement.status == AgreementStatus.in_force,
        CobuildingAgreement.report_in_id.in_(due) | (CobuildingAgreement.ends_on < today))
        .values(status=AgreementStatus.ended).execution_options(synchronize_session=False))
    result = session.execute(
        update(UnitReportIn).where(UnitReportIn.status == UnitReportInStatus.active, UnitReportIn.expires_on < today)
        .values(status=UnitReportInStatus.lapsed).execution_options(synchronize_session=False))
    return result.rowcount or 0


def community_query(actor: Actor, community: Org, status: UnitReportInStatus | None):
    """Report-ins to a community (or to every community under a street or district), for its readers."""
    actor.require_on(READ_ROLES, community.path)
    stmt = select(UnitReportIn).where(UnitReportIn.community_path.startswith(community.path, autoescape=True))
    if status is not None:
        stmt = stmt.where(UnitReportIn.status == status)
    return stmt


def employer_query(session: Session, actor: Actor, employer_id: int, status: UnitReportInStatus | None = None):
    """The unit's own report-ins (its contacts only: a community reads them through `community_query`)."""
    actor.require_employer(employer_id)
    get_or_404(session, Employer, employer_id, "employer_not_found")
    stmt = select(UnitReportIn).where(UnitReportIn.employer_id == employer_id)
    if status is not None:
        stmt = stmt.where(UnitReportIn.status == status)
    return stmt
