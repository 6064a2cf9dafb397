"""Schemas for need escalation, the needs' figures, and micro-wishes claimed directly."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from timebank.api.schemas import QuerySchema, Schema
from timebank.api.schemas.hours import NeedOut
from timebank.hours.models import WishClaimStatus, WishWay


class EscalateIn(Schema):
    reason = ma.fields.String(required=True, validate=validate.Length(min=1, max=500))
    from_level = ma.fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0, max=10),
                                   metadata={"description": "The escalation level you saw: refused (409) if the need "
                                                            "has moved since."})


class EscalationOut(Schema):
    id = ma.fields.Integer()
    need_id = ma.fields.Integer()
    level = ma.fields.Integer()
    from_org_id = ma.fields.Integer()
    to_org_id = ma.fields.Integer()
    by_id = ma.fields.Integer(allow_none=True, metadata={"description": "null: the scheduled sweep"})
    cause = ma.fields.String(metadata={"description": "manual, respond or fulfil"})
    reason = ma.fields.String()
    created_at = ma.fields.DateTime()


class EscalationList(Schema):
    items = ma.fields.List(ma.fields.Nested(EscalationOut))


class FiguresQuery(QuerySchema):
    start = ma.fields.Date(required=True)
    end = ma.fields.Date(required=True, metadata={"description": "exclusive"})
    by = ma.fields.String(load_default="community", validate=validate.OneOf(["community", "street"]))


class FigureRow(Schema):
    org_id = ma.fields.Integer()
    name = ma.fields.String()
    kind = ma.fields.String()
    posted = ma.fields.Integer()
    responded = ma.fields.Integer()
    median_response_hours = ma.fields.Float(allow_none=True)
    average_response_hours = ma.fields.Float(allow_none=True)
    due = ma.fields.Integer()
    fulfilled_on_time = ma.fields.Integer()
    fulfilment_rate = ma.fields.Float(allow_none=True)
    wishes_fulfilled = ma.fields.Integer(metadata={"description": "micro-wishes fulfilled by a direct claim"})
    people_helped = ma.fields.Integer(metadata={"description": "惠及群众: people those wishes helped"})


class FiguresOut(Schema):
    items = ma.fields.List(ma.fields.Nested(FigureRow))


class OpenWishOut(Schema):
    """An open wish as volunteers and units see it: what is wished, where and by when; not who wished it."""

    id = ma.fields.Integer()
    community_id = ma.fields.Integer()
    org_id = ma.fields.Integer()
    title = ma.fields.String()
    description = ma.fields.String()
    category = ma.fields.String(allow_none=True)
    wanted_by = ma.fields.Date(allow_none=True)
    created_at = ma.fields.DateTime()


class OpenWishesQuery(QuerySchema):
    org_id = ma.fields.Integer(load_default=None,
                               metadata={"description": "Where to look (default: my home community)."})


class WishClaimIn(Schema):
    way = ma.fields.Enum(WishWay, required=True)
    goods_description = ma.fields.String(load_default="", validate=validate.Length(max=500))
    employer_id = ma.fields.Integer(load_default=None, allow_none=True,
                                    metadata={"description": "Claim for this unit (its contacts only)."})


class WishFulfilIn(Schema):
    people_helped = ma.fields.Integer(required=True, validate=validate.Range(min=1, max=10_000))


class WishClaimOut(Schema):
    id = ma.fields.Integer()
    need_id = ma.fields.Integer()
    community_id = ma.fields.Integer()
    person_id = ma.fields.Integer()
    employer_id = ma.fields.Integer(allow_none=True)
    status = ma.fields.Enum(WishClaimStatus)
    way = ma.fields.Enum(WishWay)
    goods_description = ma.fields.String()
    people_helped = ma.fields.Integer(allow_none=True)
    claimed_at = ma.fields.DateTime()
    fulfilled_at = ma.fields.DateTime(allow_none=True)
    confirmed_at = ma.fields.DateTime(allow_none=True)
    withdrawn_at = ma.fields.DateTime(allow_none=True)
    need = ma.fields.Nested(NeedOut)


class WishClaimQuery(QuerySchema):
    employer_id = ma.fields.Integer(load_default=None, metadata={"description": "A unit's claims (its contacts)."})
