"""Ledger errors: each has a stable `code` and HTTP status; the API turns them into problem+json.

The ledger imports nothing of the rest of timebank, so its errors have a base of their own; `timebank.errors`
names both bases together (`DomainError`) for the translators that catch a refusal.
"""

from __future__ import annotations


class LedgerError(Exception):
    status, code, title = 422, "ledger_error", "Ledger refused the transfer"

    def __init__(self, detail: str | None = None, *, code: str | None = None, status: int | None = None,
                 title: str | None = None, **extra):
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        if code:
            self.code = code
        if status:
            self.status = status
        if title:
            self.title = title
        self.extra = extra


class IdempotencyConflict(LedgerError):
    status, code, title = 409, "idempotency_conflict", "This key was used for a different transfer"


class InsufficientFunds(LedgerError):
    status, code, title = 422, "insufficient_funds", "Insufficient funds"


class HoldNotPending(LedgerError):
    status, code, title = 409, "hold_not_pending", "The hold is no longer pending"


class AlreadyReversed(LedgerError):
    status, code, title = 409, "already_reversed", "The transfer has already been reversed"


class LedgerMismatch(LedgerError):
    status, code, title = 422, "ledger_mismatch", "Accounts are on different ledgers"


class InvalidAmount(LedgerError):
    status, code, title = 422, "invalid_amount", "Amount must be a positive integer"


class AccountNotFound(LedgerError):
    status, code, title = 404, "account_not_found", "No such ledger account"


class TransferNotFound(LedgerError):
    status, code, title = 404, "transfer_not_found", "No such transfer"
