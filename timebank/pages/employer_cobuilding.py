"""单位报到 (/employer/cobuilding): the unit's party secretary reports the unit in to a community with its resource
list and co-building agreement, follows the community's decision, keeps the resource list current, renews before
the report-in lapses or withdraws it, and reads what the community recorded and how it evaluated the unit.

Every act is the `cobuilding` rule the API calls; the rule checks that the unit is the secretary's own.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, redirect, request, url_for
from sqlalchemy import select

from timebank import labels
from timebank.cobuilding import contributions, evaluation, resources
from timebank.cobuilding import report_in as unit_report_in
from timebank.cobuilding.models import (
    EVALUATION_ASPECTS,
    LIVE_UNIT_REPORT_IN,
    ResourceKind,
    UnitReportIn,
    UnitReportInStatus,
)
from timebank.extensions import db
from timebank.pages import employer, login_required, page_actor, run_action
from timebank.people.models import Org, OrgKind, Role

bp = Blueprint("employer_cobuilding", __name__, url_prefix="/employer")
contact_only = login_required("employer.login", roles={Role.employer_contact})
RESOURCE_ROWS = 3  # blank resource lines on the form (more are added on the report-in once submitted)


def _communities(unit) -> list[Org]:
    """Communities under the district (or street) that registered the unit."""
    return list(db.session.scalars(select(Org).where(
        Org.kind == OrgKind.community, Org.path.startswith(unit.org.path, autoescape=True)).order_by(Org.id)))


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _int(text: str | None) -> int | None:
    text = (text or "").strip()
    return int(text) if text else None


def _resource_lines(form) -> list[dict]:
    """The filled resource lines of the form (a line without a description is left out)."""
    lines = []
    for n in range(RESOURCE_ROWS):
        description = form.get(f"resource_description_{n}", "").strip()[:500]
        if not description:
            continue
        kind = form.get(f"resource_kind_{n}", "")
        if kind not in ResourceKind.__members__:
            raise ValueError(kind)
        quantity = _int(form.get(f"resource_quantity_{n}"))
        if quantity is not None and not 0 <= quantity <= 1_000_000_000:
            raise ValueError(quantity)
        lines.append({"kind": ResourceKind(kind), "description": description, "quantity": quantity,
                      "unit": form.get(f"resource_unit_{n}", "").strip()[:20] or None})
    return lines


@bp.get("/cobuilding")
@contact_only
def report_ins():
    """The unit's report-ins, newest first, with resources, agreement, contributions and evaluations, and the form."""
    unit = employer._employer_or_403()
    actor = page_actor()
    rows = list(db.session.scalars(unit_report_in.employer_query(db.session, actor, unit.id)
                                   .order_by(UnitReportIn.id.desc()).limit(100)))
    given = {row.id: contributions.list_for(db.session, actor, row.id) for row in rows}
    evaluations = {row.id: evaluation.list_for(db.session, actor, row.id) for row in rows}
    return employer.render("pages/employer/cobuilding.html", rows=rows, given=given, evaluations=evaluations,
                           communities=_communities(unit), resource_rows=RESOURCE_ROWS, L=labels,
                           live=LIVE_UNIT_REPORT_IN, statuses=UnitReportInStatus, aspects=EVALUATION_ASPECTS,
                           net_fen=contributions.net_fen, standing=contributions.standing_count)


@bp.post("/cobuilding")
@contact_only
def submit():
    unit = employer._employer_or_403()
    form = request.form
    try:
        resource_lines = _resource_lines(form)
        community_id = int(form.get("community_id", ""))
        agreement = {"title": form.get("agreement_title", "").strip()[:200],
                     "terms": form.get("agreement_terms", "").strip()[:10_000],
                     "starts_on": date.fromisoformat(form.get("agreement_starts_on", "")),
                     "ends_on": date.fromisoformat(form.get("agreement_ends_on", "")),
                     "signed_on": _day(form.get("agreement_signed_on"))}
    except ValueError:
        flash("请完整填写报到社区、资源清单和共建协议的起止日期。", "error")
        return redirect(url_for("employer_cobuilding.report_ins"))
    fields = {k: form.get(k, "").strip()[:n] for k, n in (("party_org_name", 120), ("contact_name", 60),
                                                          ("contact_phone", 20))}
    if not all(fields.values()) or not agreement["title"] or not agreement["terms"]:
        flash("请填写党组织名称、联系人、联系电话、协议名称和协议内容。", "error")
        return redirect(url_for("employer_cobuilding.report_ins"))
    run_action(lambda: unit_report_in.submit(
        db.session, page_actor(), employer_id=unit.id, community_id=community_id, resources=resource_lines,
        agreement=agreement, note=form.get("note", "").strip()[:500] or None, **fields),
        "已提交报到，等待社区接收。")
    return redirect(url_for("employer_cobuilding.report_ins"))


@bp.post("/cobuilding/<int:report_in_id>/renew")
@contact_only
def renew(report_in_id: int):
    try:
        ends_on = _day(request.form.get("agreement_ends_on"))
    except ValueError:
        ends_on = None
    run_action(lambda: unit_report_in.renew(db.session, page_actor(), report_in_id, agreement_ends_on=ends_on),
               "已续期。")
    return redirect(url_for("employer_cobuilding.report_ins"))


@bp.post("/cobuilding/<int:report_in_id>/withdraw")
@contact_only
def withdraw(report_in_id: int):
    run_action(lambda: unit_report_in.withdraw(db.session, page_actor(), report_in_id), "已撤回该报到。")
    return redirect(url_for("employer_cobuilding.report_ins"))


@bp.post("/cobuilding/<int:report_in_id>/resources")
@contact_only
def add_resource(report_in_id: int):
    form = request.form
    kind, description = form.get("kind", ""), form.get("description", "").strip()[:500]
    try:
        quantity = _int(form.get("quantity"))
    except ValueError:
        quantity = -1
    if kind not in ResourceKind.__members__ or not description or (quantity is not None and quantity < 0):
        flash("请选择资源类别并填写资源说明（数量须为不小于 0 的整数）。", "error")
    else:
        run_action(lambda: resources.add(db.session, page_actor(), report_in_id, kind=ResourceKind(kind),
                                         description=description, quantity=quantity,
                                         unit=form.get("unit", "").strip()[:20] or None), "已添加资源。")
    return redirect(url_for("employer_cobuilding.report_ins"))


@bp.post("/cobuilding/resources/<int:resource_id>/availability")
@contact_only
def resource_availability(resource_id: int):
    available = request.form.get("available") == "1"
    run_action(lambda: resources.update(db.session, page_actor(), resource_id, available=available),
               "已恢复提供该资源。" if available else "已停止提供该资源。")
    return redirect(url_for("employer_cobuilding.report_ins"))
