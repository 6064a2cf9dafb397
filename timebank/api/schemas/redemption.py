"""Schemas for merchant profiles, rewards, redemptions, webhook deliveries, settlements, reconciliations."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from timebank.api.pagination import CursorArgs
from timebank.api.schemas import QuerySchema, Schema
from timebank.ops.models import DeliveryStatus
from timebank.redemption.models import (
    LimitPeriod,
    RedemptionOrigin,
    RedemptionStatus,
    ReleaseReason,
    RewardStatus,
    SettlementKind,
)

POSITIVE = validate.Range(min=1)
IDS = ma.fields.List(ma.fields.Integer(validate=POSITIVE), validate=validate.Length(max=500))


def _aware(**kwargs):
    # A time without an offset is read as Asia/Shanghai, the time the people entering it live in.
    from timebank.clock import DISPLAY_TZ

    return ma.fields.AwareDateTime(default_timezone=DISPLAY_TZ, **kwargs)


class MerchantProfileIn(Schema):
    webhook_url = ma.fields.Url(required=True, allow_none=True, require_tld=False, schemes={"http", "https"},
                                validate=validate.Length(max=500))
    community_ids = ma.fields.List(ma.fields.Integer(validate=POSITIVE), required=True,
                                   validate=validate.Length(max=500))


class MerchantProfileOut(Schema):
    merchant_id = ma.fields.Integer()
    webhook_url = ma.fields.String(allow_none=True)
    community_ids = ma.fields.List(ma.fields.Integer())
    has_webhook_secret = ma.fields.Boolean()
    secret_rotated_at = ma.fields.DateTime(allow_none=True)
    webhook_secret = ma.fields.String(metadata={"description": "Only when just created or rotated; shown once."})


class WebhookSecretOut(Schema):
    merchant_id = ma.fields.Integer()
    webhook_secret = ma.fields.String(metadata={"description": "Shown once; sign checks use it from now on."})


class WebhookDeliveryOut(Schema):
    id = ma.fields.Integer()
    event_type = ma.fields.String()
    subject = ma.fields.String(allow_none=True)
    status = ma.fields.Enum(DeliveryStatus)
    attempts = ma.fields.Integer()
    max_attempts = ma.fields.Integer()
    resends = ma.fields.Integer()
    next_attempt_at = ma.fields.DateTime()
    last_status_code = ma.fields.Integer(allow_none=True)
    last_error = ma.fields.String(allow_none=True)
    delivered_at = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime()
    payload = ma.fields.Dict()


class WebhookDeliveryQuery(CursorArgs):
    status = ma.fields.Enum(DeliveryStatus, load_default=None)


class RewardIn(Schema):
    merchant_id = ma.fields.Integer(required=True, validate=POSITIVE)
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=120))
    description = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    points_price = ma.fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=10_000_000))
    stock = ma.fields.Integer(load_default=None, allow_none=True, strict=True,
                              validate=validate.Range(min=0, max=10_000_000),
                              metadata={"description": "null: unlimited"})
    active_from = _aware(load_default=None, allow_none=True)
    active_until = _aware(load_default=None, allow_none=True)
    per_person_limit = ma.fields.Integer(load_default=None, allow_none=True, strict=True,
                                         validate=validate.Range(min=1, max=10_000))
    limit_period = ma.fields.Enum(LimitPeriod, load_default=LimitPeriod.month)
    hold_minutes = ma.fields.Integer(load_default=60 * 24, strict=True, validate=validate.Range(min=1, max=43_200))
    community_ids = ma.fields.List(ma.fields.Integer(validate=POSITIVE), required=True,
                                   validate=validate.Length(min=1, max=500))


class RewardPatch(Schema):
    name = ma.fields.String(validate=validate.Length(min=1, max=120))
    description = ma.fields.String(allow_none=True, validate=validate.Length(max=2000))
    points_price = ma.fields.Integer(strict=True, validate=validate.Range(min=1, max=10_000_000))
    active_from = _aware(allow_none=True)
    active_until = _aware(allow_none=True)
    per_person_limit = ma.fields.Integer(allow_none=True, strict=True, validate=validate.Range(min=1, max=10_000))
    limit_period = ma.fields.Enum(LimitPeriod)
    hold_minutes = ma.fields.Integer(strict=True, validate=validate.Range(min=1, max=43_200))
    status = ma.fields.Enum(RewardStatus)
    stock_delta = ma.fields.Integer(strict=True, validate=validate.Range(min=-10_000_000, max=10_000_000))
    unlimited = ma.fields.Boolean()


class RewardOut(Schema):
    id = ma.fields.Integer()
    merchant_id = ma.fields.Integer()
    name = ma.fields.String()
    description = ma.fields.String(allow_none=True)
    points_price = ma.fields.Integer()
    stock = ma.fields.Integer(allow_none=True)
    active_from = ma.fields.DateTime(allow_none=True)
    active_until = ma.fields.DateTime(allow_none=True)
    per_person_limit = ma.fields.Integer(allow_none=True)
    limit_period = ma.fields.Enum(LimitPeriod)
    hold_minutes = ma.fields.Integer()
    status = ma.fields.Enum(RewardStatus)
    community_ids = ma.fields.List(ma.fields.Integer())


class RewardQuery(CursorArgs):
    merchant_id = ma.fields.Integer(load_default=None, validate=POSITIVE)
    affordable = ma.fields.Boolean(load_default=False)


class RedeemIn(Schema):
    reward_id = ma.fields.Integer(required=True, strict=True, validate=POSITIVE)


class RedemptionOut(Schema):
    id = ma.fields.Integer()
    reward_id = ma.fields.Integer()
    merchant_id = ma.fields.Integer()
    person_id = ma.fields.Integer()
    community_id = ma.fields.Integer()
    points = ma.fields.Integer()
    status = ma.fields.Enum(RedemptionStatus)
    origin = ma.fields.Enum(RedemptionOrigin)
    release_reason = ma.fields.Enum(ReleaseReason, allow_none=True)
    note = ma.fields.String(allow_none=True)
    expires_at = ma.fields.DateTime()
    created_at = ma.fields.DateTime()
    merchant_ack_at = ma.fields.DateTime(allow_none=True)
    captured_at = ma.fields.DateTime(allow_none=True)
    released_at = ma.fields.DateTime(allow_none=True)
    settlement_id = ma.fields.Integer(allow_none=True)
    just_changed = ma.fields.Boolean(metadata={
        "description": "On a state change: false when this call repeated an earlier one (nothing moved)."})


class RedemptionCodeOut(RedemptionOut):
    code = ma.fields.String(metadata={"description": "The one-time pickup code, shown to the volunteer."})
    code_display = ma.fields.String()
    qr_payload = ma.fields.String()


class RedemptionQuery(CursorArgs):
    merchant_id = ma.fields.Integer(load_default=None, validate=POSITIVE)
    org_id = ma.fields.Integer(load_default=None, validate=POSITIVE)
    status = ma.fields.Enum(RedemptionStatus, load_default=None)


class CodeConfirmIn(Schema):
    code = ma.fields.String(required=True, validate=validate.Length(min=1, max=80))


class TillRedeemIn(Schema):
    pay_code = ma.fields.String(required=True, validate=validate.Length(min=1, max=40))
    reward_id = ma.fields.Integer(required=True, strict=True, validate=POSITIVE)


class RedemptionRefuseIn(Schema):
    reason = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class PayCodeOut(Schema):
    code = ma.fields.String()
    code_display = ma.fields.String()
    expires_at = ma.fields.DateTime()


def _period_aliases(_schema, data, **_kwargs):
    """Statement periods are `period_start` / `period_end` everywhere; the older `start` / `end` still work."""
    if not hasattr(data, "keys"):
        return data
    out = dict(data) if not hasattr(data, "to_dict") else data.to_dict()
    for old, new in (("start", "period_start"), ("end", "period_end")):
        if old in out and new not in out:
            out[new] = out.pop(old)
    return out


class MerchantPeriodQuery(QuerySchema):
    period_start = ma.fields.Date(required=True)
    period_end = ma.fields.Date(required=True)
    _aliases = ma.pre_load(_period_aliases)


class MerchantStatementQuery(MerchantPeriodQuery):
    format = ma.fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))


class MerchantStatementItem(Schema):
    redemption_id = ma.fields.Integer()
    reward_id = ma.fields.Integer()
    reward_name = ma.fields.String()
    points = ma.fields.Integer()
    captured_at = ma.fields.String()
    community_id = ma.fields.Integer()
    origin = ma.fields.String()
    settlement_id = ma.fields.Integer(allow_none=True)


class StatementCommunityTotal(Schema):
    community_id = ma.fields.Integer()
    count = ma.fields.Integer()
    points = ma.fields.Integer()


class MerchantStatementTotals(Schema):
    count = ma.fields.Integer()
    points = ma.fields.Integer()
    unsettled_points = ma.fields.Integer()
    by_community = ma.fields.List(ma.fields.Nested(StatementCommunityTotal))


class MerchantStatementOut(Schema):
    merchant_id = ma.fields.Integer()
    merchant_name = ma.fields.String()
    period_start = ma.fields.String()
    period_end = ma.fields.String()
    redemptions = ma.fields.List(ma.fields.Nested(MerchantStatementItem))
    totals = ma.fields.Nested(MerchantStatementTotals)


class MerchantSettlementIn(Schema):
    period_start = ma.fields.Date(required=True)
    period_end = ma.fields.Date(required=True)
    _aliases = ma.pre_load(_period_aliases)
    kind = ma.fields.Enum(SettlementKind, required=True)
    note = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class MerchantSettlementOut(Schema):
    id = ma.fields.Integer()
    merchant_id = ma.fields.Integer()
    period_start = ma.fields.DateTime()
    period_end = ma.fields.DateTime()
    kind = ma.fields.Enum(SettlementKind)
    points = ma.fields.Integer()
    redemption_count = ma.fields.Integer()
    transfer_ids = ma.fields.List(ma.fields.Integer())
    note = ma.fields.String(allow_none=True)
    created_by = ma.fields.String()
    created_at = ma.fields.DateTime()


class MerchantReconciliationOut(Schema):
    id = ma.fields.Integer()
    merchant_id = ma.fields.Integer()
    status = ma.fields.String()
    period_start = ma.fields.DateTime()
    period_end = ma.fields.DateTime()
    uploaded_by = ma.fields.String()
    report = ma.fields.Dict(allow_none=True)
    created_at = ma.fields.DateTime()
    finished_at = ma.fields.DateTime(allow_none=True)

