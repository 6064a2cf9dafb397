"""社区工作台: 报到审核 (report-ins waiting for the community: accept, or reject with a reason) and 党员考评
(a district's appraisal periods and runs: open a period, start a run, watch its progress refresh itself, read the
members whose figures failed, see each employer report's delivery and send it again).

The services decide who may do what: `report_in.accept/reject` want an admin over the community,
`appraisal.create_period/start_run` a district (or street) admin over the district, `appraisal_delivery.resend`
the same; progress and errors are readable by auditors too.
"""

from __future__ import annotations

import dataclasses

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from timebank import links, uow
from timebank.appraisal import delivery as appraisal_delivery
from timebank.appraisal import report_in
from timebank.appraisal import reports as appraisal
from timebank.appraisal.models import (
    AppraisalRun,
    DeliveryChannel,
    DeliveryStatus,
    PeriodKind,
    ReportIn,
    ReportInStatus,
)
from timebank.extensions import db
from timebank.http import attachment
from timebank.pages import console, page_actor, run_action, shanghai
from timebank.pages.app_party import REPORT_IN_LABELS
from timebank.pages.app_rewards import mask_name
from timebank.people import orgs
from timebank.people.access import org_scope_clause
from timebank.people.models import Employer, Org, OrgKind, PartyMember, Person, Role

bp = Blueprint("console_appraisal", __name__, url_prefix="/console")
admin_only = console.admin_only


PERIOD_LABELS = {PeriodKind.quarter: "季度", PeriodKind.half_year: "半年", PeriodKind.year: "年度"}
RUN_LABELS = {"queued": "排队中", "running": "统计中", "done": "已完成"}
REPORT_LABELS = {"pending": "生成中", "rendered": "已生成", "failed": "生成失败"}
DELIVERY_LABELS = {DeliveryStatus.queued: "待发送", DeliveryStatus.sent: "已送达", DeliveryStatus.failed: "发送失败",
                   DeliveryStatus.acknowledged: "单位已确认"}
CHANNEL_LABELS = {DeliveryChannel.email: "邮件", DeliveryChannel.webhook: "接口推送",
                  DeliveryChannel.portal: "门户下载"}
# What a failed member's reason means, by the prefix the appraisal service writes.
ERROR_LABELS = {"ledger_mismatch": "服务记录与账本不符", "report_failed": "报告生成失败"}
RUN_READERS = appraisal.RUN_ROLES | {Role.auditor}


# --- 报到审核 ------------------------------------------------------------------------------------------------


@bp.get("/report-ins")
@admin_only
def report_ins():
    """Report-ins to one of my communities, pending first (the status filter shows the others)."""
    communities = console.my_communities()
    community = console.chosen_community(communities)
    wanted = request.args.get("status", "pending")
    status = ReportInStatus(wanted) if wanted in ReportInStatus.__members__ else None
    rows = []
    if community is not None:
        stmt = report_in.community_query(page_actor(), community, status)
        rows = db.session.execute(stmt.add_columns(Person.name, Person.phone, Employer.name)
                                  .join(Person, Person.id == ReportIn.person_id)
                                  .join(Employer, Employer.id == ReportIn.employer_id)
                                  .order_by(ReportIn.id).limit(200)).all()
    return console.render("pages/console/report_ins.html", communities=communities, community=community,
                          rows=rows, status=wanted, labels=REPORT_IN_LABELS, statuses=ReportInStatus)


def _back_to_report_ins():
    return redirect(url_for("console_appraisal.report_ins", community_id=request.form.get("community_id", type=int)))


@bp.post("/report-ins/<int:report_in_id>/accept")
@admin_only
def accept(report_in_id: int):
    run_action(lambda: report_in.accept(db.session, page_actor(), report_in_id), "已接收该党员报到。")
    return _back_to_report_ins()


@bp.post("/report-ins/<int:report_in_id>/reject")
@admin_only
def reject(report_in_id: int):
    reason = request.form.get("reason", "").strip()[:500]
    if not reason:
        flash("请填写不予接收的原因，党员会看到它。", "error")
    else:
        run_action(lambda: report_in.reject(db.session, page_actor(), report_in_id, reason=reason),
                   "已退回该报到。")
    return _back_to_report_ins()


# --- 党员考评 ------------------------------------------------------------------------------------------------


def _districts() -> list[Org]:
    return list(db.session.scalars(select(Org).where(
        Org.kind == OrgKind.district, org_scope_clause(page_actor(), RUN_READERS, Org.path)).order_by(Org.id)))


@bp.get("/appraisal")
@admin_only
def periods():
    """My district's periods, each with its runs; open a period, start a run."""
    districts = _districts()
    wanted = request.args.get("district_id", type=int)
    district = districts[0] if districts else None
    if wanted is not None:
        district = orgs.get(db.session, wanted)
        page_actor().require_on(RUN_READERS, district.path)
    rows, runs = [], {}
    can_run = False
    if district is not None:
        rows = appraisal.list_periods(db.session, page_actor(), district.id)
        can_run = page_actor().has_role_on(appraisal.RUN_ROLES, district.path)
        for run in db.session.scalars(select(AppraisalRun).where(AppraisalRun.period_id.in_([p.id for p in rows]))
                                      .order_by(AppraisalRun.id.desc())):
            runs.setdefault(run.period_id, []).append(run)
    local_year = appraisal.local_today().year
    return console.render("pages/console/appraisal_periods.html", districts=districts, district=district,
                          periods=rows, runs=runs, can_run=can_run, kinds=PERIOD_LABELS, run_labels=RUN_LABELS,
                          year=local_year)


