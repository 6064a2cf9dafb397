"""Tamper evidence: every transfer carries a hash of its own fields; a worker seals blocks of transfers.

Why blocks sealed by a worker, not a chain written by each transfer: a chain where every entry embeds the
previous entry's hash makes every writer read and lock one global "previous entry", i.e. the ledger would
post one transfer at a time. A chain per account would avoid that for volunteers but put it right back on
the community's issuing account, which every credit touches. Instead each transfer stores `row_hash`
(SHA-256 of its own canonical fields, computed before insert, no shared state), and `seal()` periodically
appends a `ledger_seal` row covering the next run of transfers by id, whose hash folds in the previous
seal's hash and each transfer's (id, row_hash). Verification then detects

* an altered row: its fields no longer hash to `row_hash` (at once, sealed or not), and if `row_hash` was
  rewritten too, the seal covering it no longer matches;
* a removed or inserted row inside a sealed range: the seal's count and hash no longer match;
* a rewritten seal: the next seal's `prev_hash` no longer matches (auditors may also record the latest
  seal hash outside the database, which anchors the whole chain).

The seal boundary must never pass a transfer id that a still-open transaction may yet commit (ids come
from a sequence and commit out of order). On PostgreSQL `_watermark` briefly takes a SHARE lock on the
journal, which waits for every in-flight writer (they hold ROW EXCLUSIVE from before their id was drawn)
and is released at once; on SQLite writers are already serialised by BEGIN IMMEDIATE.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from timebank.db_base import utcnow
from timebank.ledger.models import Seal, Transfer

GENESIS = "0" * 64
SEAL_MAX = 100_000


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def row_hash(*, key: str, ledger: str, debit_account_id: int, credit_account_id: int, amount: int, code: int,
             phase: str, pending_id: int | None, corrects_id: int | None, timeout_at: datetime | None,
             meta: dict | None, created_at: datetime) -> str:
    """SHA-256 of a transfer's canonical fields (everything but its id, which the seal covers)."""
    payload = json.dumps(
        [key, str(ledger), int(debit_account_id), int(credit_account_id), int(amount), int(code), str(phase),
         pending_id, corrects_id, _iso(timeout_at), meta, _iso(created_at)],
        sort_keys=True, separators=(",", ":"), ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def hash_of(t: Transfer) -> str:
    return row_hash(key=t.key, ledger=t.ledger, debit_account_id=t.debit_account_id,
                    credit_account_id=t.credit_account_id, amount=t.amount, code=t.code, phase=t.phase,
                    pending_id=t.pending_id, corrects_id=t.corrects_id, timeout_at=t.timeout_at, meta=t.meta,
                    created_at=t.created_at)


def fold(h: hashlib._Hash, transfer_id: int, row_hash_hex: str) -> None:
    h.update(f"{int(transfer_id)}:{row_hash_hex};".encode())


def watermark(session: Session) -> int:
    """The highest transfer id below which no open transaction can still commit a transfer.

    PostgreSQL: takes a SHARE lock on the journal (waits for in-flight writers, blocks new ones); the
    caller commits right after, so writers pause only for as long as the slowest open transfer.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL lock_timeout = '5s'"))
        session.execute(text("LOCK TABLE ledger_transfer IN SHARE MODE"))
    return session.scalar(select(func.coalesce(func.max(Transfer.id), 0))) or 0


def seal(session: Session, *, up_to: int, max_entries: int = SEAL_MAX) -> Seal | None:
    """Append a seal over the transfers after the last seal, up to `up_to` (from `watermark`, committed).

    Returns the new seal, or None when nothing new is committed yet. Two sealers racing cannot fork the
    chain: `prev_hash` is UNIQUE.
    """
    last = session.scalar(select(Seal).order_by(Seal.last_transfer_id.desc()).limit(1))
    after = last.last_transfer_id if last else 0
    prev = last.hash if last else GENESIS
    if up_to <= after:
        return None
    h = hashlib.sha256(prev.encode())
    count = 0
    first = None
    last_id = after
    rows = session.execute(
        select(Transfer.id, Transfer.row_hash).where(Transfer.id > after, Transfer.id <= up_to)
        .order_by(Transfer.id).limit(max_entries).execution_options(yield_per=5000)
    )
    for tid, rh in rows:
        fold(h, tid, rh)
        count += 1
        first = tid if first is None else first
        last_id = tid
    if count == 0:
        return None
    row = Seal(first_transfer_id=first, last_transfer_id=last_id, entry_count=count, prev_hash=prev,
               hash=h.hexdigest(), sealed_at=utcnow())
    session.add(row)
    session.flush()
    return row
