"""社区工作台: 驻区单位 — units reported in to my communities: accept or refuse a unit's report-in with a reason,
read its resource list and co-building agreement, record what it gave (and reverse a mistaken entry), and
evaluate it once a year (双评议).

Every act is the `cobuilding` rule the API calls: accepting, recording and evaluating want an admin over the
community; readers (auditors, street and district admins above) see the same pages without the forms. Another
community's admin is refused by the rule, here as in the API.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from flask import Blueprint, flash, redirect, request, url_for

from timebank import labels
from timebank.clock import local_today
from timebank.cobuilding import contributions, evaluation
from timebank.cobuilding import report_in as unit_report_in
from timebank.cobuilding.models import (
    EVALUATION_ASPECTS,
    ContributionKind,
    UnitGrade,
    UnitReportIn,
    UnitReportInStatus,
)
from timebank.extensions import db
from timebank.pages import console, page_actor, run_action
from timebank.people.access import ADMIN_ROLES
from timebank.people.models import Employer

bp = Blueprint("console_cobuilding", __name__, url_prefix="/console")
admin_only = console.admin_only
MAX_YUAN = Decimal("100000000")


@bp.get("/units")
@admin_only
def units():
    """Units reported in to one of my communities: pending first, then the rest (a status filter narrows)."""
    communities = console.my_communities()
    community = console.chosen_community(communities)
    wanted = request.args.get("status", "all")
    status = UnitReportInStatus(wanted) if wanted in UnitReportInStatus.__members__ else None
    rows = []
    if community is not None:
        stmt = unit_report_in.community_query(page_actor(), community, status)
        rows = db.session.execute(
            stmt.add_columns(Employer.name).join(Employer, Employer.id == UnitReportIn.employer_id)
            .order_by(UnitReportIn.status != UnitReportInStatus.pending, UnitReportIn.id).limit(200)).all()
    can_decide = community is not None and page_actor().has_role_on(ADMIN_ROLES, community.path)
    return console.render("pages/console/units.html", communities=communities, community=community, rows=rows,
                          status=wanted, statuses=UnitReportInStatus, L=labels, can_decide=can_decide)


def _back_to_units():
    return redirect(url_for("console_cobuilding.units", community_id=request.form.get("community_id", type=int)))


@bp.post("/units/<int:report_in_id>/accept")
@admin_only
def accept(report_in_id: int):
    run_action(lambda: unit_report_in.accept(db.session, page_actor(), report_in_id), "已接收该单位报到。")
    return _back_to_units()


@bp.post("/units/<int:report_in_id>/reject")
@admin_only
def reject(report_in_id: int):
    reason = request.form.get("reason", "").strip()[:500]
    if not reason:
        flash("请填写不予接收的原因，单位会看到它。", "error")
    else:
        run_action(lambda: unit_report_in.reject(db.session, page_actor(), report_in_id, reason=reason),
                   "已退回该单位报到。")
    return _back_to_units()


@bp.get("/units/<int:report_in_id>")
@admin_only
def unit(report_in_id: int):
    """One unit's report-in: resources, agreement, contributions (with the forms), evaluations."""
    actor = page_actor()
    row = unit_report_in.get_visible(db.session, actor, report_in_id)
    given = contributions.list_for(db.session, actor, row.id)
    evaluations = evaluation.list_for(db.session, actor, row.id)
    year = local_today().year
    can_act = actor.has_role_on(ADMIN_ROLES, row.community_path)
    return console.render(
        "pages/console/unit.html", r=row, given=given, evaluations=evaluations, L=labels, year=year,
        evaluated_this_year=any(ev.year == year for ev in evaluations), can_act=can_act,
        accepted=unit_report_in.was_accepted(row), aspects=EVALUATION_ASPECTS, grades=UnitGrade,
        kinds=ContributionKind, reversed=contributions.reversed_ids(given), net_fen=contributions.net_fen(given),
        standing=contributions.standing_count(given), today=local_today().isoformat())


def _back_to_unit(report_in_id: int):
    return redirect(url_for("console_cobuilding.unit", report_in_id=report_in_id))


@bp.post("/units/<int:report_in_id>/contributions")
@admin_only
def record_contribution(report_in_id: int):
    form = request.form
    kind, description = form.get("kind", ""), form.get("description", "").strip()[:500]
    try:
        on_date = date.fromisoformat(form.get("on_date", ""))
        text = form.get("amount_yuan", "").strip()
        amount = Decimal(text) if text else None
        if amount is not None and (not amount.is_finite() or not 0 <= amount <= MAX_YUAN
                                   or amount != amount.quantize(Decimal("0.01"))):
            raise ValueError(text)
        resource_id = form.get("resource_id", type=int) or None
    except (ValueError, InvalidOperation):
        flash("请填写正确的日期和金额（元，最多两位小数）。", "error")
        return _back_to_unit(report_in_id)
    if kind not in ContributionKind.__members__ or not description:
        flash("请选择贡献类别并填写内容。", "error")
        return _back_to_unit(report_in_id)
    quantity = form.get("quantity", "").strip()[:60] or None
    run_action(lambda: contributions.record(
        db.session, page_actor(), report_in_id, kind=ContributionKind(kind), description=description,
        on_date=on_date, amount_fen=None if amount is None else int(amount * 100), quantity=quantity,
        resource_id=resource_id), "已登记共建贡献。")
    return _back_to_unit(report_in_id)


@bp.post("/contributions/<int:contribution_id>/reverse")
@admin_only
def reverse_contribution(contribution_id: int):
    report_in_id = request.form.get("report_in_id", type=int)
    reason = request.form.get("reason", "").strip()[:500]
    if not reason:
        flash("请填写冲正原因。", "error")
    else:
        run_action(lambda: contributions.reverse(db.session, page_actor(), contribution_id, reason=reason),
                   "已冲正该记录；如需更正，请重新登记正确的贡献。")
    return _back_to_unit(report_in_id) if report_in_id else redirect(url_for("console_cobuilding.units"))


@bp.post("/units/<int:report_in_id>/evaluation")
@admin_only
def evaluate(report_in_id: int):
    form = request.form
    grade = form.get("grade", "")
    try:
        scores = {aspect: int(form.get(f"score_{aspect}", "")) for aspect in EVALUATION_ASPECTS}
    except ValueError:
        scores = {}
    if grade not in UnitGrade.__members__ or len(scores) != len(EVALUATION_ASPECTS):
        flash("请选择评议等次，并为每个方面打分。", "error")
    else:
        run_action(lambda: evaluation.evaluate(db.session, page_actor(), report_in_id, grade=UnitGrade(grade),
                                               scores=scores, comment=form.get("comment", "").strip()[:2000] or None),
                   "已保存本年度评议。")
    return _back_to_unit(report_in_id)
