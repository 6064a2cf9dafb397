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
from a sequence and commit out of order). On PostgreSQL `watermark` briefly takes a SHARE lock on the
journal, which waits for every in-flight writer (they hold ROW EXCLUSIVE from before their id was drawn)
and is released at once; on SQLite writers are already serialised by BEGIN IMMEDIATE.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from timebank.db_base import utcnow
from timebank.ledger.models import Seal, Transfer

GENESIS = "0" * 64
SEAL_MAX = 100_000


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
US = timedelta(microseconds=1)


def _micros(value: datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return str((value - EPOCH) // US)


def canonical(*, key: str, ledger: str, debit_account_id: int, credit_account_id: int, amount: int, code: int,
              phase: str, pending_id: int | None, corrects_id: int | None, timeout_at: datetime | None,
              meta_json: str, created_at: datetime) -> str:
    """The hashed text of a transfer. Fixed-format fields first, then the free text length-prefixed, so that
    no two different rows share a text; `CANONICAL_SQL` builds the same text inside PostgreSQL."""
    return (f"{ledger}|{int(debit_account_id)}|{int(credit_account_id)}|{int(amount)}|{int(code)}|{phase}|"
            f"{'' if pending_id is None else int(pending_id)}|{'' if corrects_id is None else int(corrects_id)}|"
            f"{_micros(timeout_at)}|{_micros(created_at)}|{len(key)}:{key}|{meta_json}")


# The same text computed by PostgreSQL (server-side verification streams nothing through Python).
CANONICAL_SQL = (
    "ledger || '|' || debit_account_id || '|' || credit_account_id || '|' || amount || '|' || code || '|' "
    "|| phase || '|' || coalesce(pending_id::text, '') || '|' || coalesce(corrects_id::text, '') || '|' "
    "|| coalesce(((extract(epoch from timeout_at) * 1000000)::bigint)::text, '') || '|' "
    "|| ((extract(epoch from created_at) * 1000000)::bigint)::text || '|' "
    "|| length(key) || ':' || key || '|' || coalesce(meta::text, 'null')"
)
ROW_HASH_SQL = f"encode(sha256(convert_to({CANONICAL_SQL}, 'UTF8')), 'hex')"


def meta_json(meta) -> str:
    """The JSON text SQLAlchemy's JSON type stores for `meta` (its default serializer is json.dumps)."""
    return json.dumps(meta)


def row_hash(*, key: str, ledger: str, debit_account_id: int, credit_account_id: int, amount: int, code: int,
             phase: str, pending_id: int | None, corrects_id: int | None, timeout_at: datetime | None,
             meta: dict | None, created_at: datetime, meta_text: str | None = None) -> str:
    """SHA-256 of a transfer's canonical fields (everything but its id, which the seal covers). `meta_text` is
    `meta_json(meta)` when the caller has it already (posting serialises the metadata once)."""
    text_ = canonical(key=key, ledger=str(ledger), debit_account_id=debit_account_id,
                      credit_account_id=credit_account_id, amount=amount, code=code, phase=str(phase),
                      pending_id=pending_id, corrects_id=corrects_id, timeout_at=timeout_at,
                      meta_json=meta_json(meta) if meta_text is None else meta_text, created_at=created_at)
    return hashlib.sha256(text_.encode()).hexdigest()


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
