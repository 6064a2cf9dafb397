"""Service-hours benchmark on PostgreSQL + Redis (run once, at the end; it rebuilds the schema of --db).

1. Credits end to end: admins verify attendance through the HTTP API (gunicorn, 4 workers, the bulk
   verification endpoint) while two `timebank worker ledger` processes drain the `credit` outbox into the
   ledger. Reported: credits posted per second from the first request to the last credit, and the drain
   rate of the two workers over a backlog (API first, then the workers).
2. The single verification endpoint's requests/s under gunicorn (4 workers) and wrk (2 threads, 16
   connections), next to `bench/minimal_app.py` (one Flask + SQLAlchemy insert) served the same way; the
   ratio is the figure that travels between machines.
3. Optionally (--pgbench) pgbench -c 8 -j 2 -T 15 on a scratch database as the machine's DB reference.

    .venv/bin/python bench/hours_bench.py --db postgresql://postgres@127.0.0.1:5432/tb_perf_bench \
        --redis redis://127.0.0.1:6379/7 --pgbench
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VENV_BIN = Path(sys.executable).parent


def env_for(db: str, redis_url: str) -> dict:
    return {**os.environ, "TIMEBANK_DATABASE_URL": db, "TIMEBANK_REDIS_URL": redis_url,
            "TIMEBANK_LOG_LEVEL": "WARNING", "TIMEBANK_SECRET_KEY": "bench-secret", "PYTHONPATH": str(ROOT)}


def reset_and_seed(app, *, volunteers: int, pools: dict[str, int]) -> dict:
    """Fresh schema from the migrations, then people, tasks, claims and pending attendance in bulk."""
    from flask_migrate import upgrade
    from sqlalchemy import insert, text

    from timebank.extensions import db
    from timebank.hours.models import Attendance, AttendanceSource, AttendanceStatus, Claim, ClaimStatus, Task
    from timebank.people import orgs, security
    from timebank.people import persons as people
    from timebank.people.access import SYSTEM
    from timebank.people.models import OrgKind, Person, Role

    with db.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    upgrade(revision="heads")
    s = db.session
    district = orgs.create_root(s, name="基准区", settings={
        "categories": ["红色先锋", "橙色关爱", "绿色环保", "金色助老", "蓝色平安"], "points_per_hour": 10,
        "daily_minutes_cap": 480})
    street = orgs.create(s, SYSTEM, kind=OrgKind.street, name="基准街道", parent_id=district.id)
    community = orgs.create(s, SYSTEM, kind=OrgKind.community, name="基准社区", parent_id=street.id)
    admin = people.register(s, None, name="管理员", phone="13600000000", password=None, home_org_id=community.id)
    people.grant(s, None, admin, Role.community_admin, org_id=community.id)
    s.flush()
    person_ids = list(s.scalars(insert(Person).returning(Person.id), [
        {"name": f"志愿者{i}", "phone": f"137{i:08d}", "home_org_id": community.id, "is_active": True,
         "token_version": 1} for i in range(volunteers)]))
    base = datetime.now(UTC) - timedelta(days=30)
    out = {"community_id": community.id, "admin_id": admin.id}
    task_no = 0
    for pool, size in pools.items():
        ids: list[int] = []
        while len(ids) < size:
            start = base + timedelta(hours=3 * task_no)
            task_no += 1
            task_id = s.scalar(insert(Task).returning(Task.id).values(
                community_id=community.id, org_id=community.id, org_path=community.path, title=f"基准任务{task_no}",
                description="", category="绿色环保", scope="individual", place="社区广场", starts_at=start,
                ends_at=start + timedelta(hours=2), slots=volunteers, claimed=volunteers, points_per_hour=10,
                eligibility="anyone", status="published", created_by_id=admin.id))
            batch = person_ids[: min(volunteers, size - len(ids))]
            claim_ids = list(s.scalars(insert(Claim).returning(Claim.id), [
                {"task_id": task_id, "person_id": p, "status": ClaimStatus.active} for p in batch]))
            ids += list(s.scalars(insert(Attendance).returning(Attendance.id), [
                {"claim_id": c, "task_id": task_id, "person_id": p, "community_id": community.id,
                 "org_path": community.path, "checked_in_at": start, "checked_out_at": start + timedelta(minutes=60),
                 "minutes": 60, "source": AttendanceSource.qr, "recorded_by_id": p,
                 "status": AttendanceStatus.pending} for c, p in zip(claim_ids, batch, strict=True)]))
        out[pool] = ids
    s.commit()
    out["token"] = security.issue_token(app.config["SECRET_KEY"], admin.id, 1)
    return out


def credited(app) -> int:
    from sqlalchemy import func, select

    from timebank.extensions import db
    from timebank.hours.models import Verification

    try:
        return db.session.scalar(select(func.count()).select_from(Verification)
                                 .where(Verification.credited_at.is_not(None)))
    finally:
        db.session.rollback()


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listens on {port}")


def gunicorn(app_path: str, port: int, env: dict) -> subprocess.Popen:
    return subprocess.Popen([str(VENV_BIN / "gunicorn"), "-w", "4", "-b", f"127.0.0.1:{port}", "--log-level",
                             "warning", app_path], env=env, cwd=ROOT, start_new_session=True)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def rq_workers(env: dict, n: int = 2) -> list[subprocess.Popen]:
    return [subprocess.Popen([str(VENV_BIN / "timebank"), "worker", "ledger"], env=env, cwd=ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True) for _ in range(n)]


def post_bulk(port: int, token: str, ids: list[int], batch: int, threads: int) -> None:
    chunks = [ids[i:i + batch] for i in range(0, len(ids), batch)]
    lock = threading.Lock()
    errors: list[str] = []

    def run():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while True:
            with lock:
                if not chunks:
                    return
                chunk = chunks.pop()
            body = json.dumps({"items": [{"attendance_id": i, "decision": "accepted"} for i in chunk]})
            conn.request("POST", "/api/attendances/verifications", body=body, headers={
                "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
            resp = conn.getresponse()
            data = resp.read()
            if resp.status != 201:
                errors.append(f"{resp.status} {data[:200]!r}")

    pool = [threading.Thread(target=run) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if errors:
        raise RuntimeError(f"{len(errors)} bulk verifications failed, first: {errors[0]}")


def wait_credited(app, target: int, timeout: float = 600) -> float:
    deadline = time.monotonic() + timeout
    while credited(app) < target:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {credited(app)} of {target} credited")
        time.sleep(0.05)
    return time.monotonic()


def kick_drains(app, n: int) -> None:
    """Queue n drain jobs for the credit topic (the relay queues one at a time; a backlog wants n)."""
    from timebank.extensions import redis_ext
    from timebank.ops.outbox import kick, pending_key

    for _ in range(n):
        redis_ext.connection.delete(pending_key("credit"))
        kick(redis_ext.connection, ["credit"])


WRK_LUA = """
local counter = 0
local threads = {}
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
function init(args)
  lo = tonumber(args[1]); step = tonumber(args[2]); hi = tonumber(args[3]); token = args[4]
  id = lo + tid - step
  wrk.headers["Authorization"] = "Bearer " .. token
  wrk.headers["Content-Type"] = "application/json"
