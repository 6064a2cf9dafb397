"""The double-entry core: accounts and transfers on the `minutes` and `points` ledgers. No Flask here.

Callers (API, workers, CLI) use only these names; every function flushes and never commits.
Maintenance lives in submodules: `queries` (history, statement), `holds` (timed-out holds),
`expiry` (points lots), `chain` (seals), `verify` (reconciliation), `retry` (deadlock-safe transactions).
"""

from timebank.ledger.codes import Code, Ledger, OwnerKind
from timebank.ledger.models import Account, Transfer
from timebank.ledger.post import (
    TransferSpec,
    account_for,
    accounts_for,
    capture,
    find_by_key,
    hold,
    linked,
    release,
    reverse,
    transfer,
)
from timebank.ledger.queries import Balance, balance

__all__ = [
    "Ledger", "Code", "OwnerKind", "Account", "Transfer", "Balance", "TransferSpec", "account_for", "accounts_for",
    "transfer", "linked", "hold", "capture", "release", "reverse", "balance", "find_by_key",
]
