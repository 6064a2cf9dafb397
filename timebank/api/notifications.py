"""Notifications: my inbox (keyset pages, unread count, mark read), my preferences, admins' failed deliveries
and re-sending, and one-time codes (request, verify)."""

from __future__ import annotations

from flask import request
from flask.views import MethodView

from timebank import uow
from timebank.api.auth import BEARER, auth, current_actor
from timebank.api.base import Blueprint
from timebank.api.pagination import page_schema, paginate_by_id
from timebank.api.schemas.notify import (
    CodeRequestIn,
    CodeSentOut,
    CodeVerifiedOut,
    CodeVerifyIn,
    FailedQuery,
    InboxQuery,
    MarkedOut,
    MarkReadIn,
    NotificationDeliveryOut,
    NotificationOut,
    PreferencesIn,
    PreferencesOut,
    UnreadOut,
)
from timebank.api.transaction import write
from timebank.db_base import utcnow
from timebank.extensions import db, redis_ext
from timebank.notify import codes, delivery, rules
from timebank.notify.models import Notification, NotificationDelivery
from timebank.people import login_limits

blp = Blueprint("notifications", __name__, url_prefix="/api", description="Notifications and one-time codes")
NotificationPage = page_schema(NotificationOut, "NotificationPage")
DeliveryPage = page_schema(NotificationDeliveryOut, "NotificationDeliveryPage")


@blp.route("/me/notifications")
class Inbox(MethodView):
    @auth(BEARER)
    @blp.arguments(InboxQuery, location="query", as_kwargs=True)
    @blp.response(200, NotificationPage)
    def get(self, unread=False, **page):
        """My notifications, newest first (`unread=true`: only unread)."""
        stmt = rules.inbox_stmt(current_actor(), unread_only=unread)
        return paginate_by_id(db.session, stmt, Notification.id, page, descending=True)


@blp.route("/me/notifications/unread-count")
class Unread(MethodView):
    @auth(BEARER)
    @blp.response(200, UnreadOut)
    def get(self):
        """How many of my notifications are unread (the badge in the app's header)."""
        return {"unread": rules.unread_count(db.session, current_actor())}


@blp.route("/me/notifications/read")
class MarkRead(MethodView):
    @auth(BEARER)
    @write()
    @blp.arguments(MarkReadIn)
    @blp.response(200, MarkedOut)
    def post(self, body):
        """Mark my notifications read: the listed `ids`, or `all`."""
        actor = current_actor()
        marked = rules.mark_read(db.session, actor, ids=body["ids"], everything=body["all"])
        return {"marked": marked, "unread": rules.unread_count(db.session, actor)}


@blp.route("/me/notification-preferences")
class Preferences(MethodView):
    @auth(BEARER)
    @blp.response(200, PreferencesOut)
    def get(self):
        """For each kind, the channels I receive it by (inapp, sms, email, wechat); my e-mail and WeChat."""
        return rules.preferences(db.session, current_actor())

    @auth(BEARER)
    @write()
    @blp.arguments(PreferencesIn)
    @blp.response(200, PreferencesOut)
    def put(self, body):
        """Choose channels per kind (an empty list opts out; security codes cannot be turned off)."""
        return rules.set_preferences(db.session, current_actor(), channels=body["channels"], email=body["email"],
                                     wechat_openid=body["wechat_openid"])


@blp.route("/notification-deliveries")
class FailedDeliveries(MethodView):
    @auth(BEARER)
    @blp.arguments(FailedQuery, location="query", as_kwargs=True)
    @blp.response(200, DeliveryPage)
    def get(self, dead=False, **page):
        """Admins: failed and dead deliveries of people in scope, newest first (`dead=true`: dead only)."""
        stmt = delivery.failed_stmt(current_actor(), dead_only=dead)
        return paginate_by_id(db.session, stmt, NotificationDelivery.id, page, descending=True)


@blp.route("/notification-deliveries/<int:delivery_id>/resend")
class Resend(MethodView):
    @auth(BEARER)
    @write()
    @blp.response(200, NotificationDeliveryOut)
    def post(self, delivery_id):
        """Admins: send a dead delivery again, with a fresh attempt budget."""
        return delivery.resend(db.session, current_actor(), delivery_id)


@blp.route("/codes")
class CodeRequest(MethodView):
    @write()
    @blp.doc(security=[])
    @blp.alt_response(429, response="TOO_MANY_REQUESTS")  # too_many_codes, with Retry-After
    @blp.arguments(CodeRequestIn)
    @blp.response(202, CodeSentOut)
    def post(self, body):
        """Send a one-time code by SMS (sign-up, password reset, ...): at most one a minute per phone, five a
        minute per address (429 too_many_codes with Retry-After)."""
        login_limits.for_address(redis_ext.connection, utcnow(), request.remote_addr).code_requested()
        row = codes.send_code(db.session, body["phone"], body["purpose"])
        return {"sent": True, "expires_in": int((row.expires_at - row.created_at).total_seconds())}


@blp.route("/codes/verify")
class CodeVerify(MethodView):
    @blp.doc(security=[])
    @blp.arguments(CodeVerifyIn)
    @blp.response(200, CodeVerifiedOut)
    def post(self, body):
        """Check a one-time code. A wrong code counts against its tries even though the answer is an error."""
        check = codes.check_code(db.session, body["phone"], body["purpose"], body["code"])
        uow.commit()
        if not check.ok:
            raise check.refusal
        return {"verified": True}
