"""Fan-out of points-expiry warnings: N warnings (one per volunteer of a province's district) queued through
`notify` and delivered by SMS by worker processes to a loopback SMS gateway that checks every signature and
dedupes on `out_id`; messages per second and peak memory per worker (VmHWM), next to pgbench run in the same go.

    .venv/bin/python bench/notify_bench.py [--count 100000] [--workers 2] [--pgbench-seconds 10]

It rebuilds the schema of the database it is given (BENCH_DATABASE_URL, default tb_notify_bench) after pgbench
used it, and uses the Redis named by BENCH_REDIS_URL. Quiet hours are switched off (the workers run on the wall
clock) and the daily cap is raised, so every warning goes out at once.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_DB = "postgresql://postgres@127.0.0.1:5432/tb_notify_bench"
DEFAULT_REDIS = "redis://127.0.0.1:6379/9"
APP_KEY, APP_SECRET = "bench-app", "bench-secret"
BATCH = 1000


class Gateway:
    """The SMS provider: verifies the HMAC, sends each out_id once, counts."""

    def __init__(self, latency: float = 0.0) -> None:
        self.lock = threading.Lock()
        self.sent: set[str] = set()
        self.requests = 0
        self.bad = 0
        self.latency = latency
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                h = self.headers
                expected = hmac.new(APP_SECRET.encode(), f"{h['X-Tb-App-Key']}\n{h['X-Tb-Timestamp']}\n"
                                    f"{h['X-Tb-Nonce']}\n".encode() + body, hashlib.sha256).hexdigest()
                ok = hmac.compare_digest(expected, h.get("X-Tb-Signature", ""))
                out_id = json.loads(body)["out_id"] if ok else None
                with gateway.lock:
                    gateway.requests += 1
                    gateway.bad += not ok
                    if ok:
                        gateway.sent.add(out_id)
                if gateway.latency:
                    time.sleep(gateway.latency)  # a provider's round trip over the internet
                data = json.dumps({"code": "OK" if ok else "SIGNATURE_INVALID", "message_id": out_id}).encode()
                self.send_response(200 if ok else 401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


def run_pgbench(database_url: str, clients: int, seconds: int) -> float:
    parts = urlsplit(database_url)
    args = ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432), "-U", parts.username or "postgres"]
    db = parts.path.lstrip("/")
    subprocess.run(["pgbench", *args, "-i", "-s", "1", "-q", db], check=True, capture_output=True)
    out = subprocess.run(["pgbench", *args, "-c", str(clients), "-j", "2", "-T", str(seconds), db],
                         check=True, capture_output=True, text=True).stdout
    return float(re.search(r"tps = ([\d.]+)", out).group(1))


def rebuild_schema(app) -> None:
    from flask_migrate import upgrade
    from sqlalchemy import text

    from timebank.extensions import db

    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        upgrade(revision="heads")
        db.engine.dispose()


def seed_people(app, count: int) -> list[int]:
    """A district with one community and `count` volunteers (bulk insert: the bench measures notifications)."""
    from sqlalchemy import insert, select

    from timebank.extensions import db
    from timebank.people import orgs
    from timebank.people.models import Org, OrgKind, Person

    with app.app_context():
        session = db.session
        district = orgs.create_root(session, name="示范省示范区")
        community = Org(kind=OrgKind.community, name="幸福社区", parent_id=district.id, settings={}, path="")
        session.add(community)
        session.flush()
        community.path = f"{district.path}{community.id}/"
        session.commit()
        for start in range(0, count, 10_000):
            session.execute(insert(Person), [
                {"name": f"志愿者{i}", "phone": f"13{i:09d}", "home_org_id": community.id, "is_active": True,
                 "token_version": 1} for i in range(start, min(start + 10_000, count))])
            session.commit()
        ids = list(session.scalars(select(Person.id).order_by(Person.id)))
        session.remove()
        return ids


def queue_warnings(app, person_ids: list[int]) -> float:
    """`notify_many` per page of 1,000 volunteers, as the expiry sweep calls it, committed per page. Seconds."""
    from timebank import uow
    from timebank.extensions import db
    from timebank.notify import Event, notify_many

    started = time.perf_counter()
    with app.app_context():
        for start in range(0, len(person_ids), BATCH):
            with uow.unit_of_work(db.session) as session:
                notify_many(session, "points.expiring", [
                    Event(pid, {"points": 120, "expires_on": "2026年3月31日", "days": 30},
                          f"points.expiring:bench:{pid}:30") for pid in person_ids[start:start + BATCH]])
        db.session.remove()
    return time.perf_counter() - started


def peak_rss_mb(pid: int) -> float:
    """The worker's peak resident set (VmHWM from /proc: the worker runs its jobs in its own process), MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return 0.0


