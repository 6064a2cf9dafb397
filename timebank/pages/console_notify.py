"""社区工作台: 消息投递 — notifications to people in my scope whose delivery failed or died, with the reason and
the attempts, and 重新发送 for a dead one. `notify.delivery.failed_stmt` / `resend` check the scope."""

from __future__ import annotations

from flask import Blueprint, redirect, request, url_for
from sqlalchemy import select

from timebank.errors import DomainError
from timebank.extensions import db
from timebank.messages import describe
from timebank.notify import delivery, templates
from timebank.notify.channels import mask
from timebank.notify.models import NotificationDelivery
from timebank.pages import console, page_actor, run_action
from timebank.people.models import Person

bp = Blueprint("console_notify", __name__, url_prefix="/console")
admin_only = console.admin_only
PAGE = 50
STATE_NAMES = {"pending": "重试中", "sent": "已送达", "dead": "发送失败"}


@bp.get("/notifications")
@admin_only
def failed():
    dead_only = request.args.get("dead") == "1"
    try:
        stmt = delivery.failed_stmt(page_actor(), dead_only=dead_only)
    except DomainError as exc:
        return console.render("pages/console/notifications.html", rows=[], people={}, error=describe(exc),
                              dead_only=dead_only, kind_names=templates.KIND_NAMES,
                              channel_names=templates.CHANNEL_NAMES, states=STATE_NAMES, mask=mask)
    rows = list(db.session.scalars(stmt.order_by(NotificationDelivery.id.desc()).limit(PAGE)))
    people = {p.id: p for p in db.session.scalars(select(Person).where(Person.id.in_({r.person_id for r in rows})))}
    return console.render("pages/console/notifications.html", rows=rows, people=people, error=None,
                          dead_only=dead_only, kind_names=templates.KIND_NAMES, channel_names=templates.CHANNEL_NAMES,
                          states=STATE_NAMES, mask=mask)


@bp.post("/notifications/<int:delivery_id>/resend")
@admin_only
def resend(delivery_id: int):
    run_action(lambda: delivery.resend(db.session, page_actor(), delivery_id), "已重新发送。")
    return redirect(url_for("console_notify.failed"))
