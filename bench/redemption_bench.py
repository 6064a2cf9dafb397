"""Redemptions completed per second, end to end, against a loopback merchant that answers at once; where the
time goes (our code vs waiting on PostgreSQL / Redis / the merchant); pgbench and a minimal Flask endpoint
run in the same go as references.

One redemption, end to end: a volunteer's POST /api/redemptions (hold + outbox row, commit, outbox kick) ->
an RQ worker drains the outbox and enqueues the delivery -> a worker signs and POSTs the webhook to the merchant
server on 127.0.0.1, which verifies it with `timebank.ops.webhook_verify` and answers {"decision":"accept"} ->
the outcome is recorded (merchant_ack_at) -> the merchant's till POSTs /api/redemptions/confirm with the
volunteer's code -> captured. Clients are closed loops: each confirms only after its webhook arrived.

The API runs in this process through Flask's test client (WSGI in-process: no gunicorn, no TCP on the API
side); the workers are separate `timebank` RQ worker processes. Time split: psycopg's execute/commit/rollback,
redis-py's execute_command / pipeline execute and the webhook POST are timed in every process while a request
or job is in flight; "our code" is the rest of that busy time (Flask, SQLAlchemy, RQ and our services).

    .venv/bin/python bench/redemption_bench.py --redemptions 600 --clients 8 --workers 2

It rebuilds the schema of the database it is given (default: the redemption engineer's tb_redeem).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

DEFAULT_DB = "postgresql://postgres@127.0.0.1:5432/tb_redeem"
DEFAULT_REDIS = "redis://127.0.0.1:6379/3"
PGBENCH_DB = "tb_redeem_pgbench"

# --- timing hooks ---------------------------------------------------------------------------------------------


class Timers:
    """Seconds spent per category by threads that are inside a request or a job (thread-local flag)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seconds: dict[str, float] = defaultdict(float)
        self.counts: dict[str, int] = defaultdict(int)
        self.local = threading.local()

    def active(self) -> bool:
        return getattr(self.local, "active", False)

    def add(self, category: str, seconds: float) -> None:
        with self.lock:
            self.seconds[category] += seconds
            self.counts[category] += 1

    def timed(self, category: str, func, *, always: bool = False):
        timers = self

        def wrapper(*args, **kwargs):
            if not (always or timers.active()):
                return func(*args, **kwargs)
            started = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                timers.add(category, time.perf_counter() - started)

        return wrapper

    def busy(self, func):
        """Mark the call as busy time (a request or a job) and count it."""
        timers = self

        def wrapper(*args, **kwargs):
            timers.local.active = True
            started = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                timers.local.active = False
                timers.add("busy", time.perf_counter() - started)

        return wrapper

    def snapshot(self) -> dict:
        with self.lock:
            return {"seconds": dict(self.seconds), "counts": dict(self.counts)}

    def reset(self) -> None:
        with self.lock:
            self.seconds.clear()
            self.counts.clear()


TIMERS = Timers()


def install_hooks() -> None:
    import psycopg
    import redis
    import redis.client

    from timebank.ops import webhooks

    psycopg.Cursor.execute = TIMERS.timed("postgres", psycopg.Cursor.execute)
    psycopg.Cursor.executemany = TIMERS.timed("postgres", psycopg.Cursor.executemany)
    psycopg.Connection.commit = TIMERS.timed("postgres_commit", psycopg.Connection.commit)
    psycopg.Connection.rollback = TIMERS.timed("postgres", psycopg.Connection.rollback)
    original = redis.Redis.execute_command

    def execute_command(self, *args, **options):
        name = str(args[0]).upper() if args else ""
        # Blocking pops are a worker waiting for work: idle, not a cost of a redemption.
        category = "redis_idle" if name.startswith(("BL", "BR", "BZ")) else "redis"
        if category == "redis_idle" or not TIMERS.active():
            started = time.perf_counter()
            try:
                return original(self, *args, **options)
            finally:
                if category == "redis_idle":
                    TIMERS.add(category, time.perf_counter() - started)
        started = time.perf_counter()
        try:
            return original(self, *args, **options)
        finally:
            TIMERS.add(category, time.perf_counter() - started)

    redis.Redis.execute_command = execute_command
    redis.client.Pipeline.execute = TIMERS.timed("redis", redis.client.Pipeline.execute)
    webhooks.post = TIMERS.timed("merchant_http", webhooks.post)


# --- worker process -------------------------------------------------------------------------------------------


