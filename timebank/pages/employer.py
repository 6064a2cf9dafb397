"""单位党组织 (/employer): an employer's party secretary (a person holding `employer_contact` on the employer) sees
who of the unit's in-service members has reported in where and who has not, downloads each period's report
(一信一函) as PDF or CSV, acknowledges it and enters the unit's evaluation per member (双评议).

Roster, reports, downloads, acknowledgement and evaluation are the `report_in` and `appraisal` services the API
calls; each checks the employer itself, so another unit's report is refused there as well as here. Reads that the
services audit (roster, downloads, evaluations) are committed like the API's audited GETs.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from sqlalchemy import select

from timebank import labels as label_table
from timebank import links, uow
from timebank.appraisal import report_in
from timebank.appraisal import reports as appraisal
from timebank.appraisal.models import GRADE_LABELS, AppraisalEntry, Grade, ReportStatus
from timebank.errors import Forbidden
from timebank.extensions import db
from timebank.http import attachment
from timebank.ops import audit
from timebank.pages import login_required, nav, page_actor, run_action
from timebank.pages._login import add_login_routes
from timebank.pages.app_party import REPORT_IN_LABELS
from timebank.people.models import Employer, Role

bp = Blueprint("employer", __name__, url_prefix="/employer")

FORMATS = {"pdf", "csv"}
# The pages a secretary may switch units on and come back to (cobuilding: 单位报到 too).
SWITCH_BACK = ("employer.roster", "employer.reports", "employer_cobuilding.report_ins",
               "employer_projects.projects_page")


def _context() -> dict:
    return {"area_title": "单位党组织", "nav": nav.tabs("employer"), "logout_endpoint": "employer.logout"}


def render(template: str, **kwargs):
    return render_template(template, **_context(), employer=current_employer(), employers=_my_employers(),
                           **kwargs)


add_login_routes(bp, title="单位党组织", home_endpoint="employer.roster", template_context=_context)
contact_only = login_required("employer.login", roles={Role.employer_contact})


def _my_employers() -> list[Employer]:
    actor = page_actor()
    ids = sorted(actor.employer_ids()) if actor else []
    return list(db.session.scalars(select(Employer).where(Employer.id.in_(ids)).order_by(Employer.id))) if ids else []


def current_employer() -> Employer | None:
    """The unit this secretary works for now (a contact of two units picks one; the choice is kept)."""
    actor = page_actor()
    if actor is None:
        return None
    ids = actor.employer_ids()
    chosen = session.get("employer_id")
    if chosen not in ids:
        chosen = min(ids) if ids else None
    return db.session.get(Employer, chosen) if chosen else None


@bp.post("/switch")
@contact_only
def switch():
    wanted = request.form.get("employer_id", type=int)
    if wanted not in page_actor().employer_ids():
        raise Forbidden("not_employer_contact")
    session["employer_id"] = wanted
    back = request.form.get("back")
    return redirect(url_for(back if back in SWITCH_BACK else "employer.roster"))


def _employer_or_403() -> Employer:
    """The unit named in the address (`?employer_id=`), or the current one; another unit's is refused."""
    wanted = request.args.get("employer_id", type=int)
    if wanted is not None:
        if wanted not in page_actor().employer_ids():
            raise Forbidden("roster_out_of_scope")
        session["employer_id"] = wanted
    employer = current_employer()
    if employer is None:
        raise Forbidden("not_employer_contact", variant="any")
    return employer


@bp.get("")
@bp.get("/")
@contact_only
@uow.writes
def roster():
    """Who of our in-service members has reported in where, and who has not (phones masked; audited)."""
    employer = _employer_or_403()
    lines = report_in.employer_roster(db.session, page_actor(), employer.id)
    uow.commit()
    reported = sum(1 for line in lines if line.status != "not_reported")
    counts = {"total": len(lines), "reported": reported, "not_reported": len(lines) - reported}
    shown = request.args.get("show", "all")
    if shown == "not_reported":
        lines = [line for line in lines if line.status == "not_reported"]
    elif shown == "reported":
        lines = [line for line in lines if line.status != "not_reported"]
    return render("pages/employer/roster.html", lines=lines, labels=REPORT_IN_LABELS, shown=shown, counts=counts)


@bp.get("/reports")
@contact_only
def reports():
    """Every report of this unit, newest first, with its downloads and acknowledgement."""
    employer = _employer_or_403()
    rows = appraisal.list_reports(db.session, page_actor(), run_id=None, employer_id=employer.id)
    summaries = [appraisal.report_summary(db.session, r) for r in reversed(rows)]
    return render("pages/employer/reports.html", reports=summaries)


def _own_report(report_id: int):
    """A report of one of my units (district admins read reports in the console, not here)."""
    report = appraisal.get_report(db.session, page_actor(), report_id)
    page_actor().require_employer(report.employer_id)
    session["employer_id"] = report.employer_id
    return report


@bp.get("/reports/<int:report_id>")
@contact_only
@uow.writes
def report(report_id: int):
    """The report's members with their figures and the unit's evaluation form (the read is audited)."""
    row = _own_report(report_id)
    document = None
    if row.status == ReportStatus.rendered:
        document = appraisal.report_document(db.session, row, base_url=links.public_base_url())
        audit.record(db.session, page_actor(), "appraisal.report_read", "appraisal_report", row.id,
                     org_path=row.district_path, after={"format": "page", "via": "employer_portal"})
    given = {item["entry_id"]: item for item in appraisal.evaluations(db.session, page_actor(), row.id)["items"]}
    uow.commit()
    return render("pages/employer/report.html", report=appraisal.report_summary(db.session, row),
                  document=document, given=given, grades=GRADE_LABELS, labels=REPORT_IN_LABELS, L=label_table)


@bp.get("/reports/<int:report_id>/download/<fmt>")
@contact_only
@uow.writes
def download(report_id: int, fmt: str):
    """The issued PDF or the CSV, as an attachment (audited by the service)."""
    if fmt not in FORMATS:
        abort(404)
    _own_report(report_id)
    content, mimetype, name = appraisal.read_document(
        db.session, page_actor(), report_id, fmt, base_url=links.public_base_url(),
        via="employer_portal")
    uow.commit()
    return attachment(content, mimetype, name)


@bp.post("/reports/<int:report_id>/acknowledge")
@contact_only
def acknowledge(report_id: int):
    run_action(lambda: appraisal.acknowledge(db.session, page_actor(), report_id), "已确认收到该报告。")
    return redirect(url_for("employer.report", report_id=report_id))


@bp.post("/reports/<int:report_id>/evaluations")
@contact_only
def evaluate(report_id: int):
    """双评议: the grades chosen in the form (members left blank are not evaluated this time)."""
    _own_report(report_id)
    form = request.form
    entry_ids = db.session.scalars(select(AppraisalEntry.id).where(AppraisalEntry.report_id == report_id)).all()
    items = []
    for entry_id in entry_ids:
        grade = form.get(f"grade_{entry_id}")
        if grade in Grade.__members__:
            items.append({"entry_id": entry_id, "grade": Grade(grade),
                          "comment": form.get(f"comment_{entry_id}", "").strip()[:1000]})
    if not items:
        flash("请至少为一位党员选择评议等次。", "error")
    else:
        run_action(lambda: appraisal.evaluate(db.session, page_actor(), report_id, items),
                   f"已保存 {len(items)} 位党员的评议。")
    return redirect(url_for("employer.report", report_id=report_id))
