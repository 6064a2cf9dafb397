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
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.embedded_load import BIN, DEMO_PASSWORD, call, free_port, wait_ok  # noqa: E402


def reads(base: str, me: dict, seconds: float) -> list[float]:
    out, stop = [], time.monotonic() + seconds
    while time.monotonic() < stop:
        status, took, _ = call("GET", base + "/api/me/points", me)
        assert status == 200, status
        out.append(took)
        time.sleep(0.02)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--attackers", type=int, default=16)
    args = parser.parse_args()
    instance = tempfile.mkdtemp(prefix="timebank-login-")
    env = {k: v for k, v in os.environ.items() if k not in ("TIMEBANK_DATABASE_URL", "TIMEBANK_REDIS_URL")}
    env.update({"TIMEBANK_INSTANCE_PATH": instance, "TIMEBANK_LOG_LEVEL": "WARNING"})
    subprocess.run([BIN / "timebank", "db", "upgrade", "heads"], env=env, check=True, capture_output=True)
    subprocess.run([BIN / "timebank", "demo"], env=env, check=True, capture_output=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([BIN / "timebank", "serve-all", "--port", str(port), "--workers", "1"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_ok(base + "/healthz")
        status, _, body = call("POST", base + "/api/auth/token",
                               body={"phone": "13900000001", "password": DEMO_PASSWORD})
        me = {"Authorization": "Bearer " + json.loads(body)["access_token"]}
        idle = reads(base, me, args.seconds)

        def flood(login: bool) -> tuple[list[float], Counter]:
            answers: Counter = Counter()
            lock = threading.Lock()
            stop = time.monotonic() + args.seconds + 2

            def attacker(i: int) -> None:
                n, seen = 0, Counter()
                while time.monotonic() < stop:
                    if login:
                        status, _, _ = call("POST", base + "/api/auth/token", body={
                            "phone": f"1390000{(i * 7 + n) % 20:04d}", "password": f"guess-{n}"})
                    else:
                        status, _, _ = call("GET", base + "/healthz")
                    seen[status] += 1
                    n += 1
                with lock:
                    answers.update(seen)

            threads = [threading.Thread(target=attacker, args=(i,)) for i in range(args.attackers)]
            for t in threads:
                t.start()
            time.sleep(1)
            measured = reads(base, me, args.seconds)
            for t in threads:
                t.join()
            return measured, answers

        # The reference flood: the same clients on an endpoint that does nothing. What it costs the reads is the
        # cost of the request volume itself on this machine, not of anything the login does.
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
