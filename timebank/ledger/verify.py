"""Reconciliation: prove the ledger balances, caches match the journal, holds are not stale, nothing was altered.

Memory stays flat whatever the ledger's size: every check is either an aggregate computed by the database
that returns only discrepancies, or a stream read with `yield_per`. On PostgreSQL the row hashes and seal
hashes are recomputed inside the database (sha256 over the canonical text, see chain.CANONICAL_SQL), so no
entry crosses the wire, and every account's sums come from one scan of the journal (both legs of a transfer
through LATERAL VALUES) shared by the cached-balance and zero-sum checks. On SQLite the entries are streamed
through Python.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from sqlalchemy import and_, case, func, literal, or_, select, text, union_all
from sqlalchemy.orm import Session, aliased

from timebank.db_base import utcnow
from timebank.ledger import chain
from timebank.ledger.holds import release_expired
from timebank.ledger.models import Account, ReconciliationRun, Seal, Transfer

MAX_RECORDED = 1000
STREAM = 10_000


class _Findings:
    def __init__(self) -> None:
        self.items: list[dict] = []
        self.count = 0

    def add(self, kind: str, **details) -> None:
        self.count += 1
        if len(self.items) < MAX_RECORDED:
            self.items.append({"kind": kind, **details})

    def merge(self, other: _Findings) -> None:
        self.count += other.count
        self.items.extend(other.items[:MAX_RECORDED - len(self.items)])


def _journal_sums():
    """Per account: journal-derived debits/credits posted and pending (open holds only)."""
    t = Transfer
    r = aliased(Transfer)
    open_hold = and_(t.phase == "pending", ~select(r.id).where(r.pending_id == t.id).exists())
    posted = case((t.phase == "posted", t.amount), else_=0)
    pending = case((open_hold, t.amount), else_=0)
    zero = literal(0)
    legs = union_all(
        select(t.debit_account_id.label("acc"), posted.label("dp"), zero.label("cp"), pending.label("dpend"),
               zero.label("cpend")),
        select(t.credit_account_id.label("acc"), zero, posted, zero, pending),
    ).subquery()
    return select(legs.c.acc, func.sum(legs.c.dp).label("dp"), func.sum(legs.c.cp).label("cp"),
                  func.sum(legs.c.dpend).label("dpend"), func.sum(legs.c.cpend).label("cpend")
                  ).group_by(legs.c.acc).subquery()


def _check_balances(session: Session, f: _Findings) -> int:
    j = _journal_sums()
    a = Account
    cached = a.flags.op("&")(3) != 0
    jdp, jcp = func.coalesce(j.c.dp, 0), func.coalesce(j.c.cp, 0)
    jdpend, jcpend = func.coalesce(j.c.dpend, 0), func.coalesce(j.c.cpend, 0)
    mismatch = and_(cached, or_(a.debits_posted != jdp, a.credits_posted != jcp, a.debits_pending != jdpend,
                                a.credits_pending != jcpend))
    stmt = (select(a.id, a.ledger, a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending,
                   jdp, jcp, jdpend, jcpend)
            .outerjoin(j, j.c.acc == a.id).where(mismatch).order_by(a.id)
            .execution_options(yield_per=STREAM))
    for row in session.execute(stmt):
        f.add("cached_balance_mismatch", account_id=row[0], ledger=row[1], cached=list(row[2:6]),
              journal=[int(v) for v in row[6:10]])
    # Zero sum per ledger: cached nets of limited accounts + journal nets of unlimited ones.
    net = case((cached, a.credits_posted - a.debits_posted), else_=jcp - jdp)
    for ledger_name, total in session.execute(
            select(a.ledger, func.coalesce(func.sum(net), 0)).outerjoin(j, j.c.acc == a.id).group_by(a.ledger)):
        if int(total) != 0:
            f.add("ledger_not_zero_sum", ledger=ledger_name, net=int(total))
    return session.scalar(select(func.count()).select_from(Account)) or 0


# PostgreSQL: per-account journal sums as two plain GROUP BYs (debit side, credit side), which PostgreSQL runs as
# parallel hash aggregates, less the holds already resolved (found through the small `pending_id` index): they
# reserve nothing any more. Only accounts that appear in the journal are joined to their cached balances; the
# dormant rest (most accounts, in a city) are covered by one cheap scan that counts them, sums the cached nets
# and flags any non-zero cached balance with no journal behind it. Per ledger this yields the account count,
# the net (cached nets of limited accounts + journal nets of unlimited ones: zero when the books balance) and
# how many cached balances differ from the journal; only when that count is not zero are the accounts listed.
# An earlier form produced both legs of every transfer through LATERAL VALUES and joined every account: four
# times slower, because each row went through a nested loop and numeric sums.
_JOURNAL_SUMS_SQL = """
WITH d AS (
    SELECT debit_account_id AS acc, sum(amount) FILTER (WHERE phase = 'posted') AS posted,
           sum(amount) FILTER (WHERE phase = 'pending') AS pending
    FROM ledger_transfer GROUP BY debit_account_id
), c AS (
    SELECT credit_account_id AS acc, sum(amount) FILTER (WHERE phase = 'posted') AS posted,
           sum(amount) FILTER (WHERE phase = 'pending') AS pending
    FROM ledger_transfer GROUP BY credit_account_id
), resolved AS (
    SELECT h.debit_account_id, h.credit_account_id, h.amount
    FROM ledger_transfer x JOIN ledger_transfer h ON h.id = x.pending_id WHERE x.pending_id IS NOT NULL
), legs AS (
    SELECT acc, coalesce(posted, 0) AS dp, 0 AS cp, coalesce(pending, 0) AS dq, 0 AS cq FROM d
    UNION ALL SELECT acc, 0, coalesce(posted, 0), 0, coalesce(pending, 0) FROM c
    UNION ALL SELECT debit_account_id, 0, 0, -amount, 0 FROM resolved
    UNION ALL SELECT credit_account_id, 0, 0, 0, -amount FROM resolved
), j AS MATERIALIZED (
    SELECT acc, sum(dp) AS jdp, sum(cp) AS jcp, sum(dq) AS jdq, sum(cq) AS jcq FROM legs GROUP BY acc
), active AS (
    SELECT a.id, a.ledger, (a.flags & 3) <> 0 AS cached, a.debits_posted, a.credits_posted, a.debits_pending,
           a.credits_pending, j.jdp, j.jcp, j.jdq, j.jcq
    FROM j JOIN ledger_account a ON a.id = j.acc
), dormant AS (
    SELECT a.id, a.ledger, (a.flags & 3) <> 0 AS cached, a.debits_posted, a.credits_posted, a.debits_pending,
           a.credits_pending, 0 AS jdp, 0 AS jcp, 0 AS jdq, 0 AS jcq
    FROM ledger_account a
    WHERE (a.debits_posted <> 0 OR a.credits_posted <> 0 OR a.debits_pending <> 0 OR a.credits_pending <> 0)
      AND NOT EXISTS (SELECT 1 FROM j WHERE j.acc = a.id)
)
"""
_MISMATCH = ("cached AND (debits_posted <> jdp OR credits_posted <> jcp OR debits_pending <> jdq "
             "OR credits_pending <> jcq)")
_LEDGER_TOTALS_SQL = _JOURNAL_SUMS_SQL + f"""
, per_ledger AS (
    SELECT ledger, 0 AS accounts, sum(CASE WHEN cached THEN 0 ELSE jcp - jdp END) AS net,
           count(*) FILTER (WHERE {_MISMATCH}) AS wrong
    FROM active GROUP BY ledger
    UNION ALL
    SELECT ledger, count(*), sum(CASE WHEN (flags & 3) <> 0 THEN credits_posted - debits_posted ELSE 0 END), 0
    FROM ledger_account GROUP BY ledger
    UNION ALL
    SELECT ledger, 0, 0, count(*) FILTER (WHERE cached) FROM dormant GROUP BY ledger
)
SELECT ledger, sum(accounts), sum(net), sum(wrong) FROM per_ledger GROUP BY ledger ORDER BY ledger
"""
_MISMATCHES_SQL = _JOURNAL_SUMS_SQL + f"""
SELECT * FROM (SELECT * FROM active UNION ALL SELECT * FROM dormant) s WHERE {_MISMATCH} ORDER BY id
LIMIT {MAX_RECORDED}
"""


def _check_balances_sql(session: Session, f: _Findings) -> int:
    accounts, mismatched = 0, 0
    for ledger_name, count, net, wrong in session.execute(text(_LEDGER_TOTALS_SQL)).all():
        accounts += int(count)
        mismatched += int(wrong)
        if int(net or 0) != 0:
            f.add("ledger_not_zero_sum", ledger=ledger_name, net=int(net))
    if mismatched:
        for row in session.execute(text(_MISMATCHES_SQL)):
            f.add("cached_balance_mismatch", account_id=row[0], ledger=row[1], cached=list(row[3:7]),
                  journal=[int(v) for v in row[7:11]])
        f.count += max(0, mismatched - MAX_RECORDED)
    return accounts


def _check_rows_sql(session: Session, f: _Findings) -> int:
    """Re-hash every row in the database. A plain aggregate (no ORDER BY ... LIMIT) lets PostgreSQL split the
    scan across parallel workers; only when something is wrong are the first altered ids listed."""
    count, altered = session.execute(text(
        f"SELECT count(*), count(*) FILTER (WHERE row_hash <> {chain.ROW_HASH_SQL}) FROM ledger_transfer")).one()
    if altered:
        rows = session.execute(text(f"SELECT id FROM ledger_transfer WHERE row_hash <> {chain.ROW_HASH_SQL} "
                                    f"ORDER BY id LIMIT {MAX_RECORDED}"))
        for (tid,) in rows:
            f.add("row_altered", transfer_id=tid)
        f.count += max(0, int(altered) - MAX_RECORDED)
    return int(count)


def _check_rows_python(session: Session, f: _Findings) -> int:
    count = 0
    stmt = select(Transfer.id, Transfer.key, Transfer.ledger, Transfer.debit_account_id, Transfer.credit_account_id,
                  Transfer.amount, Transfer.code, Transfer.phase, Transfer.pending_id, Transfer.corrects_id,
                  Transfer.timeout_at, Transfer.meta, Transfer.created_at, Transfer.row_hash
                  ).order_by(Transfer.id).execution_options(yield_per=STREAM)
    for r in session.execute(stmt):
        count += 1
        h = chain.row_hash(key=r.key, ledger=r.ledger, debit_account_id=r.debit_account_id,
                           credit_account_id=r.credit_account_id, amount=r.amount, code=r.code, phase=r.phase,
                           pending_id=r.pending_id, corrects_id=r.corrects_id, timeout_at=r.timeout_at,
                           meta=r.meta, created_at=r.created_at)
        if h != r.row_hash:
            f.add("row_altered", transfer_id=r.id)
    return count


def _seal_hash_sql(session: Session, prev: str, after: int, last: int) -> tuple[str, int]:
    row = session.execute(text(
        "SELECT encode(sha256(convert_to(:prev || coalesce(string_agg(id::text || ':' || row_hash || ';', '' "
        "ORDER BY id), ''), 'UTF8')), 'hex'), count(*) FROM ledger_transfer WHERE id > :after AND id <= :last"),
        {"prev": prev, "after": after, "last": last}).one()
    return row[0], int(row[1])


def _seal_hash_python(session: Session, prev: str, after: int, last: int) -> tuple[str, int]:
    h = hashlib.sha256(prev.encode())
    n = 0
    rows = session.execute(select(Transfer.id, Transfer.row_hash).where(Transfer.id > after, Transfer.id <= last)
                           .order_by(Transfer.id).execution_options(yield_per=STREAM))
    for tid, rh in rows:
        chain.fold(h, tid, rh)
        n += 1
    return h.hexdigest(), n


def _check_seals(session: Session, f: _Findings, on_pg: bool) -> int:
    prev_hash, after, n = chain.GENESIS, 0, 0
    seal_hash = _seal_hash_sql if on_pg else _seal_hash_python
    for s in session.scalars(select(Seal).order_by(Seal.last_transfer_id).execution_options(yield_per=1000)):
        n += 1
        if s.prev_hash != prev_hash:
            f.add("seal_chain_broken", seal_id=s.id, expected_prev=prev_hash, found_prev=s.prev_hash)
        computed, count = seal_hash(session, s.prev_hash, after, s.last_transfer_id)
        if computed != s.hash or count != s.entry_count:
            f.add("sealed_block_changed", seal_id=s.id, first_transfer_id=after + 1,
                  last_transfer_id=s.last_transfer_id, expected_count=s.entry_count, found_count=count)
        prev_hash, after = s.hash, s.last_transfer_id
    return n


def _checks_in_parallel(session: Session, f: _Findings) -> tuple[int, int, int]:
    """PostgreSQL: the balance and seal checks run on connections of their own while this session re-hashes
    the rows, so the three scans share the machine's cores instead of queueing (the row check alone already
    splits across parallel workers; the seal chain is one ordered aggregate per block and cannot).

    Each check is consistent on its own: the balance check is one statement (one snapshot); sealed ranges
    only ever hold committed rows that nobody can change or add to (see chain.watermark), so any snapshot
    sees the same seals. Holds released by this run are not committed yet, so the other connections see the
    books just before them, cached balances and journal alike. Findings are merged in a fixed order."""
    engine = session.get_bind()

    def on_own_connection(check):
        def run() -> tuple[int, _Findings]:
            own = _Findings()
            with Session(engine) as other:
                try:
                    return check(other, own), own
                finally:
                    other.rollback()
        return run

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="ledger-verify") as pool:
        balances = pool.submit(on_own_connection(_check_balances_sql))
        seals = pool.submit(on_own_connection(lambda other, own: _check_seals(other, own, True)))
        rows = _Findings()
        entries = _check_rows_sql(session, rows)
        accounts, balance_findings = balances.result()
        sealed, seal_findings = seals.result()
    for part in (balance_findings, rows, seal_findings):
        f.merge(part)
    return accounts, entries, sealed


def _check_stale_holds(session: Session, f: _Findings, now: datetime) -> None:
    from timebank.ledger.holds import expired_hold_ids

    for hold_id in expired_hold_ids(session, now=now, limit=MAX_RECORDED):
        f.add("stale_hold", transfer_id=hold_id)


def verify(session: Session, *, triggered_by: str = "system", release_holds: bool = True,
           now: datetime | None = None) -> ReconciliationRun:
    """Run every check and store a ReconciliationRun (flush only). Releases timed-out holds first."""
    now = now or utcnow()
    run = ReconciliationRun(started_at=utcnow(), triggered_by=triggered_by, discrepancies=[])
    on_pg = session.get_bind().dialect.name == "postgresql"
    released = 0
    while release_holds:
        batch = release_expired(session, now=now, limit=500)
        released += len(batch)
        if len(batch) < 500:
            break
    session.flush()
    f = _Findings()
    run.holds_released = released
    if on_pg:
        run.accounts_checked, run.entries_checked, run.seals_checked = _checks_in_parallel(session, f)
    else:
        run.accounts_checked = _check_balances(session, f)
        run.entries_checked = _check_rows_python(session, f)
        run.seals_checked = _check_seals(session, f, on_pg)
    _check_stale_holds(session, f, now)
    run.discrepancy_count = f.count
    run.discrepancies = f.items
    run.ok = f.count == 0
    run.finished_at = utcnow()
    run.summary = (f"{run.entries_checked} entries, {run.accounts_checked} accounts, {run.seals_checked} seals, "
                   f"{released} holds released, {f.count} discrepancies")
    session.add(run)
    session.flush()
    return run

