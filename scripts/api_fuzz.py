#!/usr/bin/env python
"""Property-based checks of the served API against its own OpenAPI document (schemathesis).

Builds a fresh instance with the demo district (the embedded default, or PostgreSQL + Redis when
TIMEBANK_DATABASE_URL / TIMEBANK_REDIS_URL are set), serves it with gunicorn on a free loopback port, and runs
schemathesis three times — as a volunteer (bearer), as a community admin (bearer) and as a merchant (API key) —
bounded by --seconds each. Fails on any 5xx and on any response that breaks the document (status code, content
type, headers, body schema). Usage: scripts/api_fuzz.py [--seconds 60]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import xml.etree.ElementTree as ET  # noqa: N817 - the usual name
from pathlib import Path

BIN = Path(sys.executable).parent
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,"
          "response_schema_conformance")
DEMO_PASSWORD = "demo-pass-2024"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _call(base: str, path: str, body: dict | None = None, headers: dict | None = None) -> dict:
    req = urllib.request.Request(base + path, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json", **(headers or {})},
                                 method="POST" if body is not None else "GET")
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def _token(base: str, phone: str) -> str:
    return _call(base, "/api/auth/token", {"phone": phone, "password": DEMO_PASSWORD})["access_token"]


def _wait(base: str) -> None:
    for _ in range(200):
        try:
            urllib.request.urlopen(base + "/healthz", timeout=2)
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the API did not start")


def _outcome(junit: Path) -> tuple[list[str], list[str]]:
    """(operations with a failed check, operations schemathesis itself could not test) from its JUnit report."""
    if not junit.exists():
        return ["(no report: schemathesis did not finish)"], []
    failures, errors = [], []
    for case in ET.parse(junit).getroot().iter("testcase"):
        if case.find("failure") is not None:
            failures.append(case.get("name", "?"))
        elif case.find("error") is not None:
            errors.append(f"{case.get('name', '?')}: {(case.find('error').get('message') or '')[:120]}")
    return failures, errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60, help="time budget per identity")
    parser.add_argument("--workers", default="2", help="schemathesis's concurrent workers")
    args = parser.parse_args()

    instance = tempfile.mkdtemp(prefix="timebank-fuzz-")
    env = {**os.environ, "TIMEBANK_INSTANCE_PATH": instance, "TIMEBANK_LOG_LEVEL": "WARNING",
           "TIMEBANK_SECRET_KEY": "fuzz-secret"}
    if env.get("TIMEBANK_DATABASE_URL", "").startswith("postgres"):
        from sqlalchemy import create_engine, text

        from timebank.config import _normalise_database_url

        engine = create_engine(_normalise_database_url(env["TIMEBANK_DATABASE_URL"]), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
    subprocess.run([BIN / "timebank", "db", "upgrade", "heads"], env=env, check=True, capture_output=True)
    subprocess.run([BIN / "timebank", "demo"], env=env, check=True, capture_output=True)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([BIN / "gunicorn", "-c", "python:timebank.serving", "--bind", f"127.0.0.1:{port}"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    failed = []
    try:
        _wait(base)
        admin = _token(base, "13800000001")  # the district admin: it may issue a merchant's key
        merchant_id = _call(base, "/api/merchants", headers={"Authorization": f"Bearer {admin}"})["items"][0]["id"]
        key = _call(base, f"/api/merchants/{merchant_id}/api-keys", {"label": "fuzz"},
                    headers={"Authorization": f"Bearer {admin}"})["api_key"]
        identities = {
            "volunteer": f"Authorization: Bearer {_token(base, '13900000001')}",
            "community admin": f"Authorization: Bearer {_token(base, '13800000003')}",
            "merchant key": f"X-API-Key: {key}",
        }
        for name, header in identities.items():
            print(f"== schemathesis as {name}", flush=True)
            junit = Path(instance) / f"junit-{len(failed)}-{name.replace(' ', '-')}.xml"
            subprocess.run([BIN / "st", "run", f"{base}/api/openapi.json", "--checks", CHECKS,
                            "--max-time", str(args.seconds), "--workers", args.workers,
                            "--request-timeout", "30", "--suppress-health-check", "all",
                            "--phases", "examples,coverage,fuzzing", "--report", "junit",
                            "--report-junit-path", str(junit), "-H", header], env=env)
            failures, errors = _outcome(junit)
            for error in errors:  # schemathesis's own trouble generating a case, not an answer of ours
                print(f"   (schemathesis could not test: {error})", flush=True)
            if failures:
                failed.append(name)
                print(f"   {len(failures)} failing operations: {', '.join(failures)}", flush=True)
    finally:
        server.terminate()
        server.wait(30)
    if failed:
        print(f"schemathesis found failures as: {', '.join(failed)}", file=sys.stderr)
        return 1
    print("schemathesis: no 5xx, every response as documented")
    return 0


if __name__ == "__main__":
    sys.exit(main())
