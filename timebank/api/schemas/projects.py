"""Schemas for projects (服务项目): making one from needs, claims by organisations, tasks under it, acceptance."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from timebank.api.schemas import QuerySchema, Schema
from timebank.api.schemas.hours import NeedOut, TaskOut
from timebank.cobuilding.models import ResourceKind
from timebank.projects.models import ClaimantKind, ProjectClaimStatus, ProjectStatus, ProjectTier

AwareDateTime = ma.fields.AwareDateTime


class ResourceLineIn(Schema):
    kind = ma.fields.Enum(ResourceKind, required=True)
    description = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))


class ProjectIn(Schema):
    community_id = ma.fields.Integer(required=True)
    title = ma.fields.String(required=True, validate=validate.Length(min=1, max=120))
    tier = ma.fields.Enum(ProjectTier, required=True, metadata={"description": "基础 / 重点 / 精品"})
    goal = ma.fields.String(required=True, validate=validate.Length(min=1, max=2000))
    starts_on = ma.fields.Date(required=True)
    ends_on = ma.fields.Date(required=True)
    budget_minutes = ma.fields.Integer(required=True, validate=validate.Range(min=0, max=10_000_000))
    budget_points = ma.fields.Integer(required=True, validate=validate.Range(min=0, max=10_000_000))
    need_ids = ma.fields.List(ma.fields.Integer(), required=True, validate=validate.Length(min=1, max=50))
    resources = ma.fields.List(ma.fields.Nested(ResourceLineIn), load_default=list,
                               validate=validate.Length(max=20))
    category = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40),
                                metadata={"description": "Default: the needs' most common category."})
    place = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200),
                             metadata={"description": "Default: the community's name."})


class ProjectClaimIn(Schema):
    kind = ma.fields.Enum(ClaimantKind, required=True)
    employer_id = ma.fields.Integer(load_default=None, allow_none=True)
    branch_id = ma.fields.Integer(load_default=None, allow_none=True)
    team_id = ma.fields.Integer(load_default=None, allow_none=True)


class ProjectClaimOut(Schema):
    id = ma.fields.Integer()
    project_id = ma.fields.Integer()
    kind = ma.fields.Enum(ClaimantKind)
    employer_id = ma.fields.Integer(allow_none=True)
    branch_id = ma.fields.Integer(allow_none=True)
    team_id = ma.fields.Integer(allow_none=True)
    claimant = ma.fields.String(metadata={"description": "The organisation's name."})
    person_id = ma.fields.Integer()
    status = ma.fields.Enum(ProjectClaimStatus)
    claimed_at = ma.fields.DateTime()
    withdrawn_at = ma.fields.DateTime(allow_none=True)


class ResourceLineOut(Schema):
    id = ma.fields.Integer()
    kind = ma.fields.Enum(ResourceKind)
    description = ma.fields.String()
    unit_resource_id = ma.fields.Integer(allow_none=True)


class ProgressOut(Schema):
    tasks = ma.fields.Integer()
    needs = ma.fields.Integer()
    minutes = ma.fields.Integer(metadata={"description": "credited on the project's tasks, reversals left out"})
    points = ma.fields.Integer()
    volunteers = ma.fields.Integer()


class ProjectOut(Schema):
    id = ma.fields.Integer()
    community_id = ma.fields.Integer()
    title = ma.fields.String()
    tier = ma.fields.Enum(ProjectTier)
    category = ma.fields.String()
    place = ma.fields.String()
    goal = ma.fields.String()
    starts_on = ma.fields.Date()
    ends_on = ma.fields.Date()
    budget_minutes = ma.fields.Integer()
    budget_points = ma.fields.Integer()
    status = ma.fields.Enum(ProjectStatus)
    created_at = ma.fields.DateTime()
    claimed_at = ma.fields.DateTime(allow_none=True)
    started_at = ma.fields.DateTime(allow_none=True)
    accepted_at = ma.fields.DateTime(allow_none=True)
    satisfaction = ma.fields.Integer(allow_none=True)
    acceptance_note = ma.fields.String(allow_none=True)
    closed_at = ma.fields.DateTime(allow_none=True)
    cancelled_at = ma.fields.DateTime(allow_none=True)
    cancel_reason = ma.fields.String(allow_none=True)
    resources = ma.fields.List(ma.fields.Nested(ResourceLineOut))


class ProjectListItem(ProjectOut):
    claim = ma.fields.Nested(ProjectClaimOut, allow_none=True)
    progress = ma.fields.Nested(ProgressOut)


class ProjectDetailOut(ProjectListItem):
    needs = ma.fields.List(ma.fields.Nested(NeedOut))
    tasks = ma.fields.List(ma.fields.Nested(TaskOut))


class ProjectQuery(QuerySchema):
    org_id = ma.fields.Integer(load_default=None,
                               metadata={"description": "A community, street or district (default: my community)."})
    status = ma.fields.Enum(ProjectStatus, load_default=None)


class ClaimedQuery(QuerySchema):
    employer_id = ma.fields.Integer(load_default=None, metadata={"description": "A unit's projects (its contacts)."})
    team_id = ma.fields.Integer(load_default=None, metadata={"description": "A team's projects (its leader)."})


class ProjectTaskIn(Schema):
    title = ma.fields.String(required=True, validate=validate.Length(min=1, max=120))
    description = ma.fields.String(load_default="", validate=validate.Length(max=4000))
    place = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    org_id = ma.fields.Integer(load_default=None, allow_none=True,
                               metadata={"description": "The community (default) or one of its grids."})
    starts_at = AwareDateTime(required=True)
    ends_at = AwareDateTime(required=True)
    slots = ma.fields.Integer(required=True, validate=validate.Range(min=1, max=10_000))
    points_per_hour = ma.fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0))
    points_cap = ma.fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0))


class AcceptanceIn(Schema):
    satisfaction = ma.fields.Integer(required=True, validate=validate.Range(min=1, max=5),
                                     metadata={"description": "群众满意度, 1–5"})
    note = ma.fields.String(load_default="", validate=validate.Length(max=500))


class CancelIn(Schema):
    reason = ma.fields.String(required=True, validate=validate.Length(min=1, max=500))


class ArrangeIn(Schema):
    unit_resource_id = ma.fields.Integer(required=True, allow_none=True)


class SuggestionOut(Schema):
    resource_id = ma.fields.Integer()
    unit = ma.fields.String()
    community = ma.fields.String()
    description = ma.fields.String()
    quantity = ma.fields.Integer(allow_none=True)
    unit_of_quantity = ma.fields.String(allow_none=True)
    place = ma.fields.String(metadata={"description": "本社区 / 本街道 / 本区"})
    score = ma.fields.Integer()


class LineSuggestionsOut(Schema):
    line = ma.fields.Nested(ResourceLineOut)
    suggestions = ma.fields.List(ma.fields.Nested(SuggestionOut))


class SuggestionsOut(Schema):
    items = ma.fields.List(ma.fields.Nested(LineSuggestionsOut))


class NeedGroupOut(Schema):
    category = ma.fields.String(allow_none=True)
    org_id = ma.fields.Integer()
    place = ma.fields.String()
    need_ids = ma.fields.List(ma.fields.Integer())


class NeedGroupsOut(Schema):
    items = ma.fields.List(ma.fields.Nested(NeedGroupOut))


class NeedGroupsQuery(QuerySchema):
    community_id = ma.fields.Integer(required=True)
