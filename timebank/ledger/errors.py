"""Ledger errors: each has a stable `code`, HTTP status and parameters; the API turns them into problem+json.

The ledger imports nothing of the rest of timebank, so its errors have a base of their own; `timebank.errors`
names both bases together (`DomainError`) for the translators that catch a refusal.
"""

from __future__ import annotations


class Refusal(Exception):
    """The shape every timebank refusal shares: `code` (the class's, or a more precise one), an optional `variant`
    and named parameters (`extra`), an HTTP `status` and a short English `title`. It lives here, at the bottom,
    because the ledger imports nothing of the rest; the app's errors (`timebank.errors`) build on it."""

    status, code, title = 400, "bad_request", "Bad request"

    def __init__(self, code: str | None = None, /, *, variant: str | None = None, status: int | None = None,
                 title: str | None = None, **params):
        if code:
            self.code = code
        if status:
            self.status = status
        if title:
            self.title = title
        self.variant = variant
        self.extra = params
        self.detail = self.describe()
        super().__init__(self.detail)

    def describe(self) -> str:
        """What `detail` says: here the English title, for logs and developers."""
        return self.title


class LedgerError(Refusal):
    """The ledger has no words for people: the app's message table renders its codes
    (`timebank.messages.describe`); `detail` and `str()` are the English title and the code, for logs."""

    status, code, title = 422, "ledger_error", "Ledger refused the transfer"

    def __str__(self) -> str:
        return f"{self.title} ({self.code}{'.' + self.variant if self.variant else ''})"


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