end
function request()
  id = id + step
  if id > hi then id = hi end
  return wrk.format("POST", "/api/attendances/" .. id .. "/verification", nil, '{"decision": "accepted"}')
end
"""


def wrk(url: str, seconds: int, script: str | None = None, args: list[str] = ()) -> dict:
    cmd = ["wrk", "-t2", "-c16", f"-d{seconds}s"]
    if script:
        cmd += ["-s", script]
    cmd += [url]
    if args:
        cmd += ["--", *args]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    latency = re.search(r"Latency\s+(\S+)", out).group(1)
    return {"rps": rps, "requests": total, "non_2xx": int(non2xx.group(1)) if non2xx else 0, "latency_avg": latency}


def pgbench(db: str) -> float:
    """pgbench TPC-B (scale 1, -c 8 -j 2 -T 15) in the bench's own scratch database: its four pgbench_* tables
    sit beside the timebank schema for the run and are dropped afterwards (init step "d")."""
    subprocess.run(["pgbench", "-i", "-s", "1", "-q", db], check=True, capture_output=True)
    out = subprocess.run(["pgbench", "-c", "8", "-j", "2", "-T", "15", db], check=True, capture_output=True,
                         text=True).stdout
    subprocess.run(["pgbench", "-i", "-I", "d", db], check=True, capture_output=True)
    return float(re.search(r"tps = ([\d.]+)", out).group(1))


def credit_runs(app, port: int, seed: dict, env: dict, args) -> dict:
    """1a. end to end (API and two workers at once); 1b. a backlog drained by two workers."""
    from timebank.extensions import redis_ext

    results: dict = {}
    workers: list[subprocess.Popen] = []
    try:
        # 1a. end to end: API and two workers at once
        workers = rq_workers(env)
        time.sleep(2)
        t0 = time.monotonic()
        post_bulk(port, seed["token"], seed["e2e"], args.batch, threads=4)
        t_api = time.monotonic()
        t1 = wait_credited(app, args.credits)
        results["e2e"] = {"credits": args.credits, "seconds": round(t1 - t0, 2),
                          "credits_per_s": round(args.credits / (t1 - t0)),
                          "api_verifications_per_s": round(args.credits / (t_api - t0)),
                          "drain_lag_s": round(t1 - t_api, 2)}
        print("end to end:", results["e2e"], flush=True)
        # 1b. backlog: verify everything first, then let the two workers drain it
        for w in workers:
            stop(w)
        workers = []
        post_bulk(port, seed["token"], seed["backlog"], args.batch, threads=4)
        redis_ext.connection.flushdb()
        workers = rq_workers(env)
        time.sleep(2)
        t0 = time.monotonic()
        kick_drains(app, 2)
        t1 = wait_credited(app, 2 * args.credits)
        results["backlog"] = {"credits": args.credits, "seconds": round(t1 - t0, 2),
                              "credits_per_s": round(args.credits / (t1 - t0))}
        print("backlog drain, 2 workers:", results["backlog"], flush=True)
        for w in workers:
            stop(w)
        workers = []
    finally:
        for w in workers:
            stop(w)
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--redis", required=True)
    ap.add_argument("--credits", type=int, default=20000, help="credits per end-to-end run")
    ap.add_argument("--volunteers", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=250, help="attendances per bulk verification request")
    ap.add_argument("--http-seconds", type=int, default=15)
    ap.add_argument("--http-pool", type=int, default=40000, help="pending attendances for the wrk run")
    ap.add_argument("--pgbench", action="store_true")
    ap.add_argument("--skip-credits", action="store_true",
                    help="only the endpoint comparison (skip the end-to-end and backlog credit runs)")
    args = ap.parse_args()
    env = env_for(args.db, args.redis)
    os.environ.update({k: env[k] for k in ("TIMEBANK_DATABASE_URL", "TIMEBANK_REDIS_URL", "TIMEBANK_LOG_LEVEL",
                                           "TIMEBANK_SECRET_KEY")})
    from timebank import create_app

    app = create_app({"LOG_REQUESTS": False})
    results: dict = {}
    with app.app_context():
        from timebank.extensions import redis_ext

        redis_ext.connection.flushdb()
        t = time.monotonic()
        seed = reset_and_seed(app, volunteers=args.volunteers,
                              pools={"e2e": 0 if args.skip_credits else args.credits,
                                     "backlog": 0 if args.skip_credits else args.credits,
                                     "http": args.http_pool})
        seeded = sum(len(seed[k]) for k in ("e2e", "backlog", "http"))
        print(f"seeded {seeded} pending attendances in {time.monotonic() - t:.1f}s",
              flush=True)
        port = 8391
        api = gunicorn("timebank.wsgi:app", port, env)
        try:
            wait_for_port(port)
            if not args.skip_credits:
                results.update(credit_runs(app, port, seed, env, args))
            # 2. the single verification endpoint under wrk
            ids = seed["http"]
            with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
                f.write(WRK_LUA)
            results["verify_endpoint"] = wrk(f"http://127.0.0.1:{port}", args.http_seconds, f.name,
                                              [str(ids[0]), "2", str(ids[-1]), seed["token"]])
            print("verification endpoint:", results["verify_endpoint"], flush=True)
        finally:
            stop(api)
    # 2'. the reference: a minimal Flask + SQLAlchemy insert endpoint, same server, same load
    ref_env = {**env, "BENCH_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"]}
    # Create its table once before the workers start (four workers racing on CREATE TABLE can collide).
    subprocess.run([sys.executable, "-c", "import bench.minimal_app"], env=ref_env, cwd=ROOT, check=True)
    ref = subprocess.Popen([str(VENV_BIN / "gunicorn"), "-w", "4", "-b", "127.0.0.1:8392", "--log-level", "warning",
                            "bench.minimal_app:app"], env=ref_env, cwd=ROOT, start_new_session=True)
    try:
        time.sleep(3)
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
            f.write('wrk.method = "POST"\nwrk.body = \'{"note": "hit"}\'\n'
                    'wrk.headers["Content-Type"] = "application/json"\n')
        results["minimal_endpoint"] = wrk("http://127.0.0.1:8392/hit", args.http_seconds, f.name)
        print("minimal Flask+SQLAlchemy insert:", results["minimal_endpoint"], flush=True)
    finally:
        stop(ref)
    results["ratio"] = round(results["verify_endpoint"]["rps"] / results["minimal_endpoint"]["rps"], 2)
    print(f"ratio verification / minimal = {results['ratio']}", flush=True)
    if args.pgbench:
        results["pgbench_tps"] = pgbench(args.db)
        print("pgbench -c 8 -j 2 -T 15 (scale 1) tps:", results["pgbench_tps"], flush=True)
    print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