@bp.post("/appraisal/periods")
@admin_only
def create_period():
    form = request.form
    district_id = form.get("district_id", type=int) or 0
    kind = form.get("kind")
    if kind not in PeriodKind.__members__:
        flash("请选择考评周期类型。", "error")
    else:
        run_action(lambda: appraisal.create_period(
            db.session, page_actor(), district_id=district_id, kind=PeriodKind(kind),
            year=form.get("year", type=int) or 0, number=form.get("number", type=int) or 1), "考评周期已建立。")
    return redirect(url_for("console_appraisal.periods", district_id=district_id))


@bp.post("/appraisal/periods/<int:period_id>/runs")
@admin_only
def start_run(period_id: int):
    run = run_action(lambda: appraisal.start_run(db.session, page_actor(), period_id),
                     "考评已开始统计，进度会自动刷新。")
    if run is None:
        return redirect(url_for("console_appraisal.periods"))
    return redirect(url_for("console_appraisal.run", run_id=run.id))


def _run_view(run_id: int) -> dict:
    progress = appraisal.progress(db.session, page_actor(), run_id)
    errors = appraisal.run_errors(db.session, page_actor(), run_id)
    names = {}
    if errors:
        names = dict(db.session.execute(select(PartyMember.id, Person.name).join(
            Person, Person.id == PartyMember.person_id).where(PartyMember.id.in_([e["party_member_id"]
                                                                                for e in errors]))).all())
    for item in errors:
        prefix = item["error"].split(":", 1)[0]
        item["name"] = mask_name(names.get(item["party_member_id"], ""))
        item["label"] = ERROR_LABELS.get(prefix, "数据无法统计")
    percent = round(100 * progress["done"] / progress["total"]) if progress["total"] else 100
    return {"progress": progress, "errors": errors, "percent": percent, "run_labels": RUN_LABELS}


@bp.get("/appraisal/runs/<int:run_id>")
@admin_only
def run(run_id: int):
    view = _run_view(run_id)
    reports = appraisal.list_reports(db.session, page_actor(), run_id=run_id, employer_id=None)
    summaries = [appraisal.report_summary(db.session, r) for r in reports]
    can_resend = any(page_actor().has_role_on(appraisal.RUN_ROLES, r.district_path) for r in reports)
    return console.render("pages/console/appraisal_run.html", run_id=run_id, reports=summaries,
                          can_resend=can_resend, report_labels=REPORT_LABELS, delivery_labels=DELIVERY_LABELS,
                          channel_labels=CHANNEL_LABELS, refresh_seconds=3,
                          explain_failure=appraisal_delivery.explain_failure, **view)


@bp.get("/appraisal/runs/<int:run_id>/progress")
@admin_only
def run_progress(run_id: int):
    """The progress box alone, fetched every few seconds by the run page (`data-refresh-url`)."""
    return render_template("pages/console/_appraisal_progress.html", run_id=run_id, **_run_view(run_id))


@bp.post("/appraisal/reports/<int:report_id>/resend")
@admin_only
def resend(report_id: int):
    """Send the report again by the channel chosen: e-mail or a webhook (queued), or a portal link made now
    and shown here, to pass on when mail cannot reach the employer."""
    wanted = request.form.get("channel") or None
    channel = DeliveryChannel(wanted) if wanted in DeliveryChannel.__members__ else None
    run_id = request.form.get("run_id", type=int)
    if channel == DeliveryChannel.portal:
        cfg = dataclasses.replace(appraisal_delivery.config_from(current_app.config), base_url=links.public_base_url())
        link = run_action(lambda: appraisal_delivery.issue_portal_link(db.session, page_actor(), report_id, cfg))
        if link is not None:
            flash(f"已生成下载链接（{shanghai(link['expires_at'], '%Y-%m-%d')} 前有效），请转交单位：{link['url']}",
                  "ok")
        return redirect(url_for("console_appraisal.run", run_id=run_id) if run_id
                        else url_for("console_appraisal.periods"))
    delivery = run_action(lambda: appraisal_delivery.resend(db.session, page_actor(), report_id, channel=channel),
                          "已重新发送报告。")
    if delivery is not None:
        run_id = delivery.report.run_id
    return redirect(url_for("console_appraisal.run", run_id=run_id) if run_id
                    else url_for("console_appraisal.periods"))


@bp.get("/appraisal/reports/<int:report_id>/pdf")
@admin_only
@uow.writes
def report_pdf(report_id: int):
    """The issued PDF, for the district's admins and auditors (the read is audited)."""
    content, mimetype, name = appraisal.read_document(
        db.session, page_actor(), report_id, "pdf", base_url=links.public_base_url(),
        via="console")
    uow.commit()
    return attachment(content, mimetype, name)
