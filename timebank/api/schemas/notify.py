"""Schemas for notifications: the inbox, preferences, failed deliveries, one-time codes."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from timebank.api.schemas import QuerySchema, Schema
from timebank.api.schemas.core import PHONE
from timebank.notify import templates


class InboxQuery(QuerySchema):
    limit = ma.fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = ma.fields.String(load_default=None)
    unread = ma.fields.Boolean(load_default=False)


class NotificationOut(Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String()
    title = ma.fields.String()
    body = ma.fields.String()
    params = ma.fields.Dict()
    read_at = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime()


class UnreadOut(Schema):
    unread = ma.fields.Integer()


class MarkReadIn(Schema):
    ids = ma.fields.List(ma.fields.Integer(), load_default=None, validate=validate.Length(max=500))
    all = ma.fields.Boolean(load_default=False)


class MarkedOut(Schema):
    marked = ma.fields.Integer()
    unread = ma.fields.Integer()


CHANNEL = validate.OneOf(templates.CHANNELS)


class PreferencesIn(Schema):
    channels = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.List(ma.fields.String(validate=CHANNEL)),
                              load_default=None)
    email = ma.fields.Email(load_default=None, allow_none=True)
    wechat_openid = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(min=6, max=64))


class PreferencesOut(Schema):
    channels = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.List(ma.fields.String()))
    email = ma.fields.String(allow_none=True)
    wechat_openid = ma.fields.Method("masked_openid")
    quiet_hours = ma.fields.String(dump_default="22:00–08:00")

    def masked_openid(self, obj) -> str | None:
        from timebank.notify.channels import mask

        return mask(obj.wechat_openid) if obj.wechat_openid else None


class FailedQuery(QuerySchema):
    limit = ma.fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = ma.fields.String(load_default=None)
    dead = ma.fields.Boolean(load_default=False)


class NotificationDeliveryOut(Schema):
    id = ma.fields.Integer()
    notification_id = ma.fields.Integer(allow_none=True)
    person_id = ma.fields.Integer(allow_none=True)
    kind = ma.fields.String()
    channel = ma.fields.String()
    state = ma.fields.String()
    attempts = ma.fields.Integer()
    resends = ma.fields.Integer()
    next_attempt_at = ma.fields.DateTime()
    last_error = ma.fields.String(allow_none=True)
    sent_at = ma.fields.DateTime(allow_none=True)


class CodeRequestIn(Schema):
    phone = ma.fields.String(required=True, validate=PHONE)
    purpose = ma.fields.String(required=True, validate=validate.OneOf(list(templates.PURPOSES)))


class CodeSentOut(Schema):
    sent = ma.fields.Boolean()
    expires_in = ma.fields.Integer()


class CodeVerifyIn(CodeRequestIn):
    code = ma.fields.String(required=True, validate=validate.Regexp(r"^\d{6}$"))


class CodeVerifiedOut(Schema):
    verified = ma.fields.Boolean()
