"""社区工作台: 三张清单 and 服务项目 — the needs list grouped by category and place (each group a 设计项目 button),
the resources units offer, the project list with claimant and progress; the form that makes a project from a
group of needs; a project's page with resource matching (对接), tasks, acceptance with the residents'
satisfaction, 结项 and 取消 (with the shared confirmation page).

Every act is the `projects` rule the API calls (`create`, `arrange_resource`, `publish_task`, `accept`, `close`,
`cancel`), which checks an admin over the project's community; auditors and admins above read the same pages
without the forms. The project list reads one query per kind of fact (`queries.cards`), whatever the page size.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from flask import Blueprint, flash, redirect, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from timebank import labels, messages
from timebank.clock import local_today
from timebank.cobuilding.models import ResourceKind, UnitReportIn, UnitReportInStatus, UnitResource
from timebank.extensions import db
from timebank.hours.models import Need
from timebank.pages import console, page_actor, run_action, shanghai
from timebank.pages.app_rewards import NEED_LABELS
from timebank.pages.console_tasks import local_input
from timebank.people import orgs
from timebank.people.access import ADMIN_ROLES, READ_ROLES, org_scope_clause
from timebank.people.models import Employer, Org
from timebank.projects import projects, queries
from timebank.projects.models import Project, ProjectStatus, ProjectTier

bp = Blueprint("console_projects", __name__, url_prefix="/console")
admin_only = console.admin_only

PAGE = 50
RESOURCE_ROWS = 3  # empty resource lines the new-project form offers (more after a refused post keeps its lines)
MAX_HOURS = Decimal(projects.MAX_BUDGET) / 60
LISTS = ("needs", "resources")
L = labels


_ID = re.compile(r"[0-9]{1,18}")


def form_id(value: str | None) -> int | None:
    """An id typed into a form or an address: ASCII digits that fit a database id, else None."""
    value = (value or "").strip()
    return int(value) if _ID.fullmatch(value) else None


def _ids(values: list[str]) -> list[int]:
    """Ids from repeated fields or one comma-separated field; anything else is dropped."""
    found = (form_id(part) for value in values for part in value.split(","))
    return list(dict.fromkeys(i for i in found if i is not None))


# --- 项目清单 -----------------------------------------------------------------------------------------------


@bp.get("/projects")
@admin_only
def project_list():
    """Projects of the communities in my scope, newest first, 50 a page; filters by status and tier."""
    actor = page_actor()
    status = request.args.get("status", "")
    tier = request.args.get("tier", "")
    stmt = (select(Project).options(joinedload(Project.community))
            .where(org_scope_clause(actor, READ_ROLES, Project.community_path)))
    if status in ProjectStatus.__members__:
        stmt = stmt.where(Project.status == ProjectStatus(status))
    else:
        status = ""
    if tier in ProjectTier.__members__:
        stmt = stmt.where(Project.tier == ProjectTier(tier))
    else:
        tier = ""
    before = request.args.get("before", type=int)
    if before is not None and 0 < before < 2**63:
        stmt = stmt.where(Project.id < before)
    rows = list(db.session.scalars(stmt.order_by(Project.id.desc()).limit(PAGE)))
    more = url_for("console_projects.project_list", status=status or None, tier=tier or None,
                   before=rows[-1].id) if len(rows) == PAGE else None
    return console.render("pages/console/projects.html", cards=queries.cards(db.session, rows), status=status,
                          tier=tier, more=more, L=L, can_make=any(g.role in ADMIN_ROLES for g in actor.grants))


# --- 三张清单: 需求清单 and 资源清单 ------------------------------------------------------------------------------


@bp.get("/lists")
@admin_only
def three_lists():
    """需求清单 of one community, grouped (each group a 设计项目 button), or 资源清单 of my scope by kind."""
    shown = request.args.get("list", "needs")
    shown = shown if shown in LISTS else "needs"
    communities = console.my_communities()
    community = console.chosen_community(communities)
    groups, titles, resources = [], {}, []
    kind = request.args.get("kind", "")
    kind = kind if kind in ResourceKind.__members__ else ""
    if shown == "needs" and community is not None:
        groups = queries.need_groups(db.session, community.id)
        wanted = [i for g in groups for i in g.need_ids]
        titles = dict(db.session.execute(select(Need.id, Need.title).where(Need.id.in_(wanted))).all()) \
            if wanted else {}
    elif shown == "resources":
        stmt = (select(UnitResource, Employer.name, Org.name)
                .join(UnitReportIn, UnitReportIn.id == UnitResource.report_in_id)
                .join(Employer, Employer.id == UnitReportIn.employer_id)
                .join(Org, Org.id == UnitReportIn.community_id)
                .where(UnitReportIn.status == UnitReportInStatus.active,
                       org_scope_clause(page_actor(), READ_ROLES, UnitReportIn.community_path)))
        if kind:
            stmt = stmt.where(UnitResource.kind == ResourceKind(kind))
        resources = db.session.execute(stmt.order_by(UnitResource.available.desc(), UnitResource.id)
                                       .limit(200)).all()
    can_make = community is not None and page_actor().has_role_on(ADMIN_ROLES, community.path)
    return console.render("pages/console/projects_lists.html", shown=shown, communities=communities,
                          community=community, groups=groups, titles=titles, resources=resources, kind=kind,
                          can_make=can_make, L=L)


# --- 设计项目 ---------------------------------------------------------------------------------------------------


def _hours_to_minutes(text: str) -> int | None:
    try:
        hours = Decimal((text or "0").strip() or "0")
    except InvalidOperation:
        return None
    if not hours.is_finite() or not 0 <= hours <= MAX_HOURS:
        return None
    return int((hours * 60).to_integral_value())


def _resource_lines(form) -> list[dict]:
    kinds, texts = form.getlist("resource_kind"), form.getlist("resource_description")
    return [{"kind": k, "description": t} for k, t in zip(kinds, texts, strict=False) if k or t.strip()]


def _read_project_form(form) -> tuple[dict | None, str | None]:
    """The form's values for `projects.create`, or the Chinese reason it cannot be read."""
    try:
        starts_on, ends_on = date.fromisoformat(form.get("starts_on", "")), date.fromisoformat(form.get("ends_on", ""))
    except ValueError:
        return None, "请填写项目周期的开始和结束日期。"
    if form.get("tier") not in ProjectTier.__members__:
        return None, "请选择项目类别：基础项目、重点项目或精品项目。"
    minutes = _hours_to_minutes(form.get("budget_hours", ""))
    if minutes is None:
        return None, f"时长预算须是 0 至 {MAX_HOURS:.0f} 之间的小时数（可带一位小数）。"
    points = form_id(form.get("budget_points", "").strip() or "0")
    if points is None or points > projects.MAX_BUDGET:
        return None, f"积分预算须是 0 至 {projects.MAX_BUDGET} 之间的整数。"
    return {"title": form.get("title", ""), "tier": ProjectTier(form["tier"]), "goal": form.get("goal", ""),
            "starts_on": starts_on, "ends_on": ends_on, "budget_minutes": minutes, "budget_points": points,
            "need_ids": _ids(form.getlist("need_ids")), "resources": _resource_lines(form),
            "place": form.get("place", "").strip() or None}, None


