"""Domain errors with a stable machine `code`; the API turns them into problem+json, jobs log them.

Flask-free so the ledger, services, workers and CLI raise the same errors.
"""

from __future__ import annotations

from timebank.ledger.errors import LedgerError


class TimebankError(Exception):
    status = 400
    code = "bad_request"
    title = "Bad request"

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


class NotFound(TimebankError):
    status, code, title = 404, "not_found", "Not found"


class Forbidden(TimebankError):
    status, code, title = 403, "forbidden", "Forbidden"


class Unauthorized(TimebankError):
    status, code, title = 401, "unauthorized", "Authentication required"


class Conflict(TimebankError):
    status, code, title = 409, "conflict", "Conflict"


class InvalidInput(TimebankError):
    status, code, title = 422, "invalid_input", "Invalid input"


class RuleViolation(TimebankError):
    """A well-formed request that a business rule refuses (full task, overlapping attendance, ...)."""

    status, code, title = 422, "rule_violation", "Refused by a business rule"


# Everything a translator may catch as a refusal: the app's errors and the ledger's (which has its own base).
DomainError = (TimebankError, LedgerError)
