"""What party members and employers' contacts are told about report-ins and appraisal letters, through
`timebank.notify`, from the rule or job that causes it."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from timebank.appraisal.models import AppraisalReport, ReportIn, ReportInStatus
from timebank.notify import notify, told_now
from timebank.people.models import Employer, Org, Role, RoleGrant

LAPSE_WARN_DAYS = 30


def _day(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def report_in_decided(session: Session, row: ReportIn) -> None:
    community = session.get(Org, row.community_id)
    kind = "report_in.accepted" if row.status == ReportInStatus.accepted else "report_in.rejected"
    notify(session, row.person_id, kind, {"community": community.name, "expires_on": _day(row.expires_on),
                                          "reason": row.reject_reason or ""}, f"{kind}:{row.id}")


def warn_lapsing(session: Session, *, today: date, limit: int = 1000) -> int:
    """Cron: an accepted report-in that lapses within 30 days is warned once per expiry date (a renewal that
    moves the date earns a new warning next time)."""
    rows = session.scalars(select(ReportIn).where(
        ReportIn.status == ReportInStatus.accepted, ReportIn.expires_on >= today,
        ReportIn.expires_on <= today + timedelta(days=LAPSE_WARN_DAYS)).order_by(ReportIn.id).limit(limit)).all()
    told = 0
    for row in rows:
        community = session.get(Org, row.community_id)
        told += told_now(notify(session, row.person_id, "report_in.lapsing",
                       {"community": community.name, "expires_on": _day(row.expires_on)},
                       f"report_in.lapsing:{row.id}:{row.expires_on.isoformat()}"))
    return told


def letter_delivered(session: Session, report: AppraisalReport, delivery_id: int) -> None:
    """Each contact person of the employer learns that the community's letter arrived."""
    employer = session.get(Employer, report.employer_id)
    district = session.get(Org, report.run.district_id)
    params = {"community": district.name, "period": report.run.period.label, "members": report.member_count,
              "employer": employer.name}
    contacts = session.scalars(select(RoleGrant.person_id).where(
        RoleGrant.role == Role.employer_contact, RoleGrant.employer_id == employer.id)).all()
    for person_id in sorted(set(contacts)):
        notify(session, person_id, "appraisal.delivered", params, f"appraisal.delivered:{delivery_id}")
