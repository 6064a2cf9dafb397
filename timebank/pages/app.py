"""志愿者 app (/app): balances, the task hall, QR check-in/out, my hours. Installable as a PWA."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from flask import Blueprint, Response, current_app, g, redirect, render_template, request, url_for
from sqlalchemy import select

from timebank import labels, ledger, messages
from timebank.accounts import balances, gifts
from timebank.clock import DISPLAY_TZ
from timebank.db_base import utcnow
from timebank.errors import DomainError
from timebank.extensions import db
from timebank.hours import attendance, claims, needs, tasks
from timebank.hours import queries as hours_views
from timebank.hours.models import Claim, ClaimStatus, Task
from timebank.notify import rules as notify_rules
from timebank.pages import login_required, nav, page_actor, run_action
from timebank.pages._login import add_login_routes
from timebank.people.models import Org, OrgKind
from timebank.teams import claims as team_claims

bp = Blueprint("app_pages", __name__, url_prefix="/app")


# How each transfer code reads to a volunteer (from the one label table).
CODE_NAMES = {code: labels.TRANSFER_CODES[code.name] for code in ledger.Code}


def _context() -> dict:
    return {"area_title": "爱心银行", "nav": nav.tabs("app"), "logout_endpoint": "app_pages.logout",
            "code_names": CODE_NAMES, "session_states": labels.SESSION_STATES, "entry_label": entry_label,
            "inbox_unread": _unread()}


def _unread() -> int | None:
    """The header's unread badge, for a signed-in person."""
    actor = g.get("page_actor")
    if actor is None or actor.person_id is None:
        return None
    return notify_rules.unread_count(db.session, actor)


def entry_label(transfer, amount: int) -> str:
    """What a history line says: a gift names its giver (or recipient) and note, other entries their kind."""
    return gifts.label(db.session, transfer, amount) or CODE_NAMES.get(transfer.code, "记账")


def render(template: str, **kwargs):
    return render_template(template, **_context(), **kwargs)


add_login_routes(bp, title="爱心银行", home_endpoint="app_pages.home", template_context=_context)
volunteer = login_required("app_pages.login")


def _person_id() -> int:
    return page_actor().person_id


@bp.get("")
@bp.get("/")
@volunteer
def home():
    person_id = _person_id()
    mine = balances.for_person(db.session, person_id)
    expiring, history = [], []
    if mine.points.account_id is not None:
        expiring = balances.expiring_soon(db.session, mine).lots
        history = balances.moved(db.session, mine.points.account_id, limit=10)  # no "0 积分" rows
    return render("pages/app/home.html", balances=mine, expiring=expiring, history=history)


def _communities() -> list[Org]:
    return list(db.session.scalars(select(Org).where(Org.kind == OrgKind.community).order_by(Org.id)))


@bp.get("/tasks")
@volunteer
def task_hall():
    community_id = request.args.get("community_id", type=int)
    category = request.args.get("category") or None
    day = request.args.get("date") or None
    starts_after = starts_before = None
    if day:
        try:
            local = datetime.strptime(day, "%Y-%m-%d").date()
        except ValueError:
            local = None
        if local:
            starts_after = datetime.combine(local, time(0), DISPLAY_TZ).astimezone(UTC)
            starts_before = starts_after + timedelta(days=1)
    stmt = tasks.open_tasks_stmt(community_id=community_id, category=category, starts_after=starts_after,
                                 starts_before=starts_before).order_by(Task.starts_at, Task.id).limit(50)
    rows = list(db.session.scalars(stmt))
    mine = {c.task_id: c for c in db.session.scalars(select(Claim).where(
        Claim.person_id == _person_id(), Claim.status == ClaimStatus.active))}
    community = db.session.get(Org, community_id) if community_id else None
    categories = needs.categories(db.session, community) if community else None
    return render("pages/app/tasks.html", tasks=rows, mine=mine, communities=_communities(),
                  categories=categories or [], filters={"community_id": community_id, "category": category,
                                                        "date": day})