def sent_count(app) -> int:
    from sqlalchemy import func, select

    from timebank.extensions import db
    from timebank.notify.models import DeliveryState, NotificationDelivery

    with app.app_context():
        try:
            return db.session.scalar(select(func.count()).select_from(NotificationDelivery)
                                     .where(NotificationDelivery.state == DeliveryState.sent))
        finally:
            db.session.remove()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS))
    parser.add_argument("--pgbench-seconds", type=int, default=10)
    parser.add_argument("--pgbench-clients", type=int, default=2)
    parser.add_argument("--timeout", type=int, default=3600)
    parser.add_argument("--gateway-latency-ms", type=float, default=0.0,
                        help="the fake gateway answers after this long, as a provider across the internet does")
    args = parser.parse_args()

    pgbench_tps = run_pgbench(args.database_url, args.pgbench_clients, args.pgbench_seconds)
    gateway = Gateway(args.gateway_latency_ms / 1000)
    tmp = tempfile.mkdtemp(prefix="notify-bench-")
    env = {**os.environ, "TIMEBANK_DATABASE_URL": args.database_url, "TIMEBANK_REDIS_URL": args.redis_url,
           "TIMEBANK_INSTANCE_PATH": tmp, "TIMEBANK_LOG_LEVEL": "WARNING", "TIMEBANK_SECRET_KEY": "bench-secret",
           "TIMEBANK_NOTIFY_LIVE_CHANNELS": "sms", "TIMEBANK_SMS_GATEWAY_URL": f"http://127.0.0.1:{gateway.port}/send",
           "TIMEBANK_SMS_APP_KEY": APP_KEY, "TIMEBANK_SMS_APP_SECRET": APP_SECRET,
           "TIMEBANK_NOTIFY_QUIET_START": "0", "TIMEBANK_NOTIFY_QUIET_END": "0",
           "TIMEBANK_NOTIFY_DAILY_CAP": str(10**9)}
    os.environ.update(env)
    from timebank import create_app
    from timebank.extensions import db, redis_ext

    app = create_app({"LOG_REQUESTS": False})
    rebuild_schema(app)
    with app.app_context():
        for key in redis_ext.connection.scan_iter("timebank:*"):
            redis_ext.connection.delete(key)
        from rq import Queue

        Queue("notify", connection=redis_ext.connection).empty()
    person_ids = seed_people(app, args.count)

    queue_seconds = queue_warnings(app, person_ids)
    cli = str(Path(sys.executable).with_name("timebank"))
    workers = [subprocess.Popen([cli, "worker", "notify"], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL) for _ in range(args.workers)]
    pids = [w.pid for w in workers]
    started = time.perf_counter()
    peaks = [0.0] * len(pids)
    try:
        with app.app_context():
            from timebank.ops.outbox import sweep

            sweep(db.session, redis_ext.connection)
        done = 0
        while time.perf_counter() - started < args.timeout:
            time.sleep(1.0)
            peaks = [max(p, peak_rss_mb(pid)) for p, pid in zip(peaks, pids, strict=True)]
            done = sent_count(app)
            if done >= args.count:
                break
        deliver_seconds = time.perf_counter() - started
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            w.wait(30)

    result = {
        "count": args.count, "workers": args.workers, "sent": done, "gateway_requests": gateway.requests,
        "gateway_unique": len(gateway.sent), "bad_signatures": gateway.bad,
        "queue_seconds": round(queue_seconds, 2), "queued_per_s": round(args.count / queue_seconds, 1),
        "deliver_seconds": round(deliver_seconds, 2), "delivered_per_s": round(done / deliver_seconds, 1),
        "peak_rss_mb_per_worker": [round(p, 1) for p in peaks], "pgbench_tps": pgbench_tps,
        "pgbench_clients": args.pgbench_clients, "gateway_latency_ms": args.gateway_latency_ms,
        "send_concurrency": app.config["NOTIFY_SEND_CONCURRENCY"],
    }
    result["delivered_per_s_over_pgbench_tps"] = round(result["delivered_per_s"] / pgbench_tps, 3)
    print(f"{'warnings':<34}{args.count:>12,}")
    print(f"{'queued (notify + outbox) per s':<34}{result['queued_per_s']:>12,.1f}")
    print(f"{'delivered by SMS per s':<34}{result['delivered_per_s']:>12,.1f}   ({args.workers} workers)")
    print(f"{'gateway requests / unique sent':<34}{gateway.requests:>12,} / {len(gateway.sent):,}")
    print(f"{'peak RSS per worker (MiB)':<34}{', '.join(f'{p:.1f}' for p in peaks):>12}")
    print(f"{'pgbench TPC-B tps':<34}{pgbench_tps:>12,.1f}   ({args.pgbench_clients} clients)")
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
