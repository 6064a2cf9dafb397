"""社区工作台 (/console): the verification queue with bulk decisions, needs → tasks, the site's check-in QR,
the audit log. Street and district admins see their whole subtree; every action runs the same service
functions (and therefore the same role-and-scope checks) as the API."""

from __future__ import annotations

from datetime import UTC, datetime

import segno
from flask import Blueprint, current_app, redirect, render_template, request, url_for
from markupsafe import Markup
from sqlalchemy import select

from timebank import labels, links, messages
from timebank.clock import DISPLAY_TZ
from timebank.db_base import utcnow
from timebank.errors import Forbidden
from timebank.extensions import db
from timebank.hours import checkin_tokens, escalation, needs, tasks, verification, wishes
from timebank.hours.models import Attendance, Decision, Need, NeedKind, NeedStatus, Task, TaskStatus
from timebank.ops.models import AuditEntry
from timebank.pages import login_required, nav, page_actor, run_action
from timebank.pages._login import add_login_routes
from timebank.pages.app_rewards import NEED_LABELS, mask_name
from timebank.people import orgs
from timebank.people import persons as people
from timebank.people.access import ADMIN_ROLES, FIELD_ROLES, READ_ROLES, org_scope_clause
from timebank.people.models import Org, OrgKind, Person

bp = Blueprint("console", __name__, url_prefix="/console")



def _context() -> dict:
    return {"area_title": "社区工作台", "nav": nav.tabs("console"), "logout_endpoint": "console.logout"}


def render(template: str, **kwargs):
    return render_template(template, **_context(), **kwargs)


add_login_routes(bp, title="社区工作台", home_endpoint="console.queue", template_context=_context)
admin_only = login_required("console.login", roles=READ_ROLES)
field_staff = login_required("console.login", roles=FIELD_ROLES)


def my_communities() -> list[Org]:
    """Communities inside the subtrees where the signed-in person is an admin or auditor."""
    return list(db.session.scalars(select(Org).where(
        Org.kind == OrgKind.community, org_scope_clause(page_actor(), READ_ROLES, Org.path)).order_by(Org.id)))


def chosen_community(communities: list[Org]) -> Org | None:
    """The community the page was asked for (`community_id`, within the admin's read scope), else the first."""
    wanted = request.values.get("community_id", type=int)
    if wanted is None:
        return communities[0] if communities else None
    org = orgs.get(db.session, wanted)
    page_actor().require_on(READ_ROLES, org.path)
    return org


@bp.get("")
@bp.get("/")
@login_required("console.login", roles=READ_ROLES | FIELD_ROLES)
def queue():
    if not any(gr.role in READ_ROLES for gr in page_actor().grants):
        return redirect(url_for("grid.today"))  # a grid worker's console is the grid area
    communities = my_communities()
    community = chosen_community(communities)
    rows: list[Attendance] = []
    task_filter = request.args.get("task_id", type=int)
    if community is not None:
        stmt = verification.pending_stmt(community.id).order_by(Attendance.checked_in_at)
        if task_filter:
            stmt = stmt.where(Attendance.task_id == task_filter)
        rows = list(db.session.scalars(stmt.limit(200)))
    return render("pages/console/queue.html", communities=communities, community=community, rows=rows,
                  task_filter=task_filter)


@bp.post("/queue")
@admin_only
def decide():
    """Bulk accept / trim / reject: all rows pass or none is written."""
    ids = [int(i) for i in request.form.getlist("attendance_id")]
    action = request.form.get("action")
    reason = request.form.get("reason", "").strip() or None
    if not ids:
        return _back_to_queue("请先勾选要审核的记录。")
    items = []
    for attendance_id in ids:
        item = {"attendance_id": attendance_id}
        if action == "accept":
            item["decision"] = Decision.accepted
            trimmed = request.form.get(f"minutes_{attendance_id}", type=int)
            if trimmed:
                item["minutes"] = trimmed
        else:
            item["decision"] = Decision.rejected
            item["reason"] = reason
        items.append(item)
    done = run_action(lambda: verification.verify_many(db.session, page_actor(), items),
                      f"已{'通过' if action == 'accept' else '驳回'} {len(items)} 条记录。")
    return redirect(url_for("console.queue", community_id=request.form.get("community_id"))) if done is not None \
        else _back_to_queue(None)