@bp.post("/tasks/<int:task_id>/claim")
@volunteer
def claim_task(task_id: int):
    run_action(lambda: claims.claim(db.session, page_actor(), task_id), "报名成功，请按时到场签到。")
    return redirect(request.form.get("back") or url_for("app_pages.task_hall"))


@bp.post("/claims/<int:claim_id>/withdraw")
@volunteer
def withdraw_claim(claim_id: int):
    run_action(lambda: claims.withdraw(db.session, page_actor(), claim_id), "已取消报名。")
    return redirect(url_for("app_pages.my_claims"))


@bp.get("/claims")
@volunteer
def my_claims():
    """Each session with where it really stands: 待审核, 已入账, 未通过 (with the reason), 已冲正, ..."""
    now = utcnow()
    rows = hours_views.my_sessions(db.session, _person_id(), now=now, limit=50)
    by_team = team_claims.claimed_by_team(db.session, [s.claim.id for s in rows if s.claim.team_claim_id])
    return render("pages/app/claims.html", sessions=rows, now=now, by_team=by_team)


@bp.route("/checkin", methods=["GET", "POST"])
@volunteer
def checkin():
    """The site's QR code opens this page; the volunteer confirms check-in or check-out."""
    token = request.values.get("t", "")
    secret = current_app.config["SECRET_KEY"]
    if request.method == "POST":
        action = request.form.get("action")
        if action == "out":
            row = run_action(lambda: attendance.check_out(db.session, page_actor(), secret, token), None)
            if row is not None:
                return render("pages/app/checkin_done.html", attendance=row, action="out")
        else:
            row = run_action(lambda: attendance.check_in(db.session, page_actor(), secret, token), None)
            if row is not None:
                return render("pages/app/checkin_done.html", attendance=row, action="in")
        return redirect(url_for("app_pages.checkin", t=token))
    task = mine = None
    try:
        from timebank.hours import checkin_tokens

        read = checkin_tokens.read(secret, token)
        task = db.session.get(Task, read.task_id)
        problem = None
        found = hours_views.my_sessions(db.session, _person_id(), now=utcnow(), limit=1, task_id=read.task_id)
        mine = found[0] if found else None  # checked in already: offer 签退, or say where the session stands
    except DomainError as exc:
        problem = messages.describe(exc)
    except Exception:  # noqa: BLE001 - a token that cannot even be read is an invalid one
        problem = messages.render("checkin_token_invalid")
    return render("pages/app/checkin.html", task=task, token=token, problem=problem, mine=mine)


@bp.get("/hours")
@volunteer
def hours():
    year = request.args.get("year", type=int)
    data = hours_views.my_hours(db.session, _person_id(), year=year)
    return render("pages/app/hours.html", data=data, year=year)


@bp.get("/manifest.webmanifest")
def manifest():
    body = {
        "name": "爱心银行", "short_name": "爱心银行", "lang": "zh-CN", "start_url": "/app/", "scope": "/app/",
        "display": "standalone", "background_color": "#faf7f5", "theme_color": "#b71c1c",
        "icons": [{"src": url_for("static", filename="icon.svg"), "sizes": "any", "type": "image/svg+xml",
                   "purpose": "any maskable"}],
    }
    import json

    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/manifest+json")


SERVICE_WORKER = """
const CACHE = "timebank-v1";
const ASSETS = ["/static/app.css", "/static/app.js", "/static/icon.svg"];
self.addEventListener("install", (e) => e.waitUntil(caches.open(CACHE).then((c) => c.addAll(ASSETS))));
self.addEventListener("fetch", (e) => {
  const url = new URL(e.request.url);
  if (e.request.method === "GET" && url.pathname.startsWith("/static/")) {
    e.respondWith(caches.match(e.request).then((hit) => hit || fetch(e.request)));
  }
});
"""


@bp.get("/sw.js")
def service_worker():
    resp = Response(SERVICE_WORKER, mimetype="text/javascript")
    resp.headers["Service-Worker-Allowed"] = "/app/"
    return resp
