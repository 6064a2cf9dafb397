"""Schemas for service hours: needs, tasks, claims, attendance, verification, complaints, ratings, views."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from timebank.api.schemas import QuerySchema, Schema
from timebank.hours.escalation import overdue_kind
from timebank.hours.models import (
    AttendanceSource,
    AttendanceStatus,
    ClaimStatus,
    ComplaintStatus,
    Decision,
    Eligibility,
    NeedKind,
    NeedStatus,
    TaskScope,
    TaskStatus,
)

AwareDateTime = ma.fields.AwareDateTime


class NeedIn(Schema):
    kind = ma.fields.Enum(NeedKind, load_default=NeedKind.request)
    org_id = ma.fields.Integer(required=True, metadata={"description": "The grid or community."})
    title = ma.fields.String(required=True, validate=validate.Length(min=1, max=120))
    description = ma.fields.String(load_default="", validate=validate.Length(max=4000))
    category = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))
    wanted_by = ma.fields.Date(load_default=None, allow_none=True)
    requester_id = ma.fields.Integer(load_default=None, allow_none=True,
                                     metadata={"description": "The resident, when a grid worker posts for them."})


class NeedOut(Schema):
    id = ma.fields.Integer()
    kind = ma.fields.Enum(NeedKind)
    org_id = ma.fields.Integer()
    community_id = ma.fields.Integer()
    requester_id = ma.fields.Integer()
    entered_by_id = ma.fields.Integer()
    title = ma.fields.String()
    description = ma.fields.String()
    category = ma.fields.String(allow_none=True)
    wanted_by = ma.fields.Date(allow_none=True)
    status = ma.fields.Enum(NeedStatus)
    reject_reason = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()
    fulfilled_at = ma.fields.DateTime(allow_none=True)
    # deadlines and escalation
    respond_by = ma.fields.DateTime(allow_none=True)
    fulfil_by = ma.fields.DateTime(allow_none=True)
    responded_at = ma.fields.DateTime(allow_none=True)
    overdue = ma.fields.Method("_overdue", allow_none=True,
                               metadata={"description": "respond / fulfil when overdue now, else null"})
    handling_org_id = ma.fields.Integer()
    escalation_level = ma.fields.Integer()
    escalated_at = ma.fields.DateTime(allow_none=True)

    def _overdue(self, need) -> str | None:
        return overdue_kind(need)


class NeedQuery(QuerySchema):
    status = ma.fields.Enum(NeedStatus, load_default=None)
    community_id = ma.fields.Integer(load_default=None)
    overdue = ma.fields.Boolean(load_default=False, metadata={"description": "Only needs overdue now."})
    escalated_to_me = ma.fields.Boolean(load_default=False,
                                        metadata={"description": "Only needs escalated to an org where I work."})


class NeedRejectIn(Schema):
    reason = ma.fields.String(required=True, validate=validate.Length(min=1, max=500))


class NeedCloseIn(Schema):
    reason = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500),
                              metadata={"description": "Required when an admin closes a resident's need."})


class NeedRatingIn(Schema):
    stars = ma.fields.Integer(required=True, validate=validate.Range(min=1, max=5))
    comment = ma.fields.String(load_default="", validate=validate.Length(max=500))


class NeedRatingOut(Schema):
    id = ma.fields.Integer()
    need_id = ma.fields.Integer()
    stars = ma.fields.Integer()
    comment = ma.fields.String()
    created_at = ma.fields.DateTime()


class TaskIn(Schema):
    org_id = ma.fields.Integer(required=True, metadata={"description": "The community or one of its grids."})
    need_id = ma.fields.Integer(load_default=None, allow_none=True)
    title = ma.fields.String(required=True, validate=validate.Length(min=1, max=120))
    description = ma.fields.String(load_default="", validate=validate.Length(max=4000))
    category = ma.fields.String(required=True, validate=validate.Length(min=1, max=40))
    scope = ma.fields.Enum(TaskScope, load_default=TaskScope.individual)
    place = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    starts_at = AwareDateTime(required=True)
    ends_at = AwareDateTime(required=True)
    slots = ma.fields.Integer(required=True, validate=validate.Range(min=1, max=10_000))
    points_per_hour = ma.fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0))
    points_cap = ma.fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0))
    eligibility = ma.fields.Enum(Eligibility, load_default=Eligibility.anyone)
    eligible_branch_id = ma.fields.Integer(load_default=None, allow_none=True)
    eligible_employer_id = ma.fields.Integer(load_default=None, allow_none=True)


class TaskEditIn(Schema):
    """What an admin may change; the domain checks each value as at publish (one place)."""

    title = ma.fields.String()
    description = ma.fields.String()
    place = ma.fields.String()
    starts_at = AwareDateTime()
    ends_at = AwareDateTime()
    slots = ma.fields.Integer(strict=True)


class TaskCancelIn(Schema):
    reason = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500),
                              metadata={"description": "Told to the claimants."})


class TaskOut(Schema):
    id = ma.fields.Integer()
    community_id = ma.fields.Integer()
    org_id = ma.fields.Integer()
    need_id = ma.fields.Integer(allow_none=True)
    title = ma.fields.String()
    description = ma.fields.String()
    category = ma.fields.String()
    scope = ma.fields.Enum(TaskScope)
    place = ma.fields.String()
    starts_at = ma.fields.DateTime()
    ends_at = ma.fields.DateTime()
    slots = ma.fields.Integer()
    claimed = ma.fields.Integer()
    points_per_hour = ma.fields.Integer()
    points_cap = ma.fields.Integer(allow_none=True)
    eligibility = ma.fields.Enum(Eligibility)
    eligible_branch_id = ma.fields.Integer(allow_none=True)
    eligible_employer_id = ma.fields.Integer(allow_none=True)
    status = ma.fields.Enum(TaskStatus)


class TaskQuery(QuerySchema):
    community_id = ma.fields.Integer(load_default=None)
    category = ma.fields.String(load_default=None)
    starts_after = AwareDateTime(load_default=None)
    starts_before = AwareDateTime(load_default=None)


class CheckinTokenOut(Schema):
    token = ma.fields.String()
    url = ma.fields.String(metadata={"description": "What the site's QR code encodes."})
    task_id = ma.fields.Integer()
    expires_at = ma.fields.DateTime()
    refresh_after_seconds = ma.fields.Integer()


class ClaimOut(Schema):
    id = ma.fields.Integer()
    task_id = ma.fields.Integer()
    person_id = ma.fields.Integer()
    status = ma.fields.Enum(ClaimStatus)
    created_at = ma.fields.DateTime()
    withdrawn_at = ma.fields.DateTime(allow_none=True)
    no_show_at = ma.fields.DateTime(allow_none=True)


class ClaimQuery(QuerySchema):
    status = ma.fields.Enum(ClaimStatus, load_default=None)


class CheckTokenIn(Schema):
    token = ma.fields.String(required=True, validate=validate.Length(min=1, max=500))


class AttendanceConfirmIn(Schema):
    claim_id = ma.fields.Integer(required=True)
    checked_in_at = AwareDateTime(required=True)
    checked_out_at = AwareDateTime(required=True)


class LateEntryIn(AttendanceConfirmIn):
    reason = ma.fields.String(required=True, validate=validate.Length(min=1, max=500))


class AttendanceOut(Schema):
    id = ma.fields.Integer()
    claim_id = ma.fields.Integer()
    task_id = ma.fields.Integer()
    person_id = ma.fields.Integer()
    community_id = ma.fields.Integer()
    checked_in_at = ma.fields.DateTime()
    checked_out_at = ma.fields.DateTime(allow_none=True)
    minutes = ma.fields.Integer(allow_none=True)
    source = ma.fields.Enum(AttendanceSource)
    reason = ma.fields.String(allow_none=True)
    status = ma.fields.Enum(AttendanceStatus)


class VerifyIn(Schema):
    decision = ma.fields.Enum(Decision, required=True)
    minutes = ma.fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1),
                                metadata={"description": "Accept fewer minutes than attended (trim)."})
    reason = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class VerifyItemIn(VerifyIn):
    attendance_id = ma.fields.Integer(required=True)


class VerifyBulkIn(Schema):
    items = ma.fields.List(ma.fields.Nested(VerifyItemIn), required=True, validate=validate.Length(min=1, max=500))


class VerificationOut(Schema):
    id = ma.fields.Integer()
    attendance_id = ma.fields.Integer()
    decision = ma.fields.Enum(Decision)
    minutes_attended = ma.fields.Integer()
    minutes_accepted = ma.fields.Integer()
    points = ma.fields.Integer()
    category = ma.fields.String()
    reason = ma.fields.String(allow_none=True)
    decided_by_id = ma.fields.Integer()
    decided_at = ma.fields.DateTime()
    credited_at = ma.fields.DateTime(allow_none=True)
    reversed_at = ma.fields.DateTime(allow_none=True)


class VerificationListOut(Schema):
    items = ma.fields.List(ma.fields.Nested(VerificationOut))


class ComplaintIn(Schema):
    text = ma.fields.String(required=True, validate=validate.Length(min=1, max=1000))


class ComplaintDecisionIn(Schema):
    uphold = ma.fields.Boolean(required=True)
    reason = ma.fields.String(required=True, validate=validate.Length(min=1, max=500))


class ComplaintOut(Schema):
    id = ma.fields.Integer()
    attendance_id = ma.fields.Integer()
    filed_by_id = ma.fields.Integer()
    text = ma.fields.String()
    status = ma.fields.Enum(ComplaintStatus)
    decided_by_id = ma.fields.Integer(allow_none=True)
    decided_at = ma.fields.DateTime(allow_none=True)
    decision_reason = ma.fields.String(allow_none=True)


class HoursQuery(QuerySchema):
    year = ma.fields.Integer(load_default=None, validate=validate.Range(min=2000, max=2100))


class HoursCell(Schema):
    month = ma.fields.String()
    category = ma.fields.String()
    minutes = ma.fields.Integer()
    points = ma.fields.Integer()


class HoursOut(Schema):
    items = ma.fields.List(ma.fields.Nested(HoursCell))
    total_minutes = ma.fields.Integer()
    total_points = ma.fields.Integer()


class HoursBalanceOut(Schema):
    posted = ma.fields.Integer()
    pending = ma.fields.Integer()
    available = ma.fields.Integer()


class HoursBalancesOut(Schema):
    minutes = ma.fields.Nested(HoursBalanceOut)
    points = ma.fields.Nested(HoursBalanceOut)
    points_owed = ma.fields.Integer(metadata={"description": "Points still owed after an upheld complaint; repaid "
                                                             "first from the next points credited"})


class HonourQuery(QuerySchema):
    period = ma.fields.String(required=True, metadata={"description": "YYYY, YYYY-H1, YYYY-Q3 or YYYY-MM"})
    limit = ma.fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class HonourRow(Schema):
    rank = ma.fields.Integer()
    person_id = ma.fields.Integer()
    name = ma.fields.String()
    minutes = ma.fields.Integer()
    points = ma.fields.Integer()
    services = ma.fields.Integer()


class HonourOut(Schema):
    community_id = ma.fields.Integer()
    period = ma.fields.String()
    items = ma.fields.List(ma.fields.Nested(HonourRow))