@bp.route("/projects/new", methods=["GET", "POST"])
@admin_only
def project_new():
    """The form: title, tier, goal, period, budgets (hours shown, minutes stored), resource lines, the needs."""
    community_id = form_id(request.args.get("community_id") or request.form.get("community_id"))
    communities = console.my_communities()
    if community_id is None:
        community = communities[0] if communities else None
    else:  # another's community is refused below (403)
        community = next((c for c in communities if c.id == community_id), None) or orgs.get(db.session, community_id)
    if community is None:
        flash("您管辖的范围内没有社区，无法设计项目。", "error")
        return redirect(url_for("console_projects.project_list"))
    console.require_admin_of(community.path)
    form = request.form
    status = 200
    if request.method == "POST":
        values, problem = _read_project_form(form)
        if problem:
            flash(problem, "error")
        else:
            made = run_action(lambda: projects.create(db.session, page_actor(), community_id=community.id,
                                                      **values), None)
            if made is not None:
                flash(f"已设计项目「{made.title}」，已发布到项目清单，等待组织认领。", "ok")
                return redirect(url_for("console_projects.project_page", project_id=made.id))
        status = 422
        ticked = set(_ids(form.getlist("need_ids")))
        lines = _resource_lines(form)
    else:
        ticked = set(_ids(request.args.getlist("need_ids")))
        lines = []
    groups = queries.need_groups(db.session, community.id)
    open_ids = [i for g in groups for i in g.need_ids]
    needs = list(db.session.scalars(select(Need).where(Need.id.in_(open_ids)).order_by(Need.id))) if open_ids else []
    today = local_today()
    values = form if request.method == "POST" else {
        "title": "", "goal": "", "tier": "basic", "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=90)).isoformat(), "budget_hours": "", "budget_points": "",
        "place": request.args.get("place", "")}
    lines = lines + [{"kind": "", "description": ""}] * max(RESOURCE_ROWS - len(lines), 1)
    return console.render("pages/console/projects_new.html", community=community, needs=needs, ticked=ticked,
                          form=values, lines=lines, L=L, tiers=ProjectTier, kinds=ResourceKind,
                          need_labels=NEED_LABELS), status


# --- a project's page ----------------------------------------------------------------------------------------


def _visible(project_id: int) -> Project:
    project = projects.get(db.session, project_id)
    page_actor().require_on(READ_ROLES, project.community_path)
    return project


