"""社区工作台: a task's page with its claimants (edit, cancel with a confirmation step, no-shows, 补录 late entry
with its reason), the complaints queue with decisions, and rejecting or closing a resident's need with a reason.

Each action is the API's rule (`tasks.edit/cancel`, `claims.mark_no_show`, `attendance.late_entry`,
`verification.decide_complaint`, `needs.reject/close`), so role and scope are checked there; this module only
reads forms and shows results. Irreversible actions take two posts: the first shows what will happen
(`confirm_action.html`), the second carries `confirmed=1`; no JavaScript is needed.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, flash, redirect, request, url_for
from sqlalchemy import select

from timebank import messages
from timebank.clock import DISPLAY_TZ
from timebank.db_base import utcnow
from timebank.extensions import db
from timebank.hours import attendance, claims, needs, tasks, verification
from timebank.hours.models import (
    Attendance,
    AttendanceStatus,
    Claim,
    ClaimStatus,
    Complaint,
    ComplaintStatus,
    Task,
)
from timebank.pages import console, page_actor, run_action, shanghai
from timebank.people.access import ADMIN_ROLES, READ_ROLES, org_scope_clause
from timebank.people.models import Person
from timebank.people.persons import mask_phone

bp = Blueprint("console_tasks", __name__, url_prefix="/console")
admin_only = console.admin_only

CLAIM_LABELS = {ClaimStatus.active: "已报名", ClaimStatus.withdrawn: "已退出", ClaimStatus.no_show: "缺席"}
ATTENDANCE_LABELS = {AttendanceStatus.open: "已签到", AttendanceStatus.pending: "待审核",
                     AttendanceStatus.accepted: "已通过", AttendanceStatus.rejected: "已驳回",
                     AttendanceStatus.reversed: "已冲正"}
COMPLAINT_LABELS = {ComplaintStatus.open: "待处理", ComplaintStatus.upheld: "已成立",
                    ComplaintStatus.dismissed: "不成立"}


def local_input(text: str | None) -> datetime | None:
    """A datetime-local field (Beijing time) as UTC; None when empty or malformed."""
    try:
        return datetime.strptime((text or "").strip(), "%Y-%m-%dT%H:%M").replace(tzinfo=DISPLAY_TZ).astimezone(UTC)
    except (ValueError, OverflowError):  # year 1 in Beijing is before year 1 in UTC
        return None


def local_value(value: datetime | None) -> str:
    """The value a datetime-local field shows for a stored UTC time."""
    return shanghai(value, "%Y-%m-%dT%H:%M") if value else ""


def _claimants(task: Task) -> list[dict]:
    rows = db.session.execute(select(Claim, Person).join(Person, Person.id == Claim.person_id)
                              .where(Claim.task_id == task.id).order_by(Claim.id)).all()
    sessions: dict[int, list[Attendance]] = {}
    for att in db.session.scalars(select(Attendance).where(Attendance.task_id == task.id).order_by(Attendance.id)):
        sessions.setdefault(att.claim_id, []).append(att)
    return [{"claim": c, "name": p.name, "phone": mask_phone(p.phone), "volunteer_no": p.volunteer_no or "",
             "sessions": sessions.get(c.id, [])}
            for c, p in rows]


@bp.get("/tasks/<int:task_id>")
@admin_only
def task_page(task_id: int):
    task = tasks.get_for_admin(db.session, page_actor(), task_id)
    now = utcnow()
    return console.render("pages/console/task.html", task=task, claimants=_claimants(task), now=now,
                          started=now >= task.starts_at, can_manage=page_actor().has_role_on(ADMIN_ROLES,
                                                                                             task.org_path),
                          claim_labels=CLAIM_LABELS, attendance_labels=ATTENDANCE_LABELS,
                          default_in=local_value(task.starts_at), default_out=local_value(min(task.ends_at, now)))


def _back(task_id: int):
    return redirect(url_for("console_tasks.task_page", task_id=task_id))


@bp.route("/tasks/<int:task_id>/edit", methods=["GET", "POST"])
@admin_only
def task_edit(task_id: int):
    """Edit a task; the rule decides what may change now (times and slots only before the start)."""
    task = tasks.get_for_admin(db.session, page_actor(), task_id)
    form = request.form
    if request.method == "POST":
        changes = {"title": form.get("title", ""), "place": form.get("place", ""),
                   "description": form.get("description", "")}
        starts, ends = local_input(form.get("starts_at")), local_input(form.get("ends_at"))
        slots = int(form["slots"]) if form.get("slots", "").strip().isdigit() else None
        if starts is None or ends is None or slots is None:
            flash(messages.render("task_form_incomplete"), "error")
        else:
            changes["slots"] = slots
            # The field shows minutes: an unchanged field keeps the stored time (which may carry seconds).
            if form.get("starts_at", "").strip() != local_value(task.starts_at):
                changes["starts_at"] = starts
            if form.get("ends_at", "").strip() != local_value(task.ends_at):
                changes["ends_at"] = ends
            done = run_action(lambda: tasks.edit(db.session, page_actor(), task_id, changes=changes),
                              "任务已修改，已报名的志愿者会收到通知。")
            if done is not None:
                return _back(task_id)
        db.session.refresh(task)
        return console.render("pages/console/task_edit.html", task=task, form=form), 422
    values = {"title": task.title, "place": task.place, "description": task.description, "slots": task.slots,
              "starts_at": local_value(task.starts_at), "ends_at": local_value(task.ends_at)}
    return console.render("pages/console/task_edit.html", task=task, form=values)


@bp.route("/tasks/<int:task_id>/cancel", methods=["GET", "POST"])
@admin_only
def task_cancel(task_id: int):
    """Cancelling releases every claim: the first post (or a GET) shows the confirmation page."""
    task = tasks.get_for_admin(db.session, page_actor(), task_id)
    reason = request.form.get("reason", "").strip()[:500]
    if request.method == "GET" or request.form.get("confirmed") != "1":
        active = sum(1 for c in _claimants(task) if c["claim"].status == ClaimStatus.active)
        return console.render(
            "pages/console/confirm_action.html", heading=f"取消任务「{task.title}」", verb="取消",
            facts=[("时间", f"{shanghai(task.starts_at)} – {shanghai(task.ends_at, '%H:%M')}"),
                   ("地点", task.place), ("已报名", f"{active} 人"), ("取消原因", reason or "未填写")],
            warning="取消后不能恢复，已报名志愿者的报名将全部释放，并会收到取消通知。",
            action=url_for("console_tasks.task_cancel", task_id=task.id), fields=[("reason", reason)],
            button="确认取消任务", back=url_for("console_tasks.task_page", task_id=task.id))
    run_action(lambda: tasks.cancel(db.session, page_actor(), task_id, reason=reason or None),
               "任务已取消，已通知报名的志愿者。")
    return _back(task_id)


@bp.post("/claims/<int:claim_id>/no-show")
@admin_only
def no_show(claim_id: int):
    claim = claims.get_visible(db.session, page_actor(), claim_id)
    run_action(lambda: claims.mark_no_show(db.session, page_actor(), claim_id), "已标记为缺席。")
    return _back(claim.task_id)


@bp.post("/claims/<int:claim_id>/late-entry")
@admin_only
def late_entry(claim_id: int):
    """补录: the session's times and the reason (evidence) are recorded and audited; it then awaits审核."""
    claim = claims.get_visible(db.session, page_actor(), claim_id)
    form = request.form
    checked_in, checked_out = local_input(form.get("checked_in_at")), local_input(form.get("checked_out_at"))
    if checked_in is None or checked_out is None:
        flash("请填写签到和签退时间。", "error")
    else:
        run_action(lambda: attendance.late_entry(db.session, page_actor(), claim_id=claim_id,
                                                 checked_in_at=checked_in, checked_out_at=checked_out,
                                                 reason=form.get("reason", "")[:500]),
                   "已补录，等待审核。")
    return _back(claim.task_id)