def _back_to_queue(message: str | None):
    from flask import flash

    if message:
        flash(message, "error")
    return redirect(url_for("console.queue", community_id=request.form.get("community_id")))


# --- needs: the list with overdue flags, filters and escalation -------------------------------------------------

NEED_PAGE = 50
# The need list's filters: a status, or overdue now, or escalated to an org where I work.
NEED_FILTERS = {**{s.value: NEED_LABELS[s] for s in (NeedStatus.open, NeedStatus.accepted, NeedStatus.claimed,
                                                      NeedStatus.fulfilled, NeedStatus.rejected, NeedStatus.closed)},
                "overdue": labels.NEED_FILTER_OVERDUE, "escalated": labels.NEED_FILTER_ESCALATED}


def need_rows(actor, wanted: str, *, now: datetime | None = None, limit: int = NEED_PAGE,
              before: int | None = None) -> list[dict]:
    """The needs a list shows for filter `wanted`, newest first, with what each row needs: the resident's masked
    name, the org handling it, the overdue flag, whether this person may escalate it, the wish's active claim.
    Shared by this list and the grid worker's (/grid/needs)."""
    now = now or utcnow()
    status = NeedStatus(wanted) if wanted in NeedStatus.__members__ else None
    stmt = needs.list_stmt(actor, status=status, overdue=wanted == "overdue", escalated_to_me=wanted == "escalated",
                           now=now)
    if before is not None:  # keyset: the next page starts below the last id shown
        stmt = stmt.where(Need.id < before)
    found = db.session.execute(stmt.join(Person, Person.id == Need.requester_id).add_columns(Person.name)
                               .order_by(Need.id.desc()).limit(limit)).all()
    handling = {o.id: o for o in db.session.scalars(select(Org).where(
        Org.id.in_({n.handling_org_id for n, _ in found})))} if found else {}
    claims = wishes.claims_for_needs(db.session, [n.id for n, _ in found if n.kind == NeedKind.micro_wish])
    out = []
    for need, name in found:
        here = handling.get(need.handling_org_id)
        out.append({
            "need": need, "requester": mask_name(name), "handling": here,
            "handling_label": f"{labels.ORG_KINDS.get(str(here.kind), '')}·{here.name}" if here else "",
            "overdue": escalation.overdue_kind(need, now),
            "can_escalate": (need.status in escalation.ESCALATABLE and here is not None and here.parent_id is not None
                             and actor.has_role_on(FIELD_ROLES, need.handling_path)),
            "claim": claims.get(need.id)})
    return out


@bp.get("/needs")
@admin_only
def need_list():
    """Needs in my scope (open ones by default), flagged when overdue: publish as a task, reject, close, escalate."""
    wanted = request.args.get("status", "open")
    if wanted not in NEED_FILTERS:
        wanted = "open"
    before = request.args.get("before", type=int)
    rows = need_rows(page_actor(), wanted, before=before if before and 0 < before < 2**63 else None)
    more = url_for("console.need_list", status=wanted, before=rows[-1]["need"].id) if len(rows) == NEED_PAGE else None
    return render("pages/console/needs.html", rows=rows, status=wanted, more=more, links=need_links(),
                  filters=NEED_FILTERS, overdue_labels=labels.OVERDUE, claim_labels=labels.WISH_CLAIM_STATES)


_ID = 987654321


def need_links() -> dict[str, str]:
    """Each row's action addresses as patterns ("…/{id}/…"): built once per page, not five times per row."""
    pattern = {"reject": "console_tasks.need_reject", "close": "console_tasks.need_close",
               "escalate": "console_needs.need_escalate", "trail": "console_needs.need_trail"}
    out = {k: url_for(e, need_id=_ID).replace(str(_ID), "{id}") for k, e in pattern.items()}
    out["task_new"] = url_for("console.task_new", need_id=_ID).replace(str(_ID), "{id}")
    return out


