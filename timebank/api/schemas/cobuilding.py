"""Schemas for a unit's report-in (单位报到) with its resource list and co-building agreement, contributions and
the community's yearly evaluation (双评议)."""

from __future__ import annotations

from decimal import Decimal

import marshmallow as ma
from marshmallow import validate

from timebank import labels
from timebank.api.schemas import QuerySchema, Schema
from timebank.cobuilding.models import (
    AgreementStatus,
    ContributionKind,
    ResourceKind,
    UnitGrade,
    UnitReportInStatus,
)

MAX_QUANTITY = 1_000_000_000
MAX_YUAN = 100_000_000  # 1 亿元 (an int, so the OpenAPI bound is a number)


def _yuan(value: Decimal) -> None:
    """0 to 1 亿元, to the fen (a plain function: the bounds are written into the OpenAPI document as numbers)."""
    if not 0 <= value <= MAX_YUAN:
        raise ma.ValidationError("金额须在 0 至 1 亿元之间。")
    if value != value.quantize(Decimal("0.01")):
        raise ma.ValidationError("金额最多保留两位小数。")


class UnitResourceIn(Schema):
    kind = ma.fields.Enum(ResourceKind, required=True)
    description = ma.fields.String(required=True, validate=validate.Length(min=1, max=500))
    quantity = ma.fields.Integer(load_default=None, validate=validate.Range(min=0, max=MAX_QUANTITY))
    unit = ma.fields.String(load_default=None, validate=validate.Length(max=20))
    available = ma.fields.Boolean(load_default=True)


class UnitResourcePatch(Schema):
    kind = ma.fields.Enum(ResourceKind)
    description = ma.fields.String(validate=validate.Length(min=1, max=500))
    quantity = ma.fields.Integer(allow_none=True, validate=validate.Range(min=0, max=MAX_QUANTITY))
    unit = ma.fields.String(allow_none=True, validate=validate.Length(max=20))
    available = ma.fields.Boolean()


class UnitResourceOut(Schema):
    id = ma.fields.Integer()
    report_in_id = ma.fields.Integer()
    kind = ma.fields.Enum(ResourceKind)
    description = ma.fields.String()
    quantity = ma.fields.Integer(allow_none=True)
    unit = ma.fields.String(allow_none=True)
    available = ma.fields.Boolean()
    updated_at = ma.fields.DateTime()


class CobuildingAgreementIn(Schema):
    title = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    terms = ma.fields.String(required=True, validate=validate.Length(min=1, max=10_000))
    starts_on = ma.fields.Date(required=True)
    ends_on = ma.fields.Date(required=True)
    signed_on = ma.fields.Date(load_default=None)


class CobuildingAgreementOut(Schema):
    id = ma.fields.Integer()
    title = ma.fields.String()
    terms = ma.fields.String()
    starts_on = ma.fields.Date()
    ends_on = ma.fields.Date()
    signed_on = ma.fields.Date(allow_none=True)
    status = ma.fields.Enum(AgreementStatus)


class UnitReportInIn(Schema):
    employer_id = ma.fields.Integer(load_default=None, metadata={
        "description": "the unit; may be left out by a contact of one unit only"})
    community_id = ma.fields.Integer(required=True)
    party_org_name = ma.fields.String(required=True, validate=validate.Length(min=1, max=120))
    contact_name = ma.fields.String(required=True, validate=validate.Length(min=1, max=60))
    contact_phone = ma.fields.String(required=True, validate=validate.Regexp(r"^[0-9+\- ]{5,20}$"))
    note = ma.fields.String(load_default=None, validate=validate.Length(max=500))
    reported_on = ma.fields.Date(load_default=None)
    resources = ma.fields.List(ma.fields.Nested(UnitResourceIn), required=True, validate=validate.Length(min=1, max=30))
    agreement = ma.fields.Nested(CobuildingAgreementIn, required=True)