# --- complaints ----------------------------------------------------------------------------------------------


@bp.get("/complaints")
@admin_only
def complaints():
    """Complaints against credited service in my scope, open ones first."""
    wanted = request.args.get("status", "open")
    stmt = (select(Complaint, Attendance, Task, Person)
            .join(Attendance, Attendance.id == Complaint.attendance_id)
            .join(Task, Task.id == Attendance.task_id).join(Person, Person.id == Attendance.person_id)
            .where(org_scope_clause(page_actor(), READ_ROLES, Attendance.org_path)))
    if wanted in ComplaintStatus.__members__:
        stmt = stmt.where(Complaint.status == ComplaintStatus(wanted))
    rows = db.session.execute(stmt.order_by(Complaint.id.desc()).limit(200)).all()
    return console.render("pages/console/complaints.html", rows=rows, status=wanted, labels=COMPLAINT_LABELS)


@bp.post("/complaints/<int:complaint_id>/decision")
@admin_only
def decide_complaint(complaint_id: int):
    uphold = request.form.get("decision") == "uphold"
    reason = request.form.get("reason", "").strip()[:500]
    run_action(lambda: verification.decide_complaint(db.session, page_actor(), complaint_id, uphold=uphold,
                                                     reason=reason),
               "投诉已认定成立，该次服务的时长和积分已冲正。" if uphold else "投诉已认定不成立。")
    return redirect(url_for("console_tasks.complaints"))


# --- needs -----------------------------------------------------------------------------------------------------


@bp.post("/needs/<int:need_id>/reject")
@admin_only
def need_reject(need_id: int):
    run_action(lambda: needs.reject(db.session, page_actor(), need_id, reason=request.form.get("reason", "")),
               "已不予受理，居民会看到理由。")
    return redirect(url_for("console.need_list"))


@bp.post("/needs/<int:need_id>/close")
@admin_only
def need_close(need_id: int):
    run_action(lambda: needs.close(db.session, page_actor(), need_id, reason=request.form.get("reason", "")),
               "需求已关闭，居民会看到理由。")
    return redirect(url_for("console.need_list", status=request.form.get("status") or None))
