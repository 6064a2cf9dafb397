"""Posting: accounts, transfers, linked batches, holds (two-phase transfers) and reversals.

Every write follows the same steps (TigerBeetle's create_transfers, done with SQL):
1. a repeat of an idempotency key returns the first transfer, or 409 if its fields differ;
2. row locks (FOR NO KEY UPDATE, ascending id) on the accounts whose cached balances change, so two
   transfers never deadlock on each other's accounts nor lose an update; unlimited accounts (issuers)
   are not locked at all (see models.py);
3. limits are checked in Python for a clear error, then the journal row is inserted and the cached
   balances incremented: the CHECK constraints on `ledger_account` are the real guard;
4. flush, never commit: the caller's transaction posts everything or nothing.

One engine (`_apply`) takes these steps on PostgreSQL and SQLite alike; only the SQL text differs, and
`driver.statements` picks it once per database. The statements run straight through the database driver
(no ORM round trips): `transfer`, `hold`, `capture`, `release` and `reverse` return the ORM `Transfer`,
attached to the session as if loaded; `linked` returns `Posted` records (see there).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.util import identity_key

from timebank.db_base import utcnow
from timebank.ledger import chain
from timebank.ledger.codes import LIMIT_FLAGS, AccountFlag, Code, Ledger, OwnerKind, Phase, flags_for
from timebank.ledger.driver import is_check_violation, run, statements
from timebank.ledger.errors import (
    AccountNotFound,
    AlreadyReversed,
    HoldNotPending,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidAmount,
    LedgerMismatch,
    TransferNotFound,
)
from timebank.ledger.models import Account, Transfer

MAX_BATCH = 8190  # TigerBeetle's batch limit: keeps one linked batch's locks and statement bounded
MAX_AMOUNT = 2**62
MAX_TIMEOUT_SECONDS = 90 * 24 * 3600
BALANCE_COLUMNS = ("debits_posted", "credits_posted", "debits_pending", "credits_pending")


@dataclass(frozen=True)
class TransferSpec:
    """One transfer of a linked batch: the same fields as `transfer()`."""

    key: str
    debit_account_id: int
    credit_account_id: int
    amount: int
    ledger: Ledger | str
    code: Code | int
    metadata: dict | None = None
    corrects_id: int | None = None


@dataclass
class _Row:
    """A journal row about to be written, with the hold it resolves (if any)."""

    key: str
    ledger: str
    debit_account_id: int
    credit_account_id: int
    amount: int
    code: int
    phase: str = Phase.posted.value
    pending: Transfer | None = None
    corrects_id: int | None = None
    timeout_at: datetime | None = None
    meta: dict | None = None
    # Fields compared with an existing row of the same key (timeouts are relative to "now": not compared).
    compare: tuple[str, ...] = field(default=("ledger", "debit_account_id", "credit_account_id", "amount", "code",
                                              "phase", "pending_id", "corrects_id", "meta"))

    @property
    def pending_id(self) -> int | None:
        return self.pending.id if self.pending is not None else None

    def values(self, created_at: datetime) -> tuple[dict, str]:
        """The row's column values (with its hash) and its metadata as JSON text (serialised once, used twice)."""
        meta_json = chain.meta_json(self.meta)
        v = {"key": self.key, "ledger": self.ledger, "debit_account_id": self.debit_account_id,
             "credit_account_id": self.credit_account_id, "amount": self.amount, "code": self.code,
             "phase": self.phase, "pending_id": self.pending_id, "corrects_id": self.corrects_id,
             "timeout_at": self.timeout_at, "meta": self.meta, "created_at": created_at}
        v["row_hash"] = chain.row_hash(**v, meta_text=meta_json)
        return v, meta_json

    def deltas(self) -> list[tuple[int, str, int]]:
        """(account id, balance column, change) for this row."""
        d, c, a = self.debit_account_id, self.credit_account_id, self.amount
        if self.phase == Phase.pending:
            return [(d, "debits_pending", a), (c, "credits_pending", a)]
        out = []
        if self.pending is not None:  # capture or release: the hold's whole reservation ends
            p = self.pending.amount
            out += [(d, "debits_pending", -p), (c, "credits_pending", -p)]
        if self.phase == Phase.posted:
            out += [(d, "debits_posted", a), (c, "credits_posted", a)]
        return out