class UnitReportInOut(Schema):
    id = ma.fields.Integer()
    employer_id = ma.fields.Integer()
    employer_name = ma.fields.String(attribute="employer.name")
    community_id = ma.fields.Integer()
    community_name = ma.fields.String(attribute="community.name")
    status = ma.fields.Enum(UnitReportInStatus)
    party_org_name = ma.fields.String()
    contact_name = ma.fields.String()
    contact_phone = ma.fields.String()
    note = ma.fields.String(allow_none=True)
    reported_on = ma.fields.Date()
    expires_on = ma.fields.Date()
    decided_at = ma.fields.DateTime(allow_none=True)
    reason = ma.fields.String(allow_none=True)
    renewed_at = ma.fields.DateTime(allow_none=True)
    resources = ma.fields.List(ma.fields.Nested(UnitResourceOut))
    agreement = ma.fields.Nested(CobuildingAgreementOut, allow_none=True)


class UnitReportInQuery(QuerySchema):
    community_id = ma.fields.Integer(load_default=None)
    employer_id = ma.fields.Integer(load_default=None)
    status = ma.fields.Enum(UnitReportInStatus, load_default=None)


class UnitRejectIn(Schema):
    reason = ma.fields.String(required=True, validate=validate.Length(min=1, max=500))


class UnitRenewalIn(Schema):
    agreement_ends_on = ma.fields.Date(load_default=None)


class ContributionIn(Schema):
    kind = ma.fields.Enum(ContributionKind, required=True)
    description = ma.fields.String(required=True, validate=validate.Length(min=1, max=500))
    on_date = ma.fields.Date(required=True)
    amount_yuan = ma.fields.Decimal(load_default=None, validate=_yuan, metadata={
        "minimum": 0, "maximum": MAX_YUAN, "description": "yuan, at most two decimals"})
    quantity = ma.fields.String(load_default=None, validate=validate.Length(max=60))
    resource_id = ma.fields.Integer(load_default=None)


class ContributionOut(Schema):
    id = ma.fields.Integer()
    report_in_id = ma.fields.Integer()
    agreement_id = ma.fields.Integer()
    resource_id = ma.fields.Integer(allow_none=True)
    kind = ma.fields.Enum(ContributionKind)
    description = ma.fields.String()
    amount_fen = ma.fields.Integer(allow_none=True)
    amount_yuan = ma.fields.Function(lambda c: None if c.amount_fen is None else labels.yuan(c.amount_fen)
                                     .replace(",", ""), allow_none=True)
    quantity = ma.fields.String(allow_none=True)
    on_date = ma.fields.Date()
    reverses_id = ma.fields.Integer(allow_none=True)
    reason = ma.fields.String(allow_none=True)
    recorded_at = ma.fields.DateTime()


class ContributionList(Schema):
    items = ma.fields.List(ma.fields.Nested(ContributionOut))
    net_fen = ma.fields.Integer()


class ContributionReversalIn(Schema):
    reason = ma.fields.String(required=True, validate=validate.Length(min=1, max=500))


class UnitScoresIn(Schema):
    service = ma.fields.Integer(required=True, validate=validate.Range(min=1, max=5))
    resources = ma.fields.Integer(required=True, validate=validate.Range(min=1, max=5))
    agreement = ma.fields.Integer(required=True, validate=validate.Range(min=1, max=5))


class UnitEvaluationIn(Schema):
    year = ma.fields.Integer(load_default=None, validate=validate.Range(min=1970, max=2100))
    grade = ma.fields.Enum(UnitGrade, required=True)
    scores = ma.fields.Nested(UnitScoresIn, required=True)
    comment = ma.fields.String(load_default=None, validate=validate.Length(max=2000))


class UnitEvaluationOut(Schema):
    id = ma.fields.Integer()
    report_in_id = ma.fields.Integer()
    employer_id = ma.fields.Integer()
    community_id = ma.fields.Integer()
    year = ma.fields.Integer()
    grade = ma.fields.Enum(UnitGrade)
    grade_label = ma.fields.Function(lambda ev: labels.label(labels.UNIT_GRADES, ev.grade))
    scores = ma.fields.Function(lambda ev: {a: getattr(ev, f"{a}_score") for a in labels.EVALUATION_ASPECTS})
    comment = ma.fields.String(allow_none=True)
    evaluated_at = ma.fields.DateTime()


class UnitEvaluationList(Schema):
    items = ma.fields.List(ma.fields.Nested(UnitEvaluationOut))
