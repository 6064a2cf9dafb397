"""Schemas for the foundation resources: tokens, orgs, people, roles, employers, merchants, audit."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from timebank.api.schemas import QuerySchema, Schema
from timebank.people import persons as people
from timebank.people.models import MerchantStatus, OrgKind, PartyMemberStatus, Role

PHONE = validate.Regexp(r"^1\d{10}$", error="手机号须为以 1 开头的 11 位数字。")


class Phone(ma.fields.String):
    """A mainland mobile number, accepted as people type it (spaces, dashes, +86) and kept as 11 digits."""

    def _deserialize(self, value, attr, data, **kwargs):
        return people.normalise_phone(super()._deserialize(value, attr, data, **kwargs))
CREDIT_CODE = validate.Length(equal=18)


class TokenRequest(Schema):
    phone = Phone(required=True, validate=PHONE)
    password = ma.fields.String(required=True, validate=validate.Length(min=1, max=200), load_only=True)


class PasswordChangeIn(Schema):
    current_password = ma.fields.String(required=True, validate=validate.Length(min=1, max=200), load_only=True)
    new_password = ma.fields.String(required=True, validate=validate.Length(min=1, max=200), load_only=True)


class DeactivationIn(Schema):
    reason = ma.fields.String(load_default=None, validate=validate.Length(max=200))


class TokenResponse(Schema):
    access_token = ma.fields.String()
    token_type = ma.fields.String()
    expires_in = ma.fields.Integer()
    person_id = ma.fields.Integer()


class OrgIn(Schema):
    kind = ma.fields.Enum(OrgKind, required=True)
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=120))
    parent_id = ma.fields.Integer(load_default=None, allow_none=True)
    settings = ma.fields.Dict(load_default=dict)


class OrgOut(Schema):
    id = ma.fields.Integer()
    kind = ma.fields.Enum(OrgKind)
    name = ma.fields.String()
    parent_id = ma.fields.Integer(allow_none=True)
    path = ma.fields.String()
    settings = ma.fields.Dict()


class OrgQuery(QuerySchema):
    kind = ma.fields.Enum(OrgKind, load_default=None)
    parent_id = ma.fields.Integer(load_default=None)


class BranchIn(Schema):
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=120))
    org_id = ma.fields.Integer(required=True)


class BranchOut(Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    org_id = ma.fields.Integer()


class GrantOut(Schema):
    role = ma.fields.Enum(Role)
    org_id = ma.fields.Integer(allow_none=True)
    merchant_id = ma.fields.Integer(allow_none=True)
    employer_id = ma.fields.Integer(allow_none=True)


class PartyMemberOut(Schema):
    status = ma.fields.Enum(PartyMemberStatus)
    employer_id = ma.fields.Integer(allow_none=True)
    branch_id = ma.fields.Integer(allow_none=True)


class PersonIn(Schema):
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=60))
    phone = Phone(required=True, validate=PHONE)
    password = ma.fields.String(load_default=None, validate=validate.Length(min=8, max=200), load_only=True)
    home_org_id = ma.fields.Integer(required=True)
    id_number = ma.fields.String(load_default=None, validate=validate.Regexp(r"^\d{17}[\dXx]$"), load_only=True)


class PersonOut(Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    volunteer_no = ma.fields.String(allow_none=True)  # 志愿者编号, shown instead of any ID number
    phone = ma.fields.String()
    home_org_id = ma.fields.Integer(allow_none=True)
    is_active = ma.fields.Boolean()
    party_member = ma.fields.Nested(PartyMemberOut, allow_none=True)
    grants = ma.fields.List(ma.fields.Nested(GrantOut))


class PersonQuery(QuerySchema):
    org_id = ma.fields.Integer(required=True)


class GrantIn(Schema):
    role = ma.fields.Enum(Role, required=True)
    org_id = ma.fields.Integer(load_default=None)
    merchant_id = ma.fields.Integer(load_default=None)
    employer_id = ma.fields.Integer(load_default=None)


class PartyMemberIn(Schema):
    status = ma.fields.Enum(PartyMemberStatus, required=True)
    employer_id = ma.fields.Integer(load_default=None, allow_none=True)
    branch_id = ma.fields.Integer(load_default=None, allow_none=True)


class EmployerIn(Schema):
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=120))
    credit_code = ma.fields.String(required=True, validate=CREDIT_CODE)
    org_id = ma.fields.Integer(required=True)
    contact_name = ma.fields.String(load_default=None, validate=validate.Length(max=60))
    contact_email = ma.fields.Email(load_default=None)


class EmployerOut(Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    credit_code = ma.fields.String()
    org_id = ma.fields.Integer()
    contact_name = ma.fields.String(allow_none=True)
    contact_email = ma.fields.String(allow_none=True)


class EmployerMemberOut(Schema):
    person_id = ma.fields.Integer()
    name = ma.fields.String()
    phone_masked = ma.fields.String()
    status = ma.fields.Enum(PartyMemberStatus)
    home_org_id = ma.fields.Integer(allow_none=True)


class MerchantIn(Schema):
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=120))
    credit_code = ma.fields.String(required=True, validate=CREDIT_CODE)
    org_id = ma.fields.Integer(required=True)
    contact_name = ma.fields.String(load_default=None, validate=validate.Length(max=60))
    contact_phone = Phone(load_default=None, validate=PHONE)


class MerchantOut(Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    credit_code = ma.fields.String()
    org_id = ma.fields.Integer()
    status = ma.fields.Enum(MerchantStatus)
    contact_name = ma.fields.String(allow_none=True)


class MerchantStatusIn(Schema):
    status = ma.fields.Enum(MerchantStatus, required=True)


class ApiKeyIn(Schema):
    label = ma.fields.String(load_default=None, validate=validate.Length(max=60))


class ApiKeyOut(Schema):
    id = ma.fields.Integer()
    prefix = ma.fields.String()
    label = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()
    revoked_at = ma.fields.DateTime(allow_none=True)
    api_key = ma.fields.String(metadata={"description": "Only in the response that issued it; only its hash is "
                                                        "kept."})


class AuditOut(Schema):
    id = ma.fields.Integer()
    at = ma.fields.DateTime()
    actor = ma.fields.String()
    action = ma.fields.String()
    entity = ma.fields.String()
    entity_id = ma.fields.String(allow_none=True)
    before = ma.fields.Dict(allow_none=True)
    after = ma.fields.Dict(allow_none=True)
    request_id = ma.fields.String(allow_none=True)


class AuditQuery(QuerySchema):
    org_id = ma.fields.Integer(required=True)