@bp.route("/tasks/new", methods=["GET", "POST"])
@admin_only
def task_new():
    need = needs.get_visible(db.session, page_actor(), request.values.get("need_id", type=int)) \
        if request.values.get("need_id") else None
    communities = [c for c in my_communities() if page_actor().has_role_on(ADMIN_ROLES, c.path)]
    form = request.form
    status = 200
    if request.method == "POST":
        # The form is read, never trusted: every value goes to `tasks.publish`, which checks it as for the API.
        try:
            starts = _local(form.get("starts_at", ""))
            ends = _local(form.get("ends_at", ""))
            slots = int(form.get("slots", ""))
            org_id = int(form.get("org_id", ""))
        except ValueError:
            from flask import flash

            flash(messages.render("task_form_incomplete"), "error")
        else:
            task = run_action(lambda: tasks.publish(
                db.session, page_actor(), org_id=org_id, title=form.get("title", ""),
                category=form.get("category", ""), place=form.get("place", ""), starts_at=starts, ends_at=ends,
                slots=slots, description=form.get("description", ""), need_id=need.id if need else None),
                "任务已发布。")
            if task is not None:
                return redirect(url_for("console_tasks.task_page", task_id=task.id))
        status = 422
    categories = needs.categories(db.session, communities[0]) if communities else []
    return render("pages/console/task_new.html", need=need, communities=communities, categories=categories or [],
                  form=form), status


def _local(text: str) -> datetime:
    """A datetime-local field is Beijing time; store UTC."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M").replace(tzinfo=DISPLAY_TZ).astimezone(UTC)


@bp.get("/tasks")
@admin_only
def task_list():
    actor = page_actor()
    rows = list(db.session.scalars(select(Task).where(
        org_scope_clause(actor, READ_ROLES, Task.org_path), Task.status == TaskStatus.published,
        Task.ends_at > utcnow()).order_by(Task.starts_at).limit(100)))
    return render("pages/console/tasks.html", tasks=rows)


def _qr_svg(text: str) -> Markup:
    return Markup(segno.make(text, error="m").svg_inline(scale=8, border=2, dark="#000", light="#fff",
                                                         title="签到二维码"))


def _checkin_link(task: Task) -> tuple[str, datetime]:
    token = checkin_tokens.issue(current_app.config["SECRET_KEY"], task)
    return links.checkin_url(token.token), token.expires_at


@bp.get("/tasks/<int:task_id>/qr")
@field_staff
def task_qr(task_id: int):
    """Full screen on the site's tablet; the code rotates by itself."""
    task = tasks.get_for_field(db.session, page_actor(), task_id)
    link, expires_at = _checkin_link(task)
    return render("pages/console/task_qr.html", task=task, qr=_qr_svg(link), link=link, expires_at=expires_at,
                  refresh_seconds=checkin_tokens.ROTATE_SECONDS)


@bp.get("/tasks/<int:task_id>/qr/fragment")
@field_staff
def task_qr_fragment(task_id: int):
    task = tasks.get_for_field(db.session, page_actor(), task_id)
    link, expires_at = _checkin_link(task)
    return render_template("pages/console/_qr.html", qr=_qr_svg(link), link=link, expires_at=expires_at)


@bp.get("/audit")
@admin_only
def audit():
    actor = page_actor()
    rows = list(db.session.scalars(select(AuditEntry).where(
        org_scope_clause(actor, READ_ROLES, AuditEntry.org_path)).order_by(AuditEntry.id.desc()).limit(100)))
    names = people.actor_names(db.session, [e.actor for e in rows] + [
        f"{e.entity}:{e.entity_id}" for e in rows if e.entity in ("person", "merchant", "employer")])
    return render("pages/console/audit.html", rows=rows, names=names, actions=labels.AUDIT_ACTIONS,
                  targets=labels.AUDIT_TARGETS)


def require_admin_of(org_path: str) -> None:
    if not page_actor().has_role_on(ADMIN_ROLES, org_path):
        raise Forbidden("out_of_scope")


