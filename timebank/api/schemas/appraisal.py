"""Schemas for report-in (双报到), appraisal periods/runs/reports (一信一函) and evaluations (双评议)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from timebank.api.schemas import QuerySchema, Schema
from timebank.appraisal.models import DeliveryChannel, DeliveryStatus, Grade, PeriodKind, ReportInStatus

# --- report-in -------------------------------------------------------------------------------------------


class ReportInIn(Schema):
    community_id = ma.fields.Integer(required=True)
    employer_id = ma.fields.Integer(load_default=None)
    branch_id = ma.fields.Integer(load_default=None)
    reported_on = ma.fields.Date(load_default=None)
    note = ma.fields.String(load_default=None, validate=validate.Length(max=500))


class ReportInOut(Schema):
    id = ma.fields.Integer()
    party_member_id = ma.fields.Integer()
    community_id = ma.fields.Integer()
    employer_id = ma.fields.Integer()
    branch_id = ma.fields.Integer(allow_none=True)
    reported_on = ma.fields.Date()
    expires_on = ma.fields.Date()
    status = ma.fields.Enum(ReportInStatus)
    note = ma.fields.String(allow_none=True)
    reject_reason = ma.fields.String(allow_none=True)
    decided_at = ma.fields.DateTime(allow_none=True)
    renewed_at = ma.fields.DateTime(allow_none=True)
    moved_to_id = ma.fields.Integer(allow_none=True)


class ReportInList(Schema):
    items = ma.fields.List(ma.fields.Nested(ReportInOut))


class ReportInQuery(QuerySchema):
    community_id = ma.fields.Integer(required=True)
    status = ma.fields.Enum(ReportInStatus, load_default=None)


class RejectIn(Schema):
    reason = ma.fields.String(required=True, validate=validate.Length(min=1, max=500))


class MoveIn(Schema):
    community_id = ma.fields.Integer(required=True)
    note = ma.fields.String(load_default=None, validate=validate.Length(max=500))


class RosterLineOut(Schema):
    party_member_id = ma.fields.Integer()
    name = ma.fields.String()
    phone_masked = ma.fields.String()
    branch = ma.fields.String(allow_none=True)
    status = ma.fields.String(metadata={"description": "pending / accepted / expired, or not_reported"})
    report_in_id = ma.fields.Integer(allow_none=True)
    community_id = ma.fields.Integer(allow_none=True)
    community = ma.fields.String(allow_none=True)
    reported_on = ma.fields.Date(allow_none=True)
    expires_on = ma.fields.Date(allow_none=True)


class RosterOut(Schema):
    employer_id = ma.fields.Integer()
    total = ma.fields.Integer()
    reported = ma.fields.Integer()
    not_reported = ma.fields.Integer()
    items = ma.fields.List(ma.fields.Nested(RosterLineOut))


# --- periods and runs -------------------------------------------------------------------------------------


class PeriodIn(Schema):
    district_id = ma.fields.Integer(required=True)
    kind = ma.fields.Enum(PeriodKind, required=True)
    year = ma.fields.Integer(required=True, validate=validate.Range(min=2000, max=2100))
    number = ma.fields.Integer(load_default=1, validate=validate.Range(min=1, max=4),
                               metadata={"description": "quarter 1-4 or half 1-2; ignored for a year"})


class PeriodOut(Schema):
    id = ma.fields.Integer()
    district_id = ma.fields.Integer()
    kind = ma.fields.Enum(PeriodKind)
    starts_on = ma.fields.Date()
    ends_on = ma.fields.Date()
    label = ma.fields.String()


class PeriodQuery(QuerySchema):
    district_id = ma.fields.Integer(required=True)


class PeriodList(Schema):
    items = ma.fields.List(ma.fields.Nested(PeriodOut))


class RunIn(Schema):
    period_id = ma.fields.Integer(required=True)


class RunOut(Schema):
    id = ma.fields.Integer()
    period_id = ma.fields.Integer()
    period_label = ma.fields.String()
    status = ma.fields.String()
    trigger = ma.fields.String()
    total = ma.fields.Integer()
    done = ma.fields.Integer()
    errors = ma.fields.Integer()
    pending = ma.fields.Integer()
    reports_total = ma.fields.Integer()
    reports_rendered = ma.fields.Integer()
    weights = ma.fields.Dict()
    created_at = ma.fields.DateTime()
    finished_at = ma.fields.DateTime(allow_none=True)


class EntryErrorOut(Schema):
    entry_id = ma.fields.Integer()
    party_member_id = ma.fields.Integer()
    report_id = ma.fields.Integer()
    error = ma.fields.String()


class RunErrorsOut(Schema):
    items = ma.fields.List(ma.fields.Nested(EntryErrorOut))


# --- reports, delivery, evaluation ------------------------------------------------------------------------


class DeliveryOut(Schema):
    id = ma.fields.Integer()
    channel = ma.fields.Enum(DeliveryChannel)
    target = ma.fields.String(allow_none=True)
    status = ma.fields.Enum(DeliveryStatus)
    attempts = ma.fields.Integer()
    last_error = ma.fields.String(allow_none=True)
    sent_at = ma.fields.DateTime(allow_none=True)
    link_expires_at = ma.fields.DateTime(allow_none=True)


class ReportOut(Schema):
    id = ma.fields.Integer()
    run_id = ma.fields.Integer()
    employer_id = ma.fields.Integer()
    employer_name = ma.fields.String()
    period_label = ma.fields.String()
    status = ma.fields.String()
    verification_code = ma.fields.String()
    member_count = ma.fields.Integer()
    pdf_sha256 = ma.fields.String(allow_none=True)
    rendered_at = ma.fields.DateTime(allow_none=True)
    acknowledged_at = ma.fields.DateTime(allow_none=True)
    error = ma.fields.String(allow_none=True)
    deliveries = ma.fields.List(ma.fields.Nested(DeliveryOut))


class ReportQuery(QuerySchema):
    run_id = ma.fields.Integer(load_default=None)
    employer_id = ma.fields.Integer(load_default=None)


class ReportList(Schema):
    items = ma.fields.List(ma.fields.Nested(ReportOut))


class ReportFormat(QuerySchema):
    format = ma.fields.String(load_default="json", validate=validate.OneOf(["json", "csv", "pdf"]))


class PortalFormat(QuerySchema):
    format = ma.fields.String(load_default="pdf", validate=validate.OneOf(["json", "csv", "pdf"]))


class DeliveryProfileIn(Schema):
    channel = ma.fields.Enum(DeliveryChannel, required=True)
    email = ma.fields.Email(load_default=None)
    webhook_url = ma.fields.Url(load_default=None, schemes={"http", "https"}, require_tld=False)
    webhook_secret = ma.fields.String(load_default=None, validate=validate.Length(min=16, max=120),
                                      load_only=True)


class DeliveryProfileOut(Schema):
    employer_id = ma.fields.Integer()
    channel = ma.fields.Enum(DeliveryChannel)
    email = ma.fields.String(allow_none=True)
    webhook_url = ma.fields.String(allow_none=True)


class ResendIn(Schema):
    channel = ma.fields.Enum(DeliveryChannel, load_default=None)


class PortalLinkOut(Schema):
    delivery_id = ma.fields.Integer()
    url = ma.fields.String()
    expires_at = ma.fields.DateTime()


class EvaluationItemIn(Schema):
    entry_id = ma.fields.Integer(required=True)
    grade = ma.fields.Enum(Grade, required=True)
    comment = ma.fields.String(load_default="", validate=validate.Length(max=1000))


class EvaluationIn(Schema):
    items = ma.fields.List(ma.fields.Nested(EvaluationItemIn), required=True,
                           validate=validate.Length(min=1, max=2000))


class EvaluationOut(Schema):
    entry_id = ma.fields.Integer()
    party_member_id = ma.fields.Integer()
    name = ma.fields.String()
    grade = ma.fields.Enum(Grade)
    grade_label = ma.fields.String()
    comment = ma.fields.String()
    evaluated_by = ma.fields.String()
    updated_at = ma.fields.DateTime()


class EvaluationList(Schema):
    report_id = ma.fields.Integer()
    acknowledged_at = ma.fields.DateTime(allow_none=True)
    items = ma.fields.List(ma.fields.Nested(EvaluationOut))


class VerifyOut(Schema):
    genuine = ma.fields.Boolean()
    code = ma.fields.String()
    issuer = ma.fields.String(allow_none=True)
    employer = ma.fields.String(allow_none=True)
    period = ma.fields.String(allow_none=True)
    member_count = ma.fields.Integer(allow_none=True)
    issued_at = ma.fields.DateTime(allow_none=True)
    pdf_sha256 = ma.fields.String(allow_none=True)