# --------------------------------------------------------------------------------------------- helpers

def _insert_for(session: Session):
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def _amount(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0 or value > MAX_AMOUNT:
        raise InvalidAmount()
    return value


# Enum lookups by plain dict: `Ledger(value)` and `Code(value)` cost more than the rest of a row's checks.
_LEDGER_VALUES = {**{m: m.value for m in Ledger}, **{m.value: m.value for m in Ledger}}
_CODE_VALUES = {**{m: int(m) for m in Code}, **{int(m): int(m) for m in Code}}
_DEBIT_LIMIT = int(AccountFlag.debits_must_not_exceed_credits)
_CREDIT_LIMIT = int(AccountFlag.credits_must_not_exceed_debits)
_LIMITS = int(LIMIT_FLAGS)


def _ledger(value) -> str:
    try:
        return _LEDGER_VALUES[value]
    except (KeyError, TypeError) as exc:
        raise LedgerMismatch() from exc


def _code(value) -> int:
    try:
        return _CODE_VALUES[value]
    except (KeyError, TypeError) as exc:
        raise InvalidAmount("invalid_code") from exc


def _key(value) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= 200:
        raise InvalidAmount("invalid_key")
    return value


def find_by_key(session: Session, key: str) -> Transfer | None:
    return session.scalar(select(Transfer).where(Transfer.key == key))


def _same(existing: Transfer, row: _Row) -> Transfer:
    diffs = [f for f in row.compare if getattr(existing, f) != getattr(row, f)]
    if diffs:
        raise IdempotencyConflict(fields=diffs)
    return existing


@dataclass(frozen=True, slots=True)
class Posted:
    """A transfer just written, as `linked` returns it: a plain read-only record with `Transfer`'s attribute
    names (entries are never updated). Building a thousand of these costs a fraction of building (and
    attaching) a thousand ORM objects; `session.get(Transfer, id)` loads the ORM object when one is needed."""

    id: int
    key: str
    ledger: str
    debit_account_id: int
    credit_account_id: int
    amount: int
    code: int
    phase: str
    pending_id: int | None
    corrects_id: int | None
    timeout_at: datetime | None
    meta: dict | None
    created_at: datetime
    row_hash: str

    code_enum = Transfer.code_enum
    ledger_enum = Transfer.ledger_enum
    phase_enum = Transfer.phase_enum

    @classmethod
    def of(cls, t: Transfer) -> Posted:
        return cls(**{f: getattr(t, f) for f in _POSTED_FIELDS})


_POSTED_FIELDS = tuple(f for f in Posted.__slots__)


class _KeyTaken(Exception):
    """The probed idempotency key already names a transfer (its id in args[0])."""


def _apply(session: Session, rows: list[_Row], probe_key: str | None = None) -> list[Posted]:
    """Lock, check limits, insert the rows, update cached balances: the one write path, on every database
    (driver.py holds each database's statements). Rows must be new keys; with `probe_key` the lock statement
    also looks the key up and `_KeyTaken` names the transfer already posted under it. Returns [] when a
    concurrent twin won an ON CONFLICT DO NOTHING race (single rows only); the caller sorts out which."""
    sql = statements(session)
    # Everything that does not depend on balances (hashes, the rows' JSON) is built before the accounts are
    # locked, so the locks are held for the write statements only and concurrent batches wait less.
    created_at = utcnow()
    values, metas = zip(*(r.values(created_at) for r in rows), strict=True)
    stamp_text = sql.stamp_text
    rows_json = json.dumps([
        {"k": v["key"], "l": v["ledger"], "d": v["debit_account_id"], "c": v["credit_account_id"],
         "a": v["amount"], "co": v["code"], "ph": v["phase"], "pe": v["pending_id"], "cr": v["corrects_id"],
         "ti": stamp_text(v["timeout_at"]), "mt": mt, "h": v["row_hash"]}
        for v, mt in zip(values, metas, strict=True)])
    ids = sorted({r.debit_account_id for r in rows} | {r.credit_account_id for r in rows})
    params: dict = {"ids": sql.ids(ids)}
    lock = sql.lock
    if probe_key is not None:
        lock, params["key"] = sql.lock_probe, probe_key
    accounts: dict[int, tuple[str, int]] = {}
    balances: dict[int, dict[str, int]] = {}
    for aid, led, flags, dp, cp, dpend, cpend in run(session, lock, params):
        if flags == -1:
            raise _KeyTaken(aid)
        accounts[aid] = (led, flags)
        if flags & _LIMITS:
            balances[aid] = {"debits_posted": dp, "credits_posted": cp, "debits_pending": dpend,
                             "credits_pending": cpend}
    for i in ids:
        if i not in accounts:
            raise AccountNotFound(account_id=i)
    changes: dict[int, dict[str, int]] = {}
    for n, r in enumerate(rows):
        for side in (r.debit_account_id, r.credit_account_id):
            if accounts[side][0] != r.ledger:
                raise LedgerMismatch(variant="accounts", account_id=side, index=n)
        for acc_id, column, change in r.deltas():
            if acc_id in balances:
                balances[acc_id][column] += change
                ch = changes.get(acc_id)
                if ch is None:
                    ch = changes[acc_id] = dict.fromkeys(BALANCE_COLUMNS, 0)
                ch[column] += change
        for acc_id in (r.debit_account_id, r.credit_account_id):
            if acc_id in balances:
                _check_limits(acc_id, accounts[acc_id][1], balances[acc_id], n)

    touched = [i for i, ch in changes.items() if any(ch.values())]
    params = {
        "created_at": sql.stamp(created_at),
        "rows": rows_json,
        "deltas": json.dumps([
            {"i": i, "dp": changes[i]["debits_posted"], "cp": changes[i]["credits_posted"],
             "dq": changes[i]["debits_pending"], "cq": changes[i]["credits_pending"]} for i in touched]),
        "u_ids": sql.ids(touched),
    }
    try:
        result = run(session, sql.insert_one if len(rows) == 1 else sql.insert_many, params)
        if result and touched and sql.update_balances is not None:
            run(session, sql.update_balances, params)
    except IntegrityError as exc:
        if is_check_violation(exc):  # the database's CHECK caught an overdraft the check above did not
            raise InsufficientFunds() from exc
        raise
    if not result:  # ON CONFLICT DO NOTHING: a concurrent twin won
        return []
    id_of = {key: tid for tid, key in result}
    # Account objects already in the session: their balances changed behind the ORM's back.
    identity = session.identity_map
    for i in touched:
        acc = identity.get(identity_key(Account, i))
        if acc is not None:
            session.expire(acc, BALANCE_COLUMNS)
    return [Posted(id=id_of[v["key"]], **v) for v in values]


def _check_limits(account_id: int, flags: int, b: dict[str, int], index: int) -> None:
    if flags & _DEBIT_LIMIT and b["debits_posted"] + b["debits_pending"] > b["credits_posted"]:
        available = b["credits_posted"] - b["debits_posted"] - b["debits_pending"]
        raise InsufficientFunds(variant="shortfall", account_id=account_id, index=index, shortfall=-available)
    if flags & _CREDIT_LIMIT and b["credits_posted"] + b["credits_pending"] > b["debits_posted"]:
        raise InsufficientFunds(variant="credit_limit", account_id=account_id, index=index)


def _attached(session: Session, posted: Posted) -> Transfer:
    """The ORM Transfer of a row just written, in the session as if loaded (no SELECT): one object is cheap
    to build through the constructor, unlike a batch's thousand (which stay `Posted` records)."""
    t = Transfer(**{f: getattr(posted, f) for f in _POSTED_FIELDS})
    make_transient_to_detached(t)
    session.add(t)
    return t


def _post_one(session: Session, row: _Row, *, probe: bool = False) -> Transfer:
    """Post one new row. With `probe` the key's first use is looked up in the lock statement."""
    try:
        inserted = _apply(session, [row], probe_key=row.key if probe else None)
    except _KeyTaken as taken:
        return _same(session.get(Transfer, taken.args[0]), row)
    if inserted:
        return _attached(session, inserted[0])
    # Nothing written: a unique column clashed with a row committed meanwhile. Which one?
    existing = find_by_key(session, row.key)
    if existing is not None:
        return _same(existing, row)
    if row.pending is not None:
        raise HoldNotPending(pending_id=row.pending.id)
    if row.corrects_id is not None:
        raise AlreadyReversed(transfer_id=row.corrects_id)
    raise IdempotencyConflict()  # pragma: no cover - no other unique column


def _check_corrects(session: Session, corrects_id: int | None) -> None:
    if corrects_id is None:
        return
    original = session.get(Transfer, corrects_id)
    if original is None:
        raise TransferNotFound(transfer_id=corrects_id)
    if session.scalar(select(Transfer.id).where(Transfer.corrects_id == corrects_id)) is not None:
        raise AlreadyReversed(transfer_id=corrects_id)


# ------------------------------------------------------------------------------------------ public API

def account_for(session: Session, *, owner_kind: OwnerKind | str, owner_id: int, ledger: Ledger | str,
                org_id: int | None = None) -> Account:
    """Get or open the account of an owner on a ledger; safe when two callers open it at once."""
    kind = OwnerKind(owner_kind).value
    led = _ledger(ledger)
    stmt = select(Account).where(Account.owner_kind == kind, Account.owner_id == owner_id, Account.ledger == led)
    account = session.scalar(stmt)
    if account is not None:
        return account
    flags = flags_for(kind)
    session.execute(
        _insert_for(session)(Account).values(
            owner_kind=kind, owner_id=owner_id, ledger=led, org_id=org_id, flags=int(flags),
            debits_posted=0, credits_posted=0, debits_pending=0, credits_pending=0, created_at=utcnow(),
        ).on_conflict_do_nothing(index_elements=["owner_kind", "owner_id", "ledger"])
    )
    return session.scalar(stmt)


def accounts_for(session: Session, owners: set[tuple[OwnerKind | str, int, Ledger | str, int | None]]
                 ) -> dict[tuple[OwnerKind, int, Ledger], int]:
    """Get or open many accounts at once: {(kind, owner id, ledger): account id} for the given
    (kind, owner id, ledger, org id) tuples. One read, and for the missing ones one multi-row
    INSERT ... ON CONFLICT DO NOTHING and a second read: safe when callers open the same accounts at once."""
    wanted = {(OwnerKind(k), int(o), Ledger(lg)): org for k, o, lg, org in owners}
    if not wanted:
        return {}
    ids: dict[tuple[OwnerKind, int, Ledger], int] = {}

    def read() -> None:
        by_kind: dict[OwnerKind, set[int]] = defaultdict(set)
        for kind, owner_id, _ in wanted:
            if (kind, owner_id, _) not in ids:
                by_kind[kind].add(owner_id)
        for kind, owner_ids in by_kind.items():
            rows = session.execute(select(Account.id, Account.owner_id, Account.ledger).where(
                Account.owner_kind == kind.value, Account.owner_id.in_(sorted(owner_ids))))
            for account_id, owner_id, book in rows:
                key = (kind, owner_id, Ledger(book))
                if key in wanted:
                    ids[key] = account_id

    read()
    missing = [k for k in wanted if k not in ids]
    if missing:
        now = utcnow()
        session.execute(
            _insert_for(session)(Account).values([
                {"owner_kind": kind.value, "owner_id": owner_id, "ledger": book.value,
                 "org_id": wanted[kind, owner_id, book],
                 "flags": int(flags_for(kind)),
                 "debits_posted": 0, "credits_posted": 0, "debits_pending": 0, "credits_pending": 0,
                 "created_at": now} for kind, owner_id, book in sorted(missing)])
            .on_conflict_do_nothing(index_elements=["owner_kind", "owner_id", "ledger"]))
        read()
    return ids


def transfer(session: Session, *, key: str, debit_account_id: int, credit_account_id: int, amount: int,
             ledger: Ledger | str, code: Code | int, metadata: dict | None = None,
             corrects_id: int | None = None) -> Transfer:
    """Post one transfer now. A repeat of `key` with the same fields returns the first transfer."""
    row = _Row(key=_key(key), ledger=_ledger(ledger), debit_account_id=debit_account_id,
               credit_account_id=credit_account_id, amount=_amount(amount), code=_code(code),
               corrects_id=corrects_id, meta=metadata)
    _distinct(row)
    if corrects_id is None:
        return _post_one(session, row, probe=True)
    existing = find_by_key(session, row.key)
    if existing is not None:
        return _same(existing, row)
    _check_corrects(session, corrects_id)
    return _post_one(session, row)


def _existing_keys(session: Session, keys: list[str]) -> dict[str, Transfer]:
    """The transfers already posted under any of `keys` (one probe statement before any ORM load)."""
    if not run(session, statements(session).any_key, {"keys": json.dumps(keys)}):
        return {}
    return {t.key: t for t in session.scalars(select(Transfer).where(Transfer.key.in_(keys)))}


def _distinct(row: _Row) -> None:
    if row.debit_account_id == row.credit_account_id:
        raise InvalidAmount("same_account")


def linked(session: Session, specs: list[TransferSpec]) -> list[Posted]:
    """Post a batch of transfers that all post or none do (in order; later ones may spend earlier ones).
    Returns `Posted` records (Transfer's attribute names, read-only), not ORM objects: see `Posted`."""
    if not specs:
        return []
    if len(specs) > MAX_BATCH:
        raise InvalidAmount("batch_too_large", max_batch=MAX_BATCH)
    rows = []
    for s in specs:
        row = _Row(key=_key(s.key), ledger=_ledger(s.ledger), debit_account_id=s.debit_account_id,
                   credit_account_id=s.credit_account_id, amount=_amount(s.amount), code=_code(s.code),
                   corrects_id=s.corrects_id, meta=s.metadata)
        _distinct(row)
        rows.append(row)
    keys = [r.key for r in rows]
    if len(set(keys)) != len(keys):
        raise IdempotencyConflict(variant="batch_duplicate")
    corrects = [r.corrects_id for r in rows if r.corrects_id is not None]
    if len(set(corrects)) != len(corrects):
        raise AlreadyReversed(variant="batch_duplicate")
    existing = _existing_keys(session, keys)
    if existing:
        if len(existing) != len(rows):
            raise IdempotencyConflict(variant="batch_partial")
        return [Posted.of(_same(existing[r.key], r)) for r in rows]
    for c in corrects:
        _check_corrects(session, c)
    savepoint = session.begin_nested()
    try:
        inserted = _apply(session, rows)
        savepoint.commit()
    except IntegrityError as exc:
        savepoint.rollback()
        existing = {t.key: t for t in session.scalars(select(Transfer).where(Transfer.key.in_(keys)))}
        if len(existing) == len(rows):  # a concurrent twin of the whole batch won
            return [Posted.of(_same(existing[r.key], r)) for r in rows]
        if existing:
            raise IdempotencyConflict(variant="batch_partial") from exc
        raise AlreadyReversed(variant="concurrent") from exc
    except BaseException:
        savepoint.rollback()
        raise
    return inserted


def hold(session: Session, *, key: str, debit_account_id: int, credit_account_id: int, amount: int,
         timeout_seconds: int, metadata: dict | None = None) -> Transfer:
    """Reserve `amount` points (pending transfer): counts against available until captured or released."""
    if isinstance(timeout_seconds, bool) or not isinstance(timeout_seconds, int) \
            or not 1 <= timeout_seconds <= MAX_TIMEOUT_SECONDS:
        raise InvalidAmount("invalid_timeout")
    row = _Row(key=_key(key), ledger=Ledger.points.value, debit_account_id=debit_account_id,
               credit_account_id=credit_account_id, amount=_amount(amount), code=int(Code.hold),
               phase=Phase.pending.value, timeout_at=utcnow() + timedelta(seconds=timeout_seconds),
               meta=metadata)
    _distinct(row)
    return _post_one(session, row, probe=True)


def _open_hold(session: Session, pending_id: int, *, now: datetime | None = None,
               allow_expired: bool = False) -> Transfer:
    hold_row = session.get(Transfer, pending_id)
    if hold_row is None or hold_row.phase != Phase.pending:
        raise TransferNotFound(variant="hold", transfer_id=pending_id)
    if session.scalar(select(Transfer.id).where(Transfer.pending_id == pending_id)) is not None:
        raise HoldNotPending(pending_id=pending_id)
    if not allow_expired and hold_row.timeout_at <= (now or utcnow()):
        raise HoldNotPending(variant="expired", pending_id=pending_id, expired=True)
    return hold_row


def _resolve(session: Session, key: str, pending_id: int, *, code: Code, amount: int | None,
             metadata: dict | None = None, allow_expired: bool = False) -> Transfer:
    key = _key(key)
    existing = find_by_key(session, key)
    if existing is not None:
        fields = {"pending_id": pending_id, "code": int(code)}
        if amount is not None:
            fields["amount"] = amount
        diffs = [f for f, v in fields.items() if getattr(existing, f) != v]
        if diffs:
            raise IdempotencyConflict(fields=diffs)
        return existing
    pending = _open_hold(session, pending_id, allow_expired=allow_expired)
    if code == Code.capture:
        posted = pending.amount if amount is None else _amount(amount)
        if posted > pending.amount:
            raise InvalidAmount("capture_exceeds_hold", posted=posted, held=pending.amount)
        phase = Phase.posted
    else:
        posted, phase = pending.amount, Phase.voided
    row = _Row(key=key, ledger=pending.ledger, debit_account_id=pending.debit_account_id,
               credit_account_id=pending.credit_account_id, amount=posted, code=int(code), phase=phase.value,
               pending=pending, meta=metadata)
    # Re-check under the account locks that nobody resolved the hold meanwhile (the UNIQUE is the guard).
    return _post_one(session, row)


def capture(session: Session, *, key: str, pending_id: int, amount: int | None = None) -> Transfer:
    """Post `amount` (default: all) of a hold; the rest of the reservation is released."""
    return _resolve(session, key, pending_id, code=Code.capture, amount=amount)


def release(session: Session, *, key: str, pending_id: int, metadata: dict | None = None,
            allow_expired: bool = True) -> Transfer:
    """Void a hold: nothing moves and the reservation ends. Releasing an expired hold is allowed."""
    return _resolve(session, key, pending_id, code=Code.release, amount=None, metadata=metadata,
                    allow_expired=allow_expired)


def reverse(session: Session, *, key: str, transfer_id: int, reason: str) -> Transfer:
    """Post the opposite of a posted transfer, pointing at it; a transfer is reversed at most once."""
    key = _key(key)
    original = session.get(Transfer, transfer_id)
    if original is None:
        raise TransferNotFound(transfer_id=transfer_id)
    if original.phase != Phase.posted:
        raise InvalidAmount("not_reversible")
    row = _Row(key=key, ledger=original.ledger, debit_account_id=original.credit_account_id,
               credit_account_id=original.debit_account_id, amount=original.amount, code=int(Code.reversal),
               corrects_id=original.id, meta={"reason": reason})
    row.compare = ("corrects_id", "code")
    existing = find_by_key(session, key)
    if existing is not None:
        return _same(existing, row)
    _check_corrects(session, original.id)
    return _post_one(session, row)
