"""Domain errors: a stable machine `code`, an optional `variant` and named parameters; the person-facing Chinese
`detail` comes from the one table in `timebank.messages`. The API turns them into problem+json, pages show the
detail, jobs log them.

    raise InvalidInput("ends_before_start")
    raise RuleViolation("daily_cap_reached", daily_minutes_cap=cap)
    raise Forbidden("out_of_scope", variant="merchant_account")

The parameters are also the machine-readable part of the problem body (`extra`). Flask-free so the services,
workers and CLI raise the same errors; the ledger has its own base with the same shape (`timebank.ledger.errors`).
"""

from __future__ import annotations

from timebank.ledger.errors import Refusal
from timebank.messages import render


class TimebankError(Refusal):
    """An app refusal: its `detail` is the Chinese message from the table (`timebank.messages`)."""

    def describe(self) -> str:
        return render(self.code, self.variant, self.extra)


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


# Everything a translator may catch as a refusal: the app's errors and the ledger's share one base.
# Translators show `timebank.messages.describe(exc)`, which works for both.
DomainError = Refusal


def get_or_404(session, model, ident, code: str, **get_options):
    """`session.get(model, ident, **get_options)`, or `NotFound(code)` when there is no such row."""
    row = session.get(model, ident, **get_options)
    if row is None:
        raise NotFound(code)
    return row
