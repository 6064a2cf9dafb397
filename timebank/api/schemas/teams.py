"""Schemas for volunteer teams (志愿服务队): teams, members, team claims, team hours and the team honour board."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from timebank import labels
from timebank.api.schemas import QuerySchema, Schema
from timebank.teams.models import MemberRole, MemberStatus, TeamClaimStatus, TeamKind, TeamStatus

PROFESSION = validate.OneOf(list(labels.PROFESSIONS))


class TeamIn(Schema):
    community_id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=60))
    kind = ma.fields.Enum(TeamKind, load_default=TeamKind.general)
    profession = ma.fields.String(load_default=None, allow_none=True, validate=PROFESSION,
                                  metadata={"description": "Required for a professional team: one of "
                                            + ", ".join(labels.PROFESSIONS)})
    leader_id = ma.fields.Integer(required=True)
    description = ma.fields.String(load_default="", validate=validate.Length(max=2000))
    employer_id = ma.fields.Integer(load_default=None, allow_none=True,
                                    metadata={"description": "Set for a unit's own team."})


class TeamEditIn(Schema):
    name = ma.fields.String(validate=validate.Length(min=1, max=60))
    description = ma.fields.String(validate=validate.Length(max=2000))
    leader_id = ma.fields.Integer()


class TeamOut(Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    kind = ma.fields.Enum(TeamKind)
    profession = ma.fields.String(allow_none=True)
    community_id = ma.fields.Integer(attribute="org_id")
    employer_id = ma.fields.Integer(allow_none=True)
    leader_id = ma.fields.Integer()
    leader_name = ma.fields.Function(lambda t: t.leader.name)
    description = ma.fields.String()
    status = ma.fields.Enum(TeamStatus)
    created_at = ma.fields.DateTime()


class TeamQuery(QuerySchema):
    community_id = ma.fields.Integer(load_default=None)
    employer_id = ma.fields.Integer(load_default=None)
    kind = ma.fields.Enum(TeamKind, load_default=None)
    profession = ma.fields.String(load_default=None, validate=PROFESSION)
    q = ma.fields.String(load_default=None, validate=validate.Length(max=60))


class ApplyIn(Schema):
    note = ma.fields.String(load_default="", validate=validate.Length(max=200))


class MemberOut(Schema):
    id = ma.fields.Integer()
    team_id = ma.fields.Integer()
    person_id = ma.fields.Integer()
    name = ma.fields.Function(lambda m: m.person.name)
    status = ma.fields.Enum(MemberStatus)
    role = ma.fields.Enum(MemberRole)
    note = ma.fields.String()
    reason = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()
    decided_at = ma.fields.DateTime(allow_none=True)
    joined_at = ma.fields.DateTime(allow_none=True)
    left_at = ma.fields.DateTime(allow_none=True)


class MemberQuery(QuerySchema):
    status = ma.fields.Enum(MemberStatus, load_default=None)


class MyMembershipList(Schema):
    items = ma.fields.List(ma.fields.Nested(MemberOut))


class DecisionIn(Schema):
    approve = ma.fields.Boolean(required=True)
    reason = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500),
                              metadata={"description": "Required for a refusal; the applicant reads it."})


class RemovalIn(Schema):
    reason = ma.fields.String(required=True, validate=validate.Length(min=1, max=500))


class TeamClaimIn(Schema):
    task_id = ma.fields.Integer(required=True)
    person_ids = ma.fields.List(ma.fields.Integer(), required=True, validate=validate.Length(min=1, max=100))


class TeamClaimOut(Schema):
    id = ma.fields.Integer()
    team_id = ma.fields.Integer()
    task_id = ma.fields.Integer()
    size = ma.fields.Integer()
    status = ma.fields.Enum(TeamClaimStatus)
    claimed_by_id = ma.fields.Integer()
    created_at = ma.fields.DateTime()
    withdrawn_at = ma.fields.DateTime(allow_none=True)
    person_ids = ma.fields.List(ma.fields.Integer(), dump_default=None)


class PeriodQuery(QuerySchema):
    period = ma.fields.String(load_default="year", validate=validate.Length(max=10),
                              metadata={"description": "year (default), month, 2025, 2025-H1, 2025-Q3 or 2025-07"})


class BoardQuery(PeriodQuery):
    limit = ma.fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class MemberHoursOut(Schema):
    person_id = ma.fields.Integer()
    name = ma.fields.String()
    role = ma.fields.String()
    minutes = ma.fields.Integer()
    team_task_minutes = ma.fields.Integer()


class TeamHoursOut(Schema):
    team_id = ma.fields.Integer()
    period = ma.fields.String()
    members = ma.fields.Integer()
    all_minutes = ma.fields.Integer(metadata={"description": labels.TEAM_HOURS["all_minutes"]})
    team_task_minutes = ma.fields.Integer(metadata={"description": labels.TEAM_HOURS["team_task_minutes"]})
    items = ma.fields.List(ma.fields.Nested(MemberHoursOut))


class BoardRowOut(Schema):
    rank = ma.fields.Integer()
    team_id = ma.fields.Integer()
    name = ma.fields.String()
    kind = ma.fields.String()
    profession = ma.fields.String(allow_none=True)
    community = ma.fields.String()
    minutes = ma.fields.Integer()
    members = ma.fields.Integer()


class BoardOut(Schema):
    org_id = ma.fields.Integer()
    period = ma.fields.String()
    items = ma.fields.List(ma.fields.Nested(BoardRowOut))
