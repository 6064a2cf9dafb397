"""The ledger over HTTP: balances, history, statements, gifts, admin adjustments, reconciliation runs.

Views are thin: scope checks live in `timebank.accounts.access`, value moves through `timebank.ledger` and
`services.gifts`, and `@write(idempotent=True, require_key=True)` commits once and replays Idempotency-Key.
"""

from __future__ import annotations

from flask.views import MethodView
from sqlalchemy import select

from timebank.accounts import access as ledger_access
from timebank.accounts import balances, gifts
from timebank.api.auth import API_KEY, BEARER, auth, current_actor
from timebank.api.base import Blueprint
from timebank.api.pagination import CursorArgs, decode, encode, paginate_by_id
from timebank.api.schemas.ledger import (
    GiftIn,
    LedgerAdjustmentIn,
    LedgerAsOfQuery,
    LedgerBalanceOut,
    LedgerBalancesOut,
    LedgerEntryOut,
    LedgerHistoryPage,
    LedgerHistoryQuery,
    LedgerStatementOut,
    LedgerStatementQuery,
    ReconciliationRunOut,
    ReconciliationRunPage,
    ReconciliationStarted,
)
from timebank.api.transaction import write
from timebank.errors import InvalidInput, NotFound
from timebank.extensions import db
from timebank.ledger import Ledger, queries
from timebank.ledger.models import Account, ReconciliationRun, Transfer
from timebank.people import persons as people
from timebank.workers.jobs import ledger_maintenance

blp = Blueprint("ledger", __name__, url_prefix="/api", description="Love-bank ledger (爱心银行账本)")


def _balance_out(b: balances.BookBalance) -> dict:
    return {"account_id": b.account_id, "ledger": str(b.ledger), "as_of": b.as_of,
            "debits_posted": b.balance.debits_posted, "credits_posted": b.balance.credits_posted,
            "debits_pending": b.balance.debits_pending, "credits_pending": b.balance.credits_pending,
            "available": b.available}


def _entry_out(t: Transfer, account_id: int, change: int | None = None) -> dict:
    from timebank.ledger import Code

    return {"id": t.id, "ledger": t.ledger, "code": Code(t.code).name, "phase": t.phase, "amount": t.amount,
            "change": queries.signed_amount(t, account_id) if change is None else change,
            "debit_account_id": t.debit_account_id, "credit_account_id": t.credit_account_id,
            "pending_id": t.pending_id, "corrects_id": t.corrects_id,
            "timeout_at": t.timeout_at, "metadata": t.meta, "created_at": t.created_at}


def _balances(person_id: int) -> dict:
    mine = balances.for_person(db.session, person_id)
    soon = balances.expiring_soon(db.session, mine)
    return {
        "person_id": person_id,
        "minutes": _balance_out(mine.minutes),
        "points": _balance_out(mine.points),
        "points_expiry_months": soon.months,
        "points_expiring_soon": [{"transfer_id": lot.transfer_id, "amount": lot.amount,
                                  "credited_at": lot.credited_at, "expires_at": lot.expires_at} for lot in soon.lots],
        "points_expiring_soon_total": soon.total,
    }


def _history(person_id: int, args: dict) -> dict:
    account_id = balances.account_id(db.session, person_id, args["ledger"])
    if account_id is None:
        return {"items": [], "next_cursor": None}
    before = None
    if args.get("cursor"):
        before = decode(args["cursor"])
        if not isinstance(before, int):
            raise InvalidInput("invalid_cursor")
    rows = balances.history(db.session, account_id, limit=args["limit"] + 1, before_id=before)
    more = len(rows) > args["limit"]
    rows = rows[:args["limit"]]
    return {"items": [_entry_out(t, account_id, change) for t, change in rows],
            "next_cursor": encode(rows[-1][0].id) if more and rows else None}


def _statement(person_id: int, args: dict) -> dict:
    if args["end"] <= args["start"]:
        raise InvalidInput("invalid_period", variant="ends_before_start")
    account_id = balances.account_id(db.session, person_id, args["ledger"])
    if account_id is None:
        raise NotFound("account_not_found", variant="person_ledger")
    account = db.session.get(Account, account_id)
    s = queries.statement(db.session, account.id, start=args["start"], end=args["end"])

    def bal(b):
        return {"account_id": account.id, "ledger": account.ledger, "debits_posted": b.debits_posted,
                "credits_posted": b.credits_posted, "debits_pending": b.debits_pending,
                "credits_pending": b.credits_pending, "available": b.available, "as_of": None}

    return {"account_id": account.id, "ledger": account.ledger, "start": s.start, "end": s.end,
            "opening": bal(s.opening), "closing": bal(s.closing), "credits": s.credits, "debits": s.debits,
            "lines": [_entry_out(t, account.id) for t in s.lines], "truncated": s.truncated}


def _me() -> int:
    actor = current_actor()
    if actor.person_id is None:
        from timebank.errors import Forbidden

        raise Forbidden("not_a_person", variant="balance")
    return actor.person_id


@blp.route("/ledger/me")
class MyBalances(MethodView):
    @auth(BEARER)
    @blp.response(200, LedgerBalancesOut)
    def get(self):
        """My service minutes and points, and points expiring within 30 days."""
        return _balances(_me())