def worker_main(stats_file: str) -> None:
    from timebank import create_app
    from timebank.workers.runner import make_worker

    install_hooks()
    app = create_app({"LOG_REQUESTS": False, "LOG_LEVEL": "WARNING"})
    with app.app_context():
        worker = make_worker(app, ["redemptions"])
        worker.execute_job = TIMERS.busy(worker.execute_job)
        start = {"wall": time.perf_counter(), "cpu": time.process_time()}

        def reset(*_):  # SIGUSR1 from the driver: the warm-up is over, count from here
            TIMERS.reset()
            start.update(wall=time.perf_counter(), cpu=time.process_time())

        signal.signal(signal.SIGUSR1, reset)
        worker.work(burst=False, with_scheduler=False, logging_level="WARNING")
        snapshot = TIMERS.snapshot()
        result = {"wall": time.perf_counter() - start["wall"], "cpu": time.process_time() - start["cpu"],
                  "jobs": snapshot["counts"].get("busy", 0), **snapshot}
    Path(stats_file).write_text(json.dumps(result))


# --- the merchant ---------------------------------------------------------------------------------------------


class Merchant:
    """The merchant's webhook receiver: verify, answer at once, tell the waiting client its webhook arrived."""

    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}  # webhook path -> that merchant's secret
        self.events: dict[int, threading.Event] = {}
        self.lock = threading.Lock()
        self.bad = 0
        merchant = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802
                from timebank.ops.webhook_verify import WebhookVerificationError, verify

                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                try:
                    event = verify(merchant.secrets.get(self.path, ""), self.headers, body)
                    answer, status = b'{"decision":"accept"}', 200
                except WebhookVerificationError:
                    merchant.bad += 1
                    event, answer, status = None, b'{"error":"bad signature"}', 401
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
                if event and event["type"] == "redemption.held":
                    merchant.event_for(event["data"]["redemption_id"]).set()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url_root(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def event_for(self, redemption_id: int) -> threading.Event:
        with self.lock:
            return self.events.setdefault(redemption_id, threading.Event())


# --- setup ----------------------------------------------------------------------------------------------------


def rebuild_schema(app) -> None:
    from flask_migrate import upgrade
    from sqlalchemy import text

    from timebank.extensions import db, redis_ext

    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        upgrade(revision="heads")
        redis_ext.connection.flushdb()
        db.engine.dispose()


def seed(app, merchant: Merchant, volunteers: int, rewards_count: int, merchants: int):
    """Volunteers with points; `merchants` merchants, each with its own webhook path, secret, key and rewards.
    Returns (keys by reward id, reward ids, bearer tokens)."""
    from timebank import ledger
    from timebank.extensions import db
    from timebank.people import credit_code, orgs, partners, security
    from timebank.people import persons as people
    from timebank.people.access import SYSTEM
    from timebank.people.models import OrgKind
    from timebank.redemption import rewards

    with app.app_context():
        s = db.session
        district = orgs.create_root(s, name="压测区")
        street = orgs.create(s, SYSTEM, kind=OrgKind.street, name="压测街道", parent_id=district.id)
        community = orgs.create(s, SYSTEM, kind=OrgKind.community, name="压测社区", parent_id=street.id)
        keys: dict[int, str] = {}
        for m in range(merchants):
            shop = partners.create_merchant(s, SYSTEM, name=f"压测超市{m}", credit_code_value=credit_code.make(
                f"923301000{m:08d}"), org_id=street.id)
            _, key = partners.issue_api_key(s, SYSTEM, merchant_id=shop.id)
            path = f"/hook/{shop.id}"
            _, secret = rewards.set_profile(s, SYSTEM, shop.id, webhook_url=merchant.url_root + path,
                                            community_ids=[community.id])
            merchant.secrets[path] = secret
            for i in range(max(rewards_count // merchants, 1)):
                reward = rewards.create_reward(s, SYSTEM, merchant_id=shop.id, name=f"商品{m}-{i}", points_price=10,
                                               stock=1_000_000, community_ids=[community.id])
                keys[reward.id] = key
        issuer = ledger.account_for(s, owner_kind=ledger.OwnerKind.issuer, owner_id=community.id,
                                    ledger=ledger.Ledger.points, org_id=community.id)
        tokens = []
        for i in range(volunteers):
            person = people.register(s, None, name=f"志愿者{i}", phone=f"137{i:08d}", password=None,
                                     home_org_id=community.id)
            account = rewards.volunteer_account(s, person.id, community.id)
            ledger.transfer(s, key=f"bench:credit:{person.id}", debit_account_id=issuer.id,
                            credit_account_id=account.id, amount=1_000_000, ledger=ledger.Ledger.points,
                            code=ledger.Code.credit)
            tokens.append(security.issue_token(app.config["SECRET_KEY"], person.id, person.token_version))
        s.commit()
        return keys, list(keys), tokens


# --- the run --------------------------------------------------------------------------------------------------


def start_workers(n: int, env: dict, tmp: str) -> list[tuple[subprocess.Popen, str]]:
    procs = []
    for i in range(n):
        stats = os.path.join(tmp, f"worker-{i}.json")
        proc = subprocess.Popen([sys.executable, __file__, "--worker", stats], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append((proc, stats))
    return procs


def stop_workers(procs) -> list[dict]:
    for proc, _ in procs:
        proc.send_signal(signal.SIGTERM)
    out = []
    for proc, stats in procs:
        proc.wait(60)
        out.append(json.loads(Path(stats).read_text()))
    return out


def run_redemptions(app, merchant: Merchant, keys: dict[int, str], reward_ids: list[int], tokens: list[str],
                    total: int, clients: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    lock = threading.Lock()
    counter = iter(range(total))

    def one_client(client_no: int) -> None:
        client = app.test_client()
        request = TIMERS.busy(client.post)
        mine = tokens[client_no::clients]
        n = 0
        while True:
            with lock:
                index = next(counter, None)
            if index is None:
                return
            token = mine[n % len(mine)]
            n += 1
            started = time.perf_counter()
            reward_id = reward_ids[index % len(reward_ids)]
            resp = request("/api/redemptions", json={"reward_id": reward_id},
                           headers={"Authorization": f"Bearer {token}", "Idempotency-Key": f"bench-{index}"})
            assert resp.status_code == 201, resp.get_json()
            body = resp.get_json()
            if not merchant.event_for(body["id"]).wait(60):
                raise RuntimeError(f"no webhook for redemption {body['id']}")
            confirm = request("/api/redemptions/confirm", json={"code": body["code"]},
                              headers={"X-API-Key": keys[reward_id]})
            assert confirm.status_code == 200 and confirm.get_json()["status"] == "captured", confirm.get_json()
            with lock:
                latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        for f in [pool.submit(one_client, i) for i in range(clients)]:
            f.result()
    return time.perf_counter() - started, latencies


class PgSampler:
    """Samples pg_stat_activity every 20 ms: what our database's backends are doing (running, waiting on a
    row lock, idle in a transaction waiting for the client, ...), to tell lock queues from slow clients."""

    def __init__(self, url: str) -> None:
        self.url = url.replace("postgresql+psycopg://", "postgresql://")
        self.tally: dict[str, int] = defaultdict(int)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stop.wait(0.02):
                rows = conn.execute(
                    "SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = "
                    "'client backend'").fetchall()
                for state, wtype, wevent in rows:
                    if state == "idle":
                        continue
                    if state == "idle in transaction":
                        key = "idle in transaction (waiting for the client)"
                    elif wtype is None:
                        key = "running (CPU)"
                    elif wtype == "Lock":
                        key = f"row/transaction lock wait ({wevent})"
                    else:
                        key = f"{wtype}:{wevent}"
                    self.tally[key] += 1

    def result(self) -> dict:
        total = sum(self.tally.values()) or 1
        return {k: round(v / total, 3) for k, v in sorted(self.tally.items(), key=lambda kv: -kv[1])}


def flask_reference(app, clients: int, seconds: float) -> float:
    """Requests per second of the app's minimal endpoint (GET /healthz) with the same client threads."""
    done = []
    stop = time.perf_counter() + seconds

    def loop():
        client = app.test_client()
        n = 0
        while time.perf_counter() < stop:
            client.get("/healthz")
            n += 1
        done.append(n)

    with ThreadPoolExecutor(max_workers=clients) as pool:
        for f in [pool.submit(loop) for _ in range(clients)]:
            f.result()
    return sum(done) / seconds


def pgbench(host_url: str, seconds: int) -> float:
    env = {**os.environ, "PGHOST": "127.0.0.1", "PGUSER": "postgres"}
    subprocess.run(["psql", "-d", "postgres", "-qc", f"DROP DATABASE IF EXISTS {PGBENCH_DB}"], env=env, check=True)
    subprocess.run(["psql", "-d", "postgres", "-qc", f"CREATE DATABASE {PGBENCH_DB}"], env=env, check=True)
    subprocess.run(["pgbench", "-i", "-s", "1", "-q", PGBENCH_DB], env=env, check=True, capture_output=True)
    out = subprocess.run(["pgbench", "-c", "8", "-j", "2", "-T", str(seconds), PGBENCH_DB], env=env, check=True,
                         capture_output=True, text=True).stdout
    return float(re.search(r"tps = ([\d.]+)", out).group(1))


def split(stats: dict, busy: float) -> dict:
    sec = stats["seconds"]
    pg = sec.get("postgres", 0.0) + sec.get("postgres_commit", 0.0)
    rd = sec.get("redis", 0.0)
    http = sec.get("merchant_http", 0.0)
    ours = max(busy - pg - rd - http, 0.0)
    return {"busy_s": round(busy, 3), "postgres_s": round(pg, 3), "redis_s": round(rd, 3),
            "merchant_http_s": round(http, 3), "our_code_s": round(ours, 3),
            "fraction": {k: round(v / busy, 3) if busy else 0 for k, v in
                         (("our_code", ours), ("postgres", pg), ("redis", rd), ("merchant_http", http))},
            "commits": stats["counts"].get("postgres_commit", 0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", metavar="STATS_FILE")
    parser.add_argument("--redemptions", type=int, default=600)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rewards", type=int, default=8)
    parser.add_argument("--merchants", type=int, default=1,
                        help="spread the rewards over this many merchants (each has one points account)")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS))
    parser.add_argument("--pgbench-seconds", type=int, default=15)
    parser.add_argument("--skip-pgbench", action="store_true")
    args = parser.parse_args()
    if args.worker:
        worker_main(args.worker)
        return

    tmp = tempfile.mkdtemp(prefix="redemption-bench-")
    env = {**os.environ, "TIMEBANK_DATABASE_URL": args.database_url, "TIMEBANK_REDIS_URL": args.redis_url,
           "TIMEBANK_INSTANCE_PATH": tmp, "TIMEBANK_LOG_LEVEL": "WARNING", "TIMEBANK_SECRET_KEY": "bench-secret",
           # the bench's merchant receiver listens on 127.0.0.1, which production webhooks refuse
           "TIMEBANK_WEBHOOK_ALLOW_PRIVATE_HOSTS": "1"}
    os.environ.update(env)
    from timebank import create_app

    install_hooks()
    app = create_app({"LOG_REQUESTS": False})
    rebuild_schema(app)
    merchant = Merchant()
    keys, reward_ids, tokens = seed(app, merchant, volunteers=args.clients * 4, rewards_count=args.rewards,
                                    merchants=args.merchants)
    workers = start_workers(args.workers, env, tmp)
    try:
        warm = max(args.clients * 2, 16)
        run_redemptions(app, merchant, keys, reward_ids, tokens, warm, args.clients)
        time.sleep(0.5)  # let the warm-up's last jobs finish before the counters restart
        for proc, _ in workers:
            proc.send_signal(signal.SIGUSR1)
        TIMERS.reset()
        sampler = PgSampler(args.database_url)
        sampler.thread.start()
        cpu0 = time.process_time()
        elapsed, latencies = run_redemptions(app, merchant, keys, reward_ids, tokens, args.redemptions,
                                             args.clients)
        sampler.stop.set()
        api_cpu = time.process_time() - cpu0
        api_stats = TIMERS.snapshot()
    finally:
        worker_stats = stop_workers(workers)
    flask_rps = flask_reference(app, args.clients, 5.0)
    tps = None if args.skip_pgbench else pgbench(args.database_url, args.pgbench_seconds)

    rate = args.redemptions / elapsed
    api = split(api_stats, api_stats["seconds"].get("busy", 0.0))
    merged: dict = {"seconds": defaultdict(float), "counts": defaultdict(int)}
    for w in worker_stats:
        for k, v in w["seconds"].items():
            merged["seconds"][k] += v
        for k, v in w["counts"].items():
            merged["counts"][k] += v
    wk = split(merged, merged["seconds"].get("busy", 0.0))
    commits_per = (api["commits"] + wk["commits"]) / args.redemptions
    total_busy = api["busy_s"] + wk["busy_s"]
    whole = {k: round((api[f"{k}_s"] + wk[f"{k}_s"]) / total_busy, 3)
             for k in ("our_code", "postgres", "redis", "merchant_http")}
    result = {
        "redemptions": args.redemptions, "clients": args.clients, "worker_processes": args.workers,
        "merchants": args.merchants,
        "elapsed_s": round(elapsed, 2), "redemptions_per_s": round(rate, 1),
        "latency_ms": {"p50": round(statistics.median(latencies) * 1000, 1),
                       "p95": round(sorted(latencies)[int(len(latencies) * 0.95) - 1] * 1000, 1)},
        "api_process": {**api, "cpu_s": round(api_cpu, 2)},
        "workers": {**wk, "jobs": sum(w["jobs"] for w in worker_stats),
                    "cpu_s": round(sum(w["cpu"] for w in worker_stats), 2)},
        "whole_fraction": whole,
        "pg_backends_busy_with_us": sampler.result(),
        "pg_commits_per_redemption": round(commits_per, 2),
        "pg_commits_per_s": round(commits_per * rate, 1),
        "bad_signatures": merchant.bad,
        "reference": {"pgbench_tps_c8_j2": tps, "flask_healthz_rps": round(flask_rps, 1)},
    }
    if tps:
        result["ratio_pg_commits_to_pgbench_tps"] = round(commits_per * rate / tps, 3)
    result["ratio_redemptions_to_flask_healthz"] = round(rate / flask_rps, 4)
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
