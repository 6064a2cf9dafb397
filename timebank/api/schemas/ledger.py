"""Schemas of the ledger API: balances, history, statements, gifts, adjustments, reconciliation runs."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from timebank.api.schemas import QuerySchema, Schema
from timebank.ledger import Ledger


class LedgerBalanceOut(Schema):
    account_id = ma.fields.Integer(allow_none=True)
    ledger = ma.fields.String()
    debits_posted = ma.fields.Integer()
    credits_posted = ma.fields.Integer()
    debits_pending = ma.fields.Integer()
    credits_pending = ma.fields.Integer()
    available = ma.fields.Integer()
    as_of = ma.fields.AwareDateTime(allow_none=True)


class LedgerLotOut(Schema):
    transfer_id = ma.fields.Integer()
    amount = ma.fields.Integer()
    credited_at = ma.fields.AwareDateTime()
    expires_at = ma.fields.AwareDateTime()


class LedgerBalancesOut(Schema):
    person_id = ma.fields.Integer()
    minutes = ma.fields.Nested(LedgerBalanceOut)
    points = ma.fields.Nested(LedgerBalanceOut)
    points_expiry_months = ma.fields.Integer(allow_none=True)
    points_expiring_soon = ma.fields.List(ma.fields.Nested(LedgerLotOut))
    points_expiring_soon_total = ma.fields.Integer()


class LedgerEntryOut(Schema):
    id = ma.fields.Integer()
    ledger = ma.fields.String()
    code = ma.fields.String()
    phase = ma.fields.String()
    amount = ma.fields.Integer()
    # The entry's effect on this account's posted balance: + credit, - debit, 0 for holds and releases.
    change = ma.fields.Integer()
    debit_account_id = ma.fields.Integer()
    credit_account_id = ma.fields.Integer()
    pending_id = ma.fields.Integer(allow_none=True)
    corrects_id = ma.fields.Integer(allow_none=True)
    timeout_at = ma.fields.AwareDateTime(allow_none=True)
    metadata = ma.fields.Dict(allow_none=True)
    created_at = ma.fields.AwareDateTime()


class LedgerHistoryPage(Schema):
    items = ma.fields.List(ma.fields.Nested(LedgerEntryOut))
    next_cursor = ma.fields.String(allow_none=True)


class LedgerHistoryQuery(QuerySchema):
    ledger = ma.fields.Enum(Ledger, load_default=Ledger.points)
    limit = ma.fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = ma.fields.String(load_default=None)


class LedgerStatementQuery(QuerySchema):
    ledger = ma.fields.Enum(Ledger, load_default=Ledger.points)
    start = ma.fields.AwareDateTime(required=True)
    end = ma.fields.AwareDateTime(required=True)


class LedgerStatementOut(Schema):
    account_id = ma.fields.Integer()
    ledger = ma.fields.String()
    start = ma.fields.AwareDateTime()
    end = ma.fields.AwareDateTime()
    opening = ma.fields.Nested(LedgerBalanceOut)
    closing = ma.fields.Nested(LedgerBalanceOut)
    credits = ma.fields.Integer()
    debits = ma.fields.Integer()
    lines = ma.fields.List(ma.fields.Nested(LedgerEntryOut))
    truncated = ma.fields.Boolean()


class LedgerAsOfQuery(QuerySchema):
    as_of = ma.fields.AwareDateTime(load_default=None)


class GiftIn(Schema):
    amount = ma.fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=10_000_000))
    to_phone = ma.fields.String(load_default=None, validate=validate.Length(max=30),
                                metadata={"description": "The recipient's mobile number (spaces or +86 allowed)."})
    to_person_id = ma.fields.Integer(load_default=None, strict=True,
                                     metadata={"description": "The recipient by id (for admins' tools)."})
    to_community_id = ma.fields.Integer(load_default=None, strict=True)
    note = ma.fields.String(load_default=None, validate=validate.Length(max=200),
                            metadata={"description": "Shown to the recipient with the giver's name."})


class LedgerAdjustmentIn(Schema):
    person_id = ma.fields.Integer(required=True, strict=True)
    ledger = ma.fields.Enum(Ledger, required=True)
    amount = ma.fields.Integer(required=True, strict=True,
                               validate=validate.Range(min=-10_000_000, max=10_000_000))
    reason = ma.fields.String(required=True, validate=validate.Length(min=2, max=500))


class ReconciliationRunOut(Schema):
    id = ma.fields.Integer()
    started_at = ma.fields.AwareDateTime()
    finished_at = ma.fields.AwareDateTime(allow_none=True)
    ok = ma.fields.Boolean()
    triggered_by = ma.fields.String()
    entries_checked = ma.fields.Integer()
    accounts_checked = ma.fields.Integer()
    seals_checked = ma.fields.Integer()
    holds_released = ma.fields.Integer()
    discrepancy_count = ma.fields.Integer()
    discrepancies = ma.fields.List(ma.fields.Dict())
    summary = ma.fields.String(allow_none=True)


class ReconciliationRunPage(Schema):
    items = ma.fields.List(ma.fields.Nested(ReconciliationRunOut))
    next_cursor = ma.fields.String(allow_none=True)


class ReconciliationStarted(Schema):
    job_id = ma.fields.String()
    status = ma.fields.String()
