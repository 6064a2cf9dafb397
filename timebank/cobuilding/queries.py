"""Read models of co-building for the layers above (the appraisal letter reads `letter_section`; cobuilding
never imports appraisal)."""

from __future__ import annotations

from collections import Counter
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from timebank.cobuilding.evaluation import scores_of
from timebank.cobuilding.models import Contribution, UnitEvaluation, UnitReportIn, UnitReportInStatus, UnitResource
from timebank.people.models import Org


def letter_section(session: Session, employer_id: int, *, district_path: str, starts_on: date,
                   ends_on: date) -> dict:
    """单位报到与共建 for one unit's letter of one period (dates inclusive, local): its report-ins to communities of
    the district that were accepted and whose term met the period, the resources each offered (and how often
    each was drawn on in the period), the contributions dated in the period (reversals included, so the sum is
    net) and each community's evaluation for the period's year. Plain values only: the letter's PDF, CSV, JSON
    and page are all drawn from the same dict."""
    year = ends_on.year
    rows = session.execute(
        select(UnitReportIn, Org.name).join(Org, Org.id == UnitReportIn.community_id).where(
            UnitReportIn.employer_id == employer_id,
            UnitReportIn.community_path.startswith(district_path, autoescape=True),
            UnitReportIn.decided_at.is_not(None), UnitReportIn.status != UnitReportInStatus.rejected,
            UnitReportIn.reported_on <= ends_on, UnitReportIn.expires_on >= starts_on)
        .order_by(UnitReportIn.reported_on, UnitReportIn.id)).all()
    ids = [row.id for row, _name in rows]
    names = {row.id: name for row, name in rows}
    contributions = list(session.scalars(select(Contribution).where(
        Contribution.report_in_id.in_(ids), Contribution.on_date >= starts_on, Contribution.on_date <= ends_on)
        .order_by(Contribution.on_date, Contribution.id))) if ids else []
    cancelled = {c.reverses_id for c in contributions if c.reverses_id is not None}
    standing = [c for c in contributions if c.reverses_id is None and c.id not in cancelled]
    used = Counter(c.resource_id for c in standing if c.resource_id is not None)
    resources = list(session.scalars(select(UnitResource).where(UnitResource.report_in_id.in_(ids))
                                     .order_by(UnitResource.id))) if ids else []
    evaluations = {ev.community_id: ev for ev in session.scalars(select(UnitEvaluation).where(
        UnitEvaluation.employer_id == employer_id, UnitEvaluation.year == year,
        UnitEvaluation.community_path.startswith(district_path, autoescape=True)))}
    report_ins = []
    for row, community in rows:
        agreement = row.agreement
        ev = evaluations.get(row.community_id)
        report_ins.append({
            "id": row.id, "community": community, "party_org_name": row.party_org_name, "status": str(row.status),
            "reported_on": row.reported_on.isoformat(), "expires_on": row.expires_on.isoformat(),
            "agreement": None if agreement is None else {
                "title": agreement.title, "status": str(agreement.status),
                "starts_on": agreement.starts_on.isoformat(), "ends_on": agreement.ends_on.isoformat()},
            "resources": [{"id": r.id, "kind": str(r.kind), "description": r.description, "quantity": r.quantity,
                           "unit": r.unit, "available": r.available, "used": used.get(r.id, 0)}
                          for r in resources if r.report_in_id == row.id],
            "evaluation": None if ev is None else {
                "year": ev.year, "grade": str(ev.grade), "scores": scores_of(ev), "comment": ev.comment or ""},
        })
    return {
        "year": year,
        "report_ins": report_ins,
        "contributions": [{"id": c.id, "community": names[c.report_in_id], "kind": str(c.kind),
                           "description": c.description, "amount_fen": c.amount_fen, "quantity": c.quantity or "",
                           "on_date": c.on_date.isoformat(), "reverses_id": c.reverses_id, "reason": c.reason or "",
                           "reversed": c.id in cancelled} for c in contributions],
        "contributions_count": len(standing),
        "contributions_fen": sum(c.amount_fen or 0 for c in contributions),
        "resources_used": sum(used.values()),
    }


def employers_reported_in(session: Session, *, district_path: str, starts_on: date, ends_on: date) -> set[int]:
    """Units with an accepted report-in to a community of the district whose term met the period (each gets a
    letter even when none of its members is a party member in service there)."""
    return set(session.scalars(select(UnitReportIn.employer_id).where(
        UnitReportIn.community_path.startswith(district_path, autoescape=True),
        UnitReportIn.decided_at.is_not(None), UnitReportIn.status != UnitReportInStatus.rejected,
        UnitReportIn.reported_on <= ends_on, UnitReportIn.expires_on >= starts_on)))
