"""志愿者 app: 消息 (the inbox, newest first, with mark-read) and 消息设置 (which kinds by which channel, the
e-mail address and quiet hours). Same service functions as the API (`notify.rules`)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for

from timebank.extensions import db
from timebank.notify import rules, templates
from timebank.notify.models import Notification
from timebank.pages import app as app_pages
from timebank.pages import page_actor, run_action

bp = Blueprint("app_notify", __name__, url_prefix="/app")
volunteer = app_pages.volunteer
PAGE = 30


@bp.get("/messages")
@volunteer
def inbox():
    actor = page_actor()
    before = request.args.get("before", type=int)
    stmt = rules.inbox_stmt(actor)
    if before:
        stmt = stmt.where(Notification.id < before)
    rows = list(db.session.scalars(stmt.order_by(Notification.id.desc()).limit(PAGE + 1)))
    next_before = rows[PAGE - 1].id if len(rows) > PAGE else None
    return app_pages.render("pages/app/messages.html", rows=rows[:PAGE], next_before=next_before)


@bp.post("/messages/read")
@volunteer
def mark_read():
    ids = [int(i) for i in request.form.getlist("id") if i.isdigit()]
    everything = request.form.get("all") == "1"
    run_action(lambda: rules.mark_read(db.session, page_actor(), ids=ids, everything=everything),
               "已全部标为已读。" if everything else None)
    return redirect(url_for("app_notify.inbox"))


@bp.get("/messages/settings")
@volunteer
def settings():
    prefs = rules.preferences(db.session, page_actor())
    return app_pages.render("pages/app/message_settings.html", prefs=prefs, kinds=rules.choosable_kinds(),
                            kind_names=templates.KIND_NAMES, channel_names=templates.CHANNEL_NAMES,
                            channels=templates.CHANNELS)


@bp.post("/messages/settings")
@volunteer
def save_settings():
    form = request.form
    chosen = {kind: [c for c in templates.CHANNELS if form.get(f"{kind}:{c}") == "1"]
              for kind in rules.choosable_kinds()}
    email = (form.get("email") or "").strip()
    clear = ("email",) if not email else ()
    if email and ("@" not in email or len(email) > 254):
        flash("请填写正确的电子邮件地址。", "error")
        return redirect(url_for("app_notify.settings"))
    run_action(lambda: rules.set_preferences(db.session, page_actor(), channels=chosen, email=email or None,
                                             clear=clear), "消息设置已保存。")
    return redirect(url_for("app_notify.settings"))