@blp.route("/ledger/me/history")
class MyHistory(MethodView):
    @auth(BEARER)
    @blp.arguments(LedgerHistoryQuery, location="query")
    @blp.response(200, LedgerHistoryPage)
    def get(self, args):
        """My entries on one ledger, newest first (cursor pagination)."""
        return _history(_me(), args)


@blp.route("/ledger/me/statement")
class MyStatement(MethodView):
    @auth(BEARER)
    @blp.arguments(LedgerStatementQuery, location="query")
    @blp.response(200, LedgerStatementOut)
    def get(self, args):
        """My statement for a period: opening and closing balances, totals and entries."""
        return _statement(_me(), args)


@blp.route("/ledger/people/<int:person_id>/balances")
class PersonBalances(MethodView):
    @auth(BEARER)
    @blp.response(200, LedgerBalancesOut)
    def get(self, person_id):
        """A person's balances (oneself, or an admin / auditor whose scope covers the person's home)."""
        people.get_visible(db.session, current_actor(), person_id)
        return _balances(person_id)


@blp.route("/ledger/people/<int:person_id>/history")
class PersonHistory(MethodView):
    @auth(BEARER)
    @blp.arguments(LedgerHistoryQuery, location="query")
    @blp.response(200, LedgerHistoryPage)
    def get(self, args, person_id):
        people.get_visible(db.session, current_actor(), person_id)
        return _history(person_id, args)


@blp.route("/ledger/people/<int:person_id>/statement")
class PersonStatement(MethodView):
    @auth(BEARER)
    @blp.arguments(LedgerStatementQuery, location="query")
    @blp.response(200, LedgerStatementOut)
    def get(self, args, person_id):
        people.get_visible(db.session, current_actor(), person_id)
        return _statement(person_id, args)


@blp.route("/ledger/accounts/<int:account_id>/balance")
class AccountBalance(MethodView):
    @auth(BEARER, API_KEY)
    @blp.arguments(LedgerAsOfQuery, location="query")
    @blp.response(200, LedgerBalanceOut)
    def get(self, args, account_id):
        """Any account's balance, now or as of a time (UTC ISO-8601), within the caller's scope."""
        account = ledger_access.require_account_readable(db.session, current_actor(), account_id)
        return _balance_out(balances.book_balance(db.session, account.id, Ledger(account.ledger),
                                                  as_of=args.get("as_of")))


@blp.route("/gifts")
class Gifts(MethodView):
    @auth(BEARER)
    @write(idempotent=True, require_key=True)
    @blp.arguments(GiftIn)
    @blp.response(201, LedgerEntryOut)
    def post(self, body):
        """Give points to another volunteer (by `to_phone`, or `to_person_id`) or to a community fund
        (`to_community_id`). Requires `Idempotency-Key`."""
        from flask import request

        t = gifts.give(db.session, current_actor(), key=request.headers["Idempotency-Key"], amount=body["amount"],
                       to_person_id=body["to_person_id"], to_community_id=body["to_community_id"],
                       to_phone=body["to_phone"], note=body["note"])
        return _entry_out(t, t.debit_account_id)


@blp.route("/ledger/adjustments")
class Adjustments(MethodView):
    @auth(BEARER)
    @write(idempotent=True, require_key=True)
    @blp.arguments(LedgerAdjustmentIn)
    @blp.response(201, LedgerEntryOut)
    def post(self, body):
        """An admin's audited correction of a volunteer's minutes or points (signed amount, with a reason)."""
        from flask import request

        t = ledger_access.adjust(db.session, current_actor(), key=request.headers["Idempotency-Key"],
                                 person_id=body["person_id"], ledger=body["ledger"], amount=body["amount"],
                                 reason=body["reason"])
        return _entry_out(t, t.credit_account_id if body["amount"] > 0 else t.debit_account_id)


@blp.route("/ledger/reconciliations")
class Reconciliations(MethodView):
    @auth(BEARER)
    @blp.arguments(CursorArgs, location="query", as_kwargs=True)
    @blp.response(200, ReconciliationRunPage)
    def get(self, **page):
        """Reconciliation runs, newest first (auditors)."""
        ledger_access.require_reconciliation_reader(current_actor())
        return paginate_by_id(db.session, select(ReconciliationRun), ReconciliationRun.id, page, descending=True)

    @auth(BEARER)
    @blp.response(202, ReconciliationStarted)
    def post(self):
        """Start a reconciliation now (queued on the ledger queue; the run appears in the list when done)."""
        actor = current_actor()
        ledger_access.require_reconciliation_reader(actor)
        job = ledger_maintenance.start_reconciliation(actor.label)
        return {"job_id": job.id, "status": "queued"}


@blp.route("/ledger/reconciliations/latest")
class LatestReconciliation(MethodView):
    @auth(BEARER)
    @blp.response(200, ReconciliationRunOut)
    def get(self):
        ledger_access.require_reconciliation_reader(current_actor())
        run = db.session.scalar(select(ReconciliationRun).order_by(ReconciliationRun.id.desc()).limit(1))
        if run is None:
            raise NotFound("no_reconciliation")
        return run
