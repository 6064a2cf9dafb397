"""Ledger benchmark on PostgreSQL, next to pgbench TPC-B run in the same go with the same client count.

    .venv/bin/python bench/ledger_bench.py [--clients 8] [--seconds 15]

Uses two scratch databases (created if missing): tb_ledger_pgbench (pgbench -i -s 1) and tb_ledger_bench
(the timebank schema from the migrations). Prints a table: pgbench tps; single transfers with N concurrent
clients (credits from one shared issuer, with and without a cached balance on that issuer); linked batches
of 1,000; balance read p50/p99 with 1M accounts; verification throughput and its peak RSS at two journal
sizes (generated up to 250k and 1M entries by default: memory must stay flat).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import re
import resource
import subprocess
import sys
import time

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

PG = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
# One scratch database serves both: pgbench runs first, then the ledger schema replaces its tables.
PGBENCH_DB = os.environ.get("BENCH_PGBENCH_DB", "tb_perf_bench")
LEDGER_DB = os.environ.get("BENCH_LEDGER_DB", "tb_perf_bench")
VOLUNTEERS = 10_000


def url(db: str) -> str:
    return f"{PG.replace('postgresql://', 'postgresql+psycopg://')}/{db}"


def ensure_db(name: str) -> None:
    eng = create_engine(url("postgres"), isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        if not c.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            c.execute(text(f'CREATE DATABASE "{name}"'))
    eng.dispose()


def run_pgbench(clients: int, seconds: int) -> float:
    ensure_db(PGBENCH_DB)
    host = ["-h", "127.0.0.1", "-U", "postgres"]
    subprocess.run(["pgbench", *host, "-i", "-s", "1", "-q", PGBENCH_DB], check=True, capture_output=True)
    out = subprocess.run(["pgbench", *host, "-c", str(clients), "-j", "2", "-T", str(seconds), PGBENCH_DB],
                         check=True, capture_output=True, text=True).stdout
    return float(re.search(r"tps = ([\d.]+)", out).group(1))


def build_schema() -> None:
    ensure_db(LEDGER_DB)
    eng = create_engine(url(LEDGER_DB))
    with eng.begin() as c:
        c.execute(text("DROP SCHEMA public CASCADE"))
        c.execute(text("CREATE SCHEMA public"))
    eng.dispose()
    from flask_migrate import upgrade

    from timebank import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url(LEDGER_DB), "LOG_LEVEL": "WARNING", "REDIS_URL": "embedded",
                      "REDIS_EMBEDDED_PATH": "/tmp/tb-ledger-bench.rdb"})
    with app.app_context():
        upgrade(revision="heads")
        from timebank.extensions import db

        db.engine.dispose()


def setup_accounts() -> dict:
    from timebank import ledger
    from timebank.ledger import Code, Ledger, OwnerKind

    eng = create_engine(url(LEDGER_DB))
    with Session(eng) as s:
        issuer = ledger.account_for(s, owner_kind=OwnerKind.issuer, owner_id=1, ledger=Ledger.points).id
        # A limited (cached, row-locked) "issuer" for comparison: a fund topped up from the real issuer.
        cached_src = ledger.account_for(s, owner_kind=OwnerKind.community_fund, owner_id=1, ledger=Ledger.points).id
        ledger.transfer(s, key="bench:fund", debit_account_id=issuer, credit_account_id=cached_src,
                        amount=10**12, ledger=Ledger.points, code=Code.credit)
        shop = ledger.account_for(s, owner_kind=OwnerKind.merchant, owner_id=1, ledger=Ledger.points).id
        s.commit()
        first = s.scalar(text("SELECT coalesce(max(owner_id), 0) FROM ledger_account"))
    _copy_accounts(first + 1, VOLUNTEERS)
    with eng.connect() as c:
        vols = list(c.scalars(text("SELECT id FROM ledger_account WHERE owner_kind = 'volunteer' ORDER BY id")))
    eng.dispose()
    return {"issuer": issuer, "cached_src": cached_src, "shop": shop, "volunteers": vols}


def _copy_accounts(first_owner: int, n: int) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/{LEDGER_DB}") as conn, conn.cursor() as cur:
        with cur.copy("COPY ledger_account (ledger, owner_kind, owner_id, org_id, flags, debits_posted, "
                      "credits_posted, debits_pending, credits_pending, created_at) FROM STDIN") as cp:
            for i in range(first_owner, first_owner + n):
                cp.write_row(("points", "volunteer", i, 1, 1, 0, 0, 0, 0, "2026-01-01T00:00:00Z"))
        conn.commit()
        conn.commit()
    # A long-lived table is vacuumed: without it the first read of each freshly copied page sets its hint bits
    # (a write) and the read figures measure the bulk load, not the service.
    with psycopg.connect(f"{PG}/{LEDGER_DB}", autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE ledger_account")


def _single_worker(args) -> int:
    src, vols, seconds, n, tag = args
    from timebank import ledger, uow
    from timebank.ledger import Code, Ledger

    eng = create_engine(url(LEDGER_DB), pool_size=1)
    done = 0
    rnd = random.Random(n)
    deadline = time.perf_counter() + seconds
    with Session(eng) as s:
        while time.perf_counter() < deadline:
            vol = rnd.choice(vols)

            def post(sess, i=done, vol=vol):
                return ledger.transfer(sess, key=f"{tag}:{n}:{i}", debit_account_id=src, credit_account_id=vol,
                                       amount=1, ledger=Ledger.points, code=Code.credit)
            uow.retrying(s, post)
            done += 1
    eng.dispose()
    return done


def bench_single(acc: dict, clients: int, seconds: int, src_key: str) -> float:
    with mp.get_context("fork").Pool(clients) as pool:
        start = time.perf_counter()
        counts = pool.map(_single_worker, [(acc[src_key], acc["volunteers"], seconds, n, src_key)
                                           for n in range(clients)])
        elapsed = time.perf_counter() - start
    return sum(counts) / elapsed


def _linked_worker(args) -> int:
    acc, seconds, size, poster, tag = args
    from timebank import ledger
    from timebank.ledger import Code, Ledger, TransferSpec

    eng = create_engine(url(LEDGER_DB), pool_size=1)
    rnd = random.Random(7 + poster)
    posted = 0
    start = time.perf_counter()
    with Session(eng) as s:
        b = 0
        while time.perf_counter() - start < seconds:
            specs = [TransferSpec(f"{tag}:{poster}:{b}:{i}", acc["issuer"], rnd.choice(acc["volunteers"]),
                                  1 + i % 5, Ledger.points, Code.credit,
                                  {"attendance_id": b * size + i, "task_id": b, "category": "绿色环保"})
                     for i in range(size)]
            ledger.linked(s, specs)
            s.commit()
            posted += size
            b += 1
    eng.dispose()
    return posted


def bench_linked(acc: dict, seconds: int, size: int = 1000, posters: int = 1) -> tuple[float, int]:
    """Linked batches of `size` credits (issuer -> random volunteers, with a credit's metadata), posted by
    `posters` processes at once (overlapping batches lock shared volunteers in id order and queue)."""
    with mp.get_context("fork").Pool(posters) as pool:
        start = time.perf_counter()
        counts = pool.map(_linked_worker, [(acc, seconds, size, p, f"batch{posters}") for p in range(posters)])
        elapsed = time.perf_counter() - start
    return sum(counts) / elapsed, sum(counts)


def bench_reads(n_reads: int = 20_000) -> tuple[float, float, int]:
    from timebank import ledger

    _copy_accounts(10_000_000, 1_000_000 - VOLUNTEERS)
    eng = create_engine(url(LEDGER_DB))
    with eng.connect() as c:
        total = c.scalar(text("SELECT count(*) FROM ledger_account"))
        lo, hi = c.execute(text("SELECT min(id), max(id) FROM ledger_account WHERE owner_kind='volunteer'")).one()
    rnd = random.Random(3)
    times = []
    with Session(eng) as s:
        for _ in range(n_reads):
            aid = rnd.randint(lo, hi)
            t0 = time.perf_counter()
            ledger.balance(s, aid)
            s.rollback()
            times.append(time.perf_counter() - t0)
    eng.dispose()
    times.sort()
    return times[len(times) // 2] * 1000, times[int(len(times) * 0.99)] * 1000, total


def grow_journal(acc: dict, target: int) -> int:
    """Add generated credits (issuer -> volunteers, with metadata like the credit path's) until the journal
    holds `target` entries, keep the volunteers' cached balances equal to the journal, and seal everything.

    Rows are generated inside PostgreSQL with the same row hash the ledger computes (chain.ROW_HASH_SQL), and
    loaded with foreign-key triggers off (session_replication_role = replica): this is bench data loading;
    the rows satisfy every constraint by construction, and the verification below proves it.
    """
    from timebank.ledger import chain

    eng = create_engine(url(LEDGER_DB))
    with eng.begin() as c:
        have = c.scalar(text("SELECT count(*) FROM ledger_transfer"))
        need = target - have
        if need > 0:
            c.execute(text("SET LOCAL session_replication_role = replica"))
            c.execute(text("""
                CREATE TEMP TABLE gen ON COMMIT DROP AS
                SELECT 'gen:' || g AS key, 'points'::varchar AS ledger, CAST(:issuer AS bigint) AS debit_account_id,
                       (CAST(:vols AS bigint[]))[1 + g % CAST(:nvol AS int)] AS credit_account_id,
                       (1 + g % 7)::bigint AS amount, 1::smallint AS code, 'posted'::varchar AS phase,
                       NULL::bigint AS pending_id, NULL::bigint AS corrects_id, NULL::timestamptz AS timeout_at,
                       ('{"attendance_id": ' || g || ', "task_id": ' || (g / 50) || ', "category": "绿色环保"}')::json
                           AS meta,
                       now() - interval '1 day' + g * interval '1 microsecond' AS created_at
                FROM generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint)) g"""),
                {"issuer": acc["issuer"], "vols": acc["volunteers"], "nvol": len(acc["volunteers"]),
                 "lo": have + 1, "hi": have + need})
            c.execute(text(f"""
                INSERT INTO ledger_transfer (key, ledger, debit_account_id, credit_account_id, amount, code, phase,
                    pending_id, corrects_id, timeout_at, meta, created_at, row_hash)
                SELECT key, ledger, debit_account_id, credit_account_id, amount, code, phase, pending_id,
                    corrects_id, timeout_at, meta, created_at, {chain.ROW_HASH_SQL} FROM gen"""))
            c.execute(text("""
                UPDATE ledger_account a SET credits_posted = a.credits_posted + s.total
                FROM (SELECT credit_account_id, sum(amount) AS total FROM gen GROUP BY credit_account_id) s
                WHERE a.id = s.credit_account_id"""))
        total = c.scalar(text("SELECT count(*) FROM ledger_transfer"))
    with Session(eng) as s:  # the same loop as the sealing job
        while True:
            high = chain.watermark(s)
            s.commit()
            row = chain.seal(s, up_to=high)
            s.commit()
            if row is None or row.last_transfer_id >= high:
                break
    with eng.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text("VACUUM ANALYZE ledger_transfer"))
    eng.dispose()
    return total


def _verify_child(q) -> None:
    from timebank.ledger.verify import verify

    eng = create_engine(url(LEDGER_DB))
    with Session(eng) as s:
        t0 = time.perf_counter()
        run = verify(s, triggered_by="bench", release_holds=False)
        elapsed = time.perf_counter() - t0
        s.commit()
        q.put((run.entries_checked, elapsed, run.ok, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
               run.accounts_checked))
    eng.dispose()


def bench_verify() -> tuple[int, float, bool, int, int]:
    ctx = mp.get_context("spawn")  # a fresh process: its peak RSS is verification's alone
    q = ctx.Queue()
    p = ctx.Process(target=_verify_child, args=(q,))
    p.start()
    result = q.get()
    p.join()
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--verify-sizes", type=lambda v: [int(x) for x in v.split(",")], default=[250_000, 1_000_000],
                    help="journal sizes (entries) at which to run verification; peak RSS should not grow")
    a = ap.parse_args()
    print(f"pgbench TPC-B -c {a.clients} -j 2 -T {a.seconds} ...", file=sys.stderr)
    pg_tps = run_pgbench(a.clients, a.seconds)
    print("building ledger schema ...", file=sys.stderr)
    build_schema()
    acc = setup_accounts()
    print("single transfers ...", file=sys.stderr)
    single = bench_single(acc, a.clients, a.seconds, "issuer")
    single_cached = bench_single(acc, a.clients, a.seconds, "cached_src")
    print("linked batches ...", file=sys.stderr)
    linked_tps, linked_n = bench_linked(acc, a.seconds)
    linked2_tps, linked2_n = bench_linked(acc, a.seconds, posters=2)
    print("balance reads with 1M accounts ...", file=sys.stderr)
    p50, p99, n_accounts = bench_reads()
    verifications = []
    for size in a.verify_sizes:
        print(f"verification at {size:,} entries ...", file=sys.stderr)
        grow_journal(acc, size)
        verifications.append(bench_verify())
    rows = [
        ("pgbench TPC-B tps (reference)", f"{pg_tps:,.0f}", ""),
        (f"single transfers/s, {a.clients} clients, uncached issuer", f"{single:,.0f}",
         f"{single / pg_tps:.2f}x pgbench (target >= 0.50x)"),
        (f"single transfers/s, {a.clients} clients, cached (row-locked) source", f"{single_cached:,.0f}",
         f"{single_cached / pg_tps:.2f}x pgbench (design comparison)"),
        ("linked batches of 1,000, one poster: transfers/s", f"{linked_tps:,.0f}",
         f"{linked_n:,} posted, {linked_tps / pg_tps:.1f}x pgbench (target >= 20,000/s = 3.9x the 5,100 quoted)"),
        ("linked batches of 1,000, two posters: transfers/s", f"{linked2_tps:,.0f}",
         f"{linked2_n:,} posted, {linked2_tps / pg_tps:.1f}x pgbench"),
        (f"balance read p50 / p99 ms ({n_accounts:,} accounts)", f"{p50:.2f} / {p99:.2f}", "target p99 <= 5 ms"),
    ]
    rows += [(f"verification entries/s ({entries:,} entries, {accounts:,} accounts)", f"{entries / secs:,.0f}",
              f"{secs:.2f}s, ok={ok}, peak RSS {rss_kb / 1024:.0f} MB, {entries / secs / pg_tps:.0f}x pgbench "
              f"(target >= 500,000/s = 98x the 5,100 quoted; flat RSS)")
             for entries, secs, ok, rss_kb, accounts in verifications]
    width = max(len(r[0]) for r in rows)
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>14}  {note}")


if __name__ == "__main__":
    main()
