"""Schemas for joining: sign-up, the community picker, join requests, password reset, bulk import."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from timebank.api.schemas import QuerySchema, Schema
from timebank.api.schemas.core import PHONE, Phone
from timebank.joining.imports import MODES
from timebank.joining.models import JoinStatus
from timebank.people.models import OrgKind

CODE = validate.Regexp(r"^\d{6}$", error="验证码为 6 位数字。")


class CommunityOut(Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    kind = ma.fields.Enum(OrgKind)
    parent_id = ma.fields.Integer(allow_none=True)


class CommunityTreeOut(Schema):
    items = ma.fields.List(ma.fields.Nested(CommunityOut))


class SignUpIn(Schema):
    phone = Phone(required=True, validate=PHONE)
    code = ma.fields.String(required=True, validate=CODE, load_only=True)
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=60))
    id_number = ma.fields.String(required=True, validate=validate.Length(min=1, max=40), load_only=True)
    community_id = ma.fields.Integer(required=True)
    password = ma.fields.String(required=True, validate=validate.Length(min=1, max=200), load_only=True)


class JoinRequestOut(Schema):
    id = ma.fields.Integer()
    person_id = ma.fields.Integer()
    person_name = ma.fields.Function(lambda r: r.person.name)
    volunteer_no = ma.fields.Function(lambda r: r.person.volunteer_no)
    community_id = ma.fields.Integer()
    community_name = ma.fields.Function(lambda r: r.community.name)
    status = ma.fields.Enum(JoinStatus)
    reason = ma.fields.String(allow_none=True)
    decided_at = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime()


class JoinRequestList(Schema):
    items = ma.fields.List(ma.fields.Nested(JoinRequestOut))


class SignUpOut(Schema):
    person_id = ma.fields.Integer()
    volunteer_no = ma.fields.String()
    join_request = ma.fields.Nested(JoinRequestOut)
    access_token = ma.fields.String()
    token_type = ma.fields.String()
    expires_in = ma.fields.Integer()


class JoinAskIn(Schema):
    community_id = ma.fields.Integer(required=True)


class JoinQuery(QuerySchema):
    org_id = ma.fields.Integer(required=True)
    status = ma.fields.Enum(JoinStatus, load_default=None)


class RefusalIn(Schema):
    reason = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))


class PasswordResetIn(Schema):
    phone = Phone(required=True, validate=PHONE)
    code = ma.fields.String(required=True, validate=CODE, load_only=True)
    new_password = ma.fields.String(required=True, validate=validate.Length(min=1, max=200), load_only=True)


class PasswordResetOut(Schema):
    reset = ma.fields.Boolean()


class ImportFileIn(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    file = ma.fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class ImportPreviewQuery(QuerySchema):
    employer_id = ma.fields.Integer(load_default=None, validate=validate.Range(min=1))


class ImportCommitQuery(ImportPreviewQuery):
    mode = ma.fields.String(required=True, validate=validate.OneOf(MODES))


class RowErrorOut(Schema):
    row = ma.fields.Integer()
    column = ma.fields.String()
    message = ma.fields.String()


class ImportPreviewOut(Schema):
    file_name = ma.fields.String()
    digest = ma.fields.String()
    total = ma.fields.Integer()
    new = ma.fields.Function(lambda p: len(p.new))
    unchanged = ma.fields.Integer()
    error_rows = ma.fields.Integer()
    errors = ma.fields.List(ma.fields.Nested(RowErrorOut), attribute="shown_errors")


class ImportBatchOut(Schema):
    id = ma.fields.Integer()
    file_name = ma.fields.String()
    file_digest = ma.fields.String()
    mode = ma.fields.String()
    total_rows = ma.fields.Integer()
    created = ma.fields.Integer()
    unchanged = ma.fields.Integer()
    refused = ma.fields.Integer()
    created_at = ma.fields.DateTime()


class ImportResultOut(Schema):
    batch = ma.fields.Nested(ImportBatchOut)
    errors = ma.fields.Function(lambda r: RowErrorOut(many=True).dump(r.preview.shown_errors))


class TemplateQuery(QuerySchema):
    format = ma.fields.String(load_default="xlsx", validate=validate.OneOf(("xlsx", "csv")))
