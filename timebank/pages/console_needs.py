"""群众需求的时限与上报 (/console): the escalate button with its reason, each need's
escalation trail, and the figures table (response time and fulfilment rate per community or street) with its CSV.
The needs list itself, with its overdue flags and filters, is `console.need_list`.

The rules are the API's (`escalation.escalate`, `escalation.figures`); this module reads forms and shows results.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from sqlalchemy import select

from timebank import csvfile, labels
from timebank.db_base import utcnow
from timebank.errors import InvalidInput
from timebank.extensions import db
from timebank.hours import escalation, needs, queries
from timebank.http import attachment
from timebank.messages import describe
from timebank.pages import console, page_actor, run_action
from timebank.pages.app_rewards import NEED_LABELS
from timebank.people.models import Person

bp = Blueprint("console_needs", __name__, url_prefix="/console")
admin_only = console.admin_only
field_staff = console.field_staff


@bp.post("/needs/<int:need_id>/escalate")
@field_staff
def need_escalate(need_id: int):
    """上报: one level up, with the reason the next level reads."""
    step = run_action(lambda: escalation.escalate(db.session, page_actor(), need_id,
                                                  reason=request.form.get("reason", "")[:1000],
                                                  from_level=request.form.get("from_level", type=int)),
                      None)
    if step is not None:
        flash(f"已上报至{step.to_org.name}。", "ok")
    return redirect(url_for("console.need_list", status=request.form.get("status") or None))


@bp.get("/needs/<int:need_id>/escalations")
@admin_only
def need_trail(need_id: int):
    need = needs.get_visible(db.session, page_actor(), need_id)
    steps = escalation.history(db.session, page_actor(), need)
    names = dict(db.session.execute(select(Person.id, Person.name).where(
        Person.id.in_({s.by_id for s in steps if s.by_id}))).all()) if steps else {}
    return console.render("pages/console/need_trail.html", need=need, steps=steps, names=names,
                          overdue=escalation.overdue_kind(need), status_labels=NEED_LABELS,
                          causes=labels.ESCALATION_CAUSES, overdue_labels=labels.OVERDUE)


def _period() -> queries.Period:
    text = request.args.get("period") or f"{utcnow().year}"
    return queries.parse_period(text)


@bp.get("/needs/figures")
@admin_only
def need_figures():
    """Response time and fulfilment rate per community (or street) for a period (year, half, quarter, month)."""
    by = request.args.get("by", "community")
    try:
        period = _period()
        rows = escalation.figures(db.session, page_actor(), start=period.start, end=period.end, by=by)
    except InvalidInput as exc:
        flash(describe(exc), "error")
        return console.render("pages/console/need_figures.html", rows=[], by=by,
                              period=request.args.get("period", "")), 422
    return console.render("pages/console/need_figures.html", rows=rows, by=by, period=period.label)


@bp.get("/needs/figures.csv")
@admin_only
def need_figures_csv():
    by = request.args.get("by", "community")
    period = _period()
    rows = escalation.figures(db.session, page_actor(), start=period.start, end=period.end, by=by)
    body = csvfile.write(labels.NEED_FIGURES_HEADERS, [
        (r["name"], r["posted"], r["responded"], r["median_response_hours"], r["average_response_hours"], r["due"],
         r["fulfilled_on_time"], "" if r["fulfilment_rate"] is None else f"{r['fulfilment_rate'] * 100:.1f}%",
         r["wishes_fulfilled"], r["people_helped"])
        for r in rows])
    return attachment(body, "text/csv", f"需求办理统计-{period.label}-{'街道' if by == 'street' else '社区'}.csv")


