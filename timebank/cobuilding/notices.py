"""What a unit's contacts are told about its report-in, through `timebank.notify`, from the rule or sweep that
causes it: accepted, refused (with the reason), about to lapse."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from timebank.cobuilding.models import UnitReportIn, UnitReportInStatus
from timebank.notify import notify, told_now
from timebank.people.models import Org, Role, RoleGrant

LAPSE_WARN_DAYS = 30


def _day(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def _contacts(session: Session, employer_id: int) -> list[int]:
    return sorted(set(session.scalars(select(RoleGrant.person_id).where(
        RoleGrant.role == Role.employer_contact, RoleGrant.employer_id == employer_id))))


def unit_report_in_decided(session: Session, row: UnitReportIn) -> None:
    community = session.get(Org, row.community_id)
    kind = "unit_report_in.accepted" if row.status == UnitReportInStatus.active else "unit_report_in.rejected"
    params = {"unit": row.party_org_name, "community": community.name, "expires_on": _day(row.expires_on),
              "reason": row.reason or ""}
    for person_id in _contacts(session, row.employer_id):
        notify(session, person_id, kind, params, f"{kind}:{row.id}")


def warn_lapsing(session: Session, *, today: date, limit: int = 1000) -> int:
    """Cron: an active unit report-in lapsing within 30 days is warned once per expiry date."""
    rows = session.scalars(select(UnitReportIn).where(
        UnitReportIn.status == UnitReportInStatus.active, UnitReportIn.expires_on >= today,
        UnitReportIn.expires_on <= today + timedelta(days=LAPSE_WARN_DAYS))
        .order_by(UnitReportIn.id).limit(limit)).all()
    told = 0
    for row in rows:
        community = session.get(Org, row.community_id)
        params = {"unit": row.party_org_name, "community": community.name, "expires_on": _day(row.expires_on)}
        for person_id in _contacts(session, row.employer_id):
            told += told_now(notify(session, person_id, "unit_report_in.lapsing", params,
                                    f"unit_report_in.lapsing:{row.id}:{row.expires_on.isoformat()}"))
    return told