@bp.get("/projects/<int:project_id>")
@admin_only
def project_page(project_id: int):
    project = _visible(project_id)
    card = queries.cards(db.session, [project])[0]
    lines = [{"line": line, "suggestions": queries.suggestions(db.session, project, line),
              "arranged": line.unit_resource} for line in project.resources]
    arranged_units = {}
    arranged_ids = [r["arranged"].report_in_id for r in lines if r["arranged"] is not None]
    if arranged_ids:
        arranged_units = dict(db.session.execute(
            select(UnitReportIn.id, Employer.name).join(Employer, Employer.id == UnitReportIn.employer_id)
            .where(UnitReportIn.id.in_(arranged_ids))).all())
    can_act = page_actor().has_role_on(ADMIN_ROLES, project.community_path)
    start = min(max(local_today() + timedelta(days=1), project.starts_on), project.ends_on)  # the form's default
    return console.render(
        "pages/console/projects_detail.html", p=project, card=card, lines=lines, arranged_units=arranged_units,
        needs=queries.project_needs(db.session, project.id), tasks=queries.project_tasks(db.session, project.id),
        planned=projects.planned(db.session, project.id), can_act=can_act, L=L, need_labels=NEED_LABELS,
        task_default={"starts_at": f"{start.isoformat()}T09:00", "ends_at": f"{start.isoformat()}T11:00"},
        S=ProjectStatus)


def _back(project_id: int):
    return redirect(url_for("console_projects.project_page", project_id=project_id))


@bp.post("/projects/<int:project_id>/resources/<int:line_id>")
@admin_only
def arrange(project_id: int, line_id: int):
    """对接: match the line with a unit's resource (an empty choice undoes the match)."""
    chosen = form_id(request.form.get("unit_resource_id"))
    run_action(lambda: projects.arrange_resource(db.session, page_actor(), project_id, line_id, chosen),
               "已对接该资源。" if chosen else "已取消该资源的对接。")
    return _back(project_id)


@bp.post("/projects/<int:project_id>/tasks")
@admin_only
def publish_task(project_id: int):
    """A task under the project, for the claiming organisation's people (the rule sets who may claim it)."""
    form = request.form
    starts, ends = local_input(form.get("starts_at")), local_input(form.get("ends_at"))
    slots = form_id(form.get("slots"))
    if starts is None or ends is None or slots is None or slots > 1_000_000:
        flash(messages.render("task_form_incomplete"), "error")
        return _back(project_id)
    task = run_action(lambda: projects.publish_task(
        db.session, page_actor(), project_id, title=form.get("title", ""), starts_at=starts, ends_at=ends,
        slots=slots, place=form.get("place", "").strip() or None,
        description=form.get("description", "")[:2000]), None)
    if task is not None:
        flash(f"已发布项目任务「{task.title}」（{shanghai(task.starts_at)}）。", "ok")
    return _back(project_id)


@bp.post("/projects/<int:project_id>/acceptance")
@admin_only
def accept(project_id: int):
    satisfaction = request.form.get("satisfaction", "")
    if satisfaction not in {"1", "2", "3", "4", "5"}:
        flash(messages.render("satisfaction_range"), "error")
        return _back(project_id)
    run_action(lambda: projects.accept(db.session, page_actor(), project_id, satisfaction=int(satisfaction),
                                       note=request.form.get("note", "")),
               f"项目已验收，群众满意度 {satisfaction} 分；项目中的居民需求已办结。")
    return _back(project_id)


@bp.post("/projects/<int:project_id>/close")
@admin_only
def close(project_id: int):
    run_action(lambda: projects.close(db.session, page_actor(), project_id), "项目已结项。")
    return _back(project_id)


@bp.route("/projects/<int:project_id>/cancel", methods=["GET", "POST"])
@admin_only
def cancel(project_id: int):
    """取消: the first post (or a GET) shows what will happen; the second carries `confirmed=1`."""
    project = _visible(project_id)
    reason = request.form.get("reason", "").strip()[:projects.MAX_REASON]
    if request.method == "GET" or request.form.get("confirmed") != "1":
        claim = projects.active_claim(db.session, project.id)
        return console.render(
            "pages/console/confirm_action.html", heading=f"取消项目「{project.title}」", verb="取消",
            facts=[("状态", L.label(L.PROJECT_STATES, project.status)),
                   ("认领组织", claim.claimant if claim else "尚无"),
                   ("居民需求", f"{len(projects.need_ids(db.session, project.id))} 条"),
                   ("取消原因", reason or "未填写")],
            warning="取消后不能恢复：认领将被撤回，项目中的居民需求回到需求清单，可重新设计项目。",
            action=url_for("console_projects.cancel", project_id=project.id), fields=[("reason", reason)],
            button="确认取消项目", back=url_for("console_projects.project_page", project_id=project.id))
    run_action(lambda: projects.cancel(db.session, page_actor(), project_id, reason=reason),
               "项目已取消，居民需求已回到需求清单。")
    return _back(project_id)
