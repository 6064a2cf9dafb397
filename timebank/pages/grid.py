"""网格员 (/grid): the grid worker's own area, made for a phone on site. Today's tasks in their grids, the
task's claimants with on-site confirmation of attendance and no-shows, and entering a resident's need on the
resident's behalf.

An area of its own rather than tabs inside /console: a grid worker's work is on site, on a phone, and
none of the console's screens (verification, merchants, appraisal) is theirs; a grid worker who opens /console
is sent here. The rules are the API's (`attendance.confirm`, `claims.mark_no_show`, `needs.post`), which check
the grid worker's scope (FIELD_ROLES on the task's or the need's org).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select

from timebank import labels, messages
from timebank.clock import DISPLAY_TZ
from timebank.db_base import utcnow
from timebank.extensions import db
from timebank.hours import attendance, claims, escalation, needs, tasks, wishes
from timebank.hours.models import Claim, ClaimStatus, NeedKind, Task, TaskStatus
from timebank.pages import console, login_required, nav, page_actor, run_action
from timebank.pages._login import add_login_routes
from timebank.pages.console_tasks import ATTENDANCE_LABELS, CLAIM_LABELS, _claimants, local_input, local_value
from timebank.people import persons
from timebank.people.access import FIELD_ROLES, org_scope_clause
from timebank.people.models import Org, OrgKind

bp = Blueprint("grid", __name__, url_prefix="/grid")


def _context() -> dict:
    return {"area_title": "网格员工作台", "nav": nav.tabs("grid"), "logout_endpoint": "grid.logout"}


def render(template: str, **kwargs):
    return render_template(template, **_context(), **kwargs)


add_login_routes(bp, title="网格员工作台", home_endpoint="grid.today", template_context=_context)
field_staff = login_required("grid.login", roles=FIELD_ROLES)


def _local_day_bounds() -> tuple[datetime, datetime]:
    local = utcnow().astimezone(DISPLAY_TZ).replace(hour=0, minute=0, second=0, microsecond=0)
    return local.astimezone(UTC), (local + timedelta(days=1)).astimezone(UTC)


def my_grids() -> list[Org]:
    """The grids (and communities) where the signed-in person may act on site."""
    return list(db.session.scalars(select(Org).where(
        Org.kind.in_((OrgKind.grid, OrgKind.community)),
        org_scope_clause(page_actor(), FIELD_ROLES, Org.path)).order_by(Org.kind, Org.id)))


@bp.get("")
@bp.get("/")
@field_staff
def today():
    """Tasks in my grids that run today (Beijing time) or are still under way, soonest first."""
    start, end = _local_day_bounds()
    rows = list(db.session.scalars(select(Task).where(
        org_scope_clause(page_actor(), FIELD_ROLES, Task.org_path), Task.status == TaskStatus.published,
        Task.starts_at < end, Task.ends_at > start).order_by(Task.starts_at, Task.id).limit(100)))
    counts = dict(db.session.execute(
        select(Claim.task_id, func.count(Claim.id)).where(Claim.task_id.in_([t.id for t in rows]),
                                                          Claim.status == ClaimStatus.active)
        .group_by(Claim.task_id)).all()) if rows else {}
    return render("pages/grid/today.html", tasks=rows, counts=counts, now=utcnow())


@bp.get("/tasks/<int:task_id>")
@field_staff
def task_page(task_id: int):
    task = tasks.get_for_field(db.session, page_actor(), task_id)
    now = utcnow()
    return render("pages/grid/task.html", task=task, claimants=_claimants(task), started=now >= task.starts_at,
                  claim_labels=CLAIM_LABELS, attendance_labels=ATTENDANCE_LABELS,
                  default_in=local_value(task.starts_at), default_out=local_value(min(task.ends_at, now)))


@bp.post("/claims/<int:claim_id>/confirm")
@field_staff
def confirm(claim_id: int):
    """On-site confirmation: the grid worker saw the volunteer serve from … to …; it then awaits 审核."""
    claim = claims.get_visible(db.session, page_actor(), claim_id)
    checked_in = local_input(request.form.get("checked_in_at"))
    checked_out = local_input(request.form.get("checked_out_at"))
    if checked_in is None or checked_out is None:
        flash("请填写签到和签退时间。", "error")
    else:
        run_action(lambda: attendance.confirm(db.session, page_actor(), claim_id=claim_id,
                                              checked_in_at=checked_in, checked_out_at=checked_out),
                   "已确认到场服务，等待社区审核。")
    return redirect(url_for("grid.task_page", task_id=claim.task_id))


@bp.post("/claims/<int:claim_id>/no-show")
@field_staff
def no_show(claim_id: int):
    claim = claims.get_visible(db.session, page_actor(), claim_id)
    run_action(lambda: claims.mark_no_show(db.session, page_actor(), claim_id), "已标记为缺席。")
    return redirect(url_for("grid.task_page", task_id=claim.task_id))


@bp.route("/needs/new", methods=["GET", "POST"])
@field_staff
def need_new():
    """代居民提需求: the resident is found by mobile number; the need is posted in one of my grids."""
    grids = my_grids()
    form = request.form
    status = 200
    if request.method == "POST":
        resident = persons.by_phone(db.session, form.get("phone"))
        title = form.get("title", "").strip()
        kind = NeedKind.micro_wish if form.get("kind") == "micro_wish" else NeedKind.request
        if resident is None:
            flash(messages.render("person_not_found", "resident"), "error")
        elif not title or len(title) > 120:
            flash("请用 1 至 120 个字写下居民的需求。", "error")
        else:
            need = run_action(lambda: needs.post(
                db.session, page_actor(), kind=kind, org_id=form.get("org_id", type=int) or 0, title=title,
                description=form.get("description", "").strip()[:4000], category=form.get("category") or None,
                requester_id=resident.id), f"已为居民{resident.name[:1]}**登记需求，等待社区受理。")
            if need is not None:
                return redirect(url_for("grid.need_new"))
        status = 422
    categories = needs.categories(db.session, grids[0]) if grids else None
    return render("pages/grid/need_new.html", grids=grids, categories=categories or [], form=form), status


# --- needs: the list with overdue flags, escalation, confirming a wish for the resident -------------------------


@bp.get("/needs")
@field_staff
def needs_list():
    """Needs in my grids, overdue ones first by default: escalate what the grid cannot solve (上报社区)."""
    wanted = request.args.get("status", "overdue")
    if wanted not in console.NEED_FILTERS:
        wanted = "overdue"
    return render("pages/grid/needs.html", rows=console.need_rows(page_actor(), wanted, limit=50), status=wanted,
                  filters=console.NEED_FILTERS, overdue_labels=labels.OVERDUE, claim_labels=labels.WISH_CLAIM_STATES)


@bp.post("/needs/<int:need_id>/escalate")
@field_staff
def need_escalate(need_id: int):
    step = run_action(lambda: escalation.escalate(db.session, page_actor(), need_id,
                                                  reason=request.form.get("reason", "")[:1000],
                                                  from_level=request.form.get("from_level", type=int)))
    if step is not None:
        flash(f"已上报至{step.to_org.name}。", "ok")
    return redirect(url_for("grid.needs_list", status=request.form.get("status") or None))


@bp.post("/wish-claims/<int:claim_id>/confirm")
@field_staff
def wish_confirm(claim_id: int):
    """The resident told the grid worker the wish was fulfilled: confirmed on their behalf."""
    run_action(lambda: wishes.confirm(db.session, page_actor(), claim_id), "已代居民确认心愿完成。")
    return redirect(url_for("grid.needs_list", status=request.form.get("status") or None))
