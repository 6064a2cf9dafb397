"""双报到: an in-service party member reports in to the community where they live.

The member submits (naming employer and branch), the community accepts or rejects, the member renews
before the report-in expires or moves it to another community. The employer lists who of its members has
reported in where, and who has not — names and masked phones only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from timebank.appraisal import notices
from timebank.appraisal.models import ACTIVE_REPORT_IN, ReportIn, ReportInStatus
from timebank.clock import add_months, local_today  # noqa: F401 - appraisal's names for the shared date helpers
from timebank.db_base import utcnow
from timebank.errors import Conflict, Forbidden, InvalidInput, NotFound, RuleViolation, get_or_404
from timebank.ops import audit
from timebank.people import orgs
from timebank.people.access import ADMIN_ROLES, READ_ROLES, Actor
from timebank.people.models import Branch, Employer, Org, OrgKind, PartyMember, PartyMemberStatus, Person
from timebank.people.persons import mask_phone

DEFAULT_VALID_MONTHS = 12


def _member_of(session: Session, actor: Actor) -> tuple[Person, PartyMember]:
    if actor.person_id is None:
        raise Forbidden("not_a_person", variant="report_in")
    person = session.get(Person, actor.person_id)
    member = person.party_member if person else None
    if member is None or member.status != PartyMemberStatus.in_service:
        raise RuleViolation("not_in_service_member")
    return person, member


def _community(session: Session, community_id: int) -> Org:
    org = orgs.get(session, community_id)
    if org.kind != OrgKind.community:
        raise InvalidInput("not_a_community", variant="report_in")
    return org


def get(session: Session, report_in_id: int) -> ReportIn:
    row = get_or_404(session, ReportIn, report_in_id, "report_in_not_found")
    return row


def get_visible(session: Session, actor: Actor, report_in_id: int) -> ReportIn:
    """The member's own, the community's admins and auditors, or the named employer."""
    row = get(session, report_in_id)
    if actor.person_id == row.person_id or row.employer_id in actor.employer_ids():
        return row
    actor.require_on(READ_ROLES, row.community_path)
    return row


def _valid_months(session: Session, community: Org) -> int:
    return int(orgs.setting(session, community, "report_in_valid_months", DEFAULT_VALID_MONTHS))


def _snapshot(row: ReportIn) -> dict:
    return {"status": str(row.status), "community_id": row.community_id, "employer_id": row.employer_id,
            "branch_id": row.branch_id, "reported_on": row.reported_on.isoformat(),
            "expires_on": row.expires_on.isoformat()}


def _new(session: Session, actor: Actor, member: PartyMember, community: Org, *, employer_id: int,
         branch_id: int | None, reported_on: date, note: str | None) -> ReportIn:
    row = ReportIn(party_member_id=member.id, person_id=member.person_id, community_id=community.id,
                   community_path=community.path, employer_id=employer_id, branch_id=branch_id,
                   reported_on=reported_on, expires_on=add_months(reported_on, _valid_months(session, community)),
                   status=ReportInStatus.pending, note=note)
    session.add(row)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise Conflict("already_reported_in") from exc
    audit.record(session, actor, "report_in.submit", "report_in", row.id, org_path=community.path,
                 after=_snapshot(row))
    return row


def submit(session: Session, actor: Actor, *, community_id: int, employer_id: int | None = None,
           branch_id: int | None = None, reported_on: date | None = None, note: str | None = None) -> ReportIn:
    """The member reports in to the community where they live; the community then accepts or rejects."""
    person, member = _member_of(session, actor)
    community = _community(session, community_id)
    home = person.home_org
    if home is not None and not home.path.startswith(community.path):
        raise RuleViolation("not_resident")
    employer_id = employer_id or member.employer_id
    if employer_id is None or session.get(Employer, employer_id) is None:
        raise NotFound("employer_not_found", variant="own")
    if branch_id is not None:
        get_or_404(session, Branch, branch_id, "branch_not_found")
    today = local_today()
    reported_on = reported_on or today
    if reported_on > today:
        raise InvalidInput("date_in_future")
    live = session.scalar(select(ReportIn.id).where(ReportIn.party_member_id == member.id,
                                                    ReportIn.status.in_(ACTIVE_REPORT_IN)))
    if live is not None:
        raise Conflict("already_reported_in")
    return _new(session, actor, member, community, employer_id=employer_id, branch_id=branch_id,
                reported_on=reported_on, note=note)


def _decide(session: Session, actor: Actor, report_in_id: int) -> ReportIn:
    row = get(session, report_in_id)
    actor.require_on(ADMIN_ROLES, row.community_path)
    if row.status != ReportInStatus.pending:
        raise Conflict("report_in_not_pending")
    return row


def accept(session: Session, actor: Actor, report_in_id: int) -> ReportIn:
    row = _decide(session, actor, report_in_id)
    before = _snapshot(row)
    row.status, row.decided_by_id, row.decided_at = ReportInStatus.accepted, actor.person_id, utcnow()
    audit.record(session, actor, "report_in.accept", "report_in", row.id, org_path=row.community_path,
                 before=before, after=_snapshot(row))
    notices.report_in_decided(session, row)
    return row


def reject(session: Session, actor: Actor, report_in_id: int, *, reason: str) -> ReportIn:
    row = _decide(session, actor, report_in_id)
    before = _snapshot(row)
    row.status, row.decided_by_id, row.decided_at = ReportInStatus.rejected, actor.person_id, utcnow()
    row.reject_reason = reason
    audit.record(session, actor, "report_in.reject", "report_in", row.id, org_path=row.community_path,
                 before=before, after={**_snapshot(row), "reason": reason})
    notices.report_in_decided(session, row)
    return row


def renew(session: Session, actor: Actor, report_in_id: int) -> ReportIn:
    """Extend an accepted (or lapsed) report-in by another validity term, counted from today or expiry."""
    row = get(session, report_in_id)
    if actor.person_id != row.person_id:
        actor.require_on(ADMIN_ROLES, row.community_path)
    if row.status not in (ReportInStatus.accepted, ReportInStatus.expired):
        raise Conflict("report_in_not_renewable")
    if row.status == ReportInStatus.expired:
        live = session.scalar(select(ReportIn.id).where(ReportIn.party_member_id == row.party_member_id,
                                                        ReportIn.status.in_(ACTIVE_REPORT_IN)))
        if live is not None:
            raise Conflict("already_reported_in", variant="newer")
    before = _snapshot(row)
    start = max(local_today(), row.expires_on)
    row.expires_on = add_months(start, _valid_months(session, row.community))
    row.status, row.renewed_at = ReportInStatus.accepted, utcnow()
    audit.record(session, actor, "report_in.renew", "report_in", row.id, org_path=row.community_path,
                 before=before, after=_snapshot(row))
    return row


def move(session: Session, actor: Actor, report_in_id: int, *, community_id: int,
         note: str | None = None) -> ReportIn:
    """The member moved house: the old report-in closes as moved, a new one waits at the new community."""
    person, member = _member_of(session, actor)
    row = get(session, report_in_id)
    actor.require_person(row.person_id)
    if row.status not in ACTIVE_REPORT_IN:
        raise Conflict("report_in_not_live")
    community = _community(session, community_id)
    if community.id == row.community_id:
        raise InvalidInput("same_community")
    before = _snapshot(row)
    row.status = ReportInStatus.moved
    session.flush()
    new = _new(session, actor, member, community, employer_id=row.employer_id, branch_id=row.branch_id,
               reported_on=local_today(), note=note)
    row.moved_to_id = new.id
    audit.record(session, actor, "report_in.move", "report_in", row.id, org_path=row.community_path,
                 before=before, after={**_snapshot(row), "moved_to_id": new.id})
    return new


def expire_due(session: Session, *, today: date | None = None) -> int:
    """Accepted report-ins past their expiry date lapse (cron). Returns how many."""
    today = today or local_today()
    result = session.execute(
        update(ReportIn).where(ReportIn.status == ReportInStatus.accepted, ReportIn.expires_on < today)
        .values(status=ReportInStatus.expired).execution_options(synchronize_session=False))
    return result.rowcount or 0


def mine(session: Session, actor: Actor) -> list[ReportIn]:
    _person, member = _member_of(session, actor)
    return list(session.scalars(select(ReportIn).where(ReportIn.party_member_id == member.id)
                                .order_by(ReportIn.id.desc())))


def community_query(actor: Actor, community: Org, status: ReportInStatus | None):
    actor.require_on(READ_ROLES, community.path)
    stmt = select(ReportIn).where(ReportIn.community_path.startswith(community.path, autoescape=True))
    if status is not None:
        stmt = stmt.where(ReportIn.status == status)
    return stmt


@dataclass(frozen=True)
class RosterLine:
    party_member_id: int
    name: str
    phone_masked: str
    branch: str | None
    status: str  # a ReportInStatus, or "not_reported"
    report_in_id: int | None
    community_id: int | None
    community: str | None
    reported_on: date | None
    expires_on: date | None


def employer_roster(session: Session, actor: Actor, employer_id: int) -> list[RosterLine]:
    """Each in-service member of the employer with their latest report-in: where, or not yet (audited)."""
    employer = get_or_404(session, Employer, employer_id, "employer_not_found")
    if employer_id not in actor.employer_ids():
        actor.require_on(READ_ROLES, employer.org.path)
    members = session.execute(
        select(PartyMember.id, Person.name, Person.phone, Branch.name)
        .join(Person, Person.id == PartyMember.person_id)
        .outerjoin(Branch, Branch.id == PartyMember.branch_id)
        .where(PartyMember.employer_id == employer_id, PartyMember.status == PartyMemberStatus.in_service)
        .order_by(PartyMember.id)).all()
    latest: dict[int, tuple[ReportIn, str]] = {}
    for row, community_name in session.execute(
            select(ReportIn, Org.name).join(Org, Org.id == ReportIn.community_id)
            .where(ReportIn.employer_id == employer_id).order_by(ReportIn.id)):
        closed = row.status in (ReportInStatus.moved, ReportInStatus.rejected)
        if not closed or row.party_member_id not in latest:
            latest[row.party_member_id] = (row, community_name)
    lines = []
    for member_id, name, phone, branch in members:
        found = latest.get(member_id)
        row, community_name = found if found else (None, None)
        live = row is not None and row.status not in (ReportInStatus.moved, ReportInStatus.rejected)
        lines.append(RosterLine(
            party_member_id=member_id, name=name, phone_masked=mask_phone(phone), branch=branch,
            status=str(row.status) if live else "not_reported", report_in_id=row.id if live else None,
            community_id=row.community_id if live else None, community=community_name if live else None,
            reported_on=row.reported_on if live else None, expires_on=row.expires_on if live else None))
    audit.record(session, actor, "report_in.roster_read", "employer", employer_id, org_path=employer.org.path,
                 after={"members": len(lines)})
    return lines

