#!/usr/bin/env python
"""Does the password hash still work as a lever against everyone else? The median balance read, idle and while
16 clients hammer the login with wrong passwords (one address, many phones), on the embedded default served by
`timebank serve-all`. In the same go, two references: the idle read, and the read while the same 16 clients
flood an endpoint that does nothing (/healthz) — the cost of the request volume itself on this machine.

    .venv/bin/python bench/login_bench.py --seconds 15
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.embedded_load import DEMO_PASSWORD, call, serve_embedded_demo, wait_ok  # noqa: E402


def reads(base: str, me: dict, seconds: float) -> list[float]:
    out, stop = [], time.monotonic() + seconds
    while time.monotonic() < stop:
        status, took, _ = call("GET", base + "/api/me/points", me)
        assert status == 200, status
        out.append(took)
        time.sleep(0.02)
    return out


def attacker(base: str, i: int, seconds: float, login: bool, results) -> None:
    n, seen, stop = 0, Counter(), time.monotonic() + seconds
    while time.monotonic() < stop:
        if login:
            status, _, _ = call("POST", base + "/api/auth/token", body={
                "phone": f"1390000{(i * 7 + n) % 20:04d}", "password": f"guess-{n}"})
        else:
            status, _, _ = call("GET", base + "/healthz")
        seen[status] += 1
        n += 1
    results.put(dict(seen))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--attackers", type=int, default=16)
    args = parser.parse_args()
    server, base = serve_embedded_demo("timebank-login-")
    try:
        wait_ok(base + "/healthz")
        status, _, body = call("POST", base + "/api/auth/token",
                               body={"phone": "13900000001", "password": DEMO_PASSWORD})
        me = {"Authorization": "Bearer " + json.loads(body)["access_token"]}
        idle = reads(base, me, args.seconds)

        def flood(login: bool) -> tuple[list[float], Counter]:
            """The attackers run in processes of their own (as they would on other machines): the reader's
            latency is the service's, not a wait for this process's interpreter lock."""
            ctx = multiprocessing.get_context("spawn")
            results = ctx.Queue()
            procs = [ctx.Process(target=attacker, args=(base, i, args.seconds + 2, login, results))
                     for i in range(args.attackers)]
            for p in procs:
                p.start()
            time.sleep(1.5)
            measured = reads(base, me, args.seconds)
            answers: Counter = Counter()
            for _ in procs:
                answers.update(results.get(timeout=120))
            for p in procs:
                p.join(30)
            return measured, answers

        flooded, _ = flood(login=False)
        hammered, answers = flood(login=True)
    finally:
        os.killpg(server.pid, signal.SIGINT)
        server.wait(60)
    result = {"idle_median_ms": round(statistics.median(idle) * 1000, 2),
              "healthz_flood_median_ms": round(statistics.median(flooded) * 1000, 2),
              "login_flood_median_ms": round(statistics.median(hammered) * 1000, 2),
              "login_answers": {str(k): v for k, v in sorted(answers.items())}}
    result["ratio"] = round(result["login_flood_median_ms"] / result["idle_median_ms"], 2)
    result["ratio_to_healthz_flood"] = round(result["login_flood_median_ms"] / result["healthz_flood_median_ms"], 2)
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
