"""The server's own refusals, as a client meets them through gunicorn started as `serve-all` and production start
it (`-c python:timebank.serving`): a request too long or malformed to reach Flask is still a problem+json with a
stable code and a Chinese message (the fuzzing run once got gunicorn's bare HTML page for a 5,720-byte query)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.faults.servers import free_port, wait_for


def _exchange(port: int, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(raw)
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    instance = tmp_path_factory.mktemp("served")
    env = {**os.environ, "TIMEBANK_DATABASE_URL": f"sqlite:///{instance / 'tb.db'}",
           "TIMEBANK_INSTANCE_PATH": str(instance), "TIMEBANK_LOG_LEVEL": "WARNING",
           "TIMEBANK_SECRET_KEY": "serving-test-secret"}
    env.pop("TIMEBANK_REDIS_URL", None)
    subprocess.run([str(Path(sys.executable).with_name("timebank")), "db", "upgrade", "heads"], env=env, check=True,
                   capture_output=True)
    port = free_port()
    proc = subprocess.Popen([str(Path(sys.executable).with_name("gunicorn")), "-c", "python:timebank.serving",
                             "--bind", f"127.0.0.1:{port}", "--workers", "1"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        assert wait_for(lambda: _exchange(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")[0]
                        == 200, 60), "gunicorn did not start"
        yield port
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


@pytest.mark.parametrize(("raw", "status", "code"), [
    (b"GET /api/rewards?" + b"limit=%C2%BA&" * 500 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "request_line_too_long"),
    (b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-Pad-%d: v\r\n" % n for n in range(200)) + b"\r\n",
     431, "request_headers_too_large"),
    (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n", 431,
     "request_headers_too_large"),
    (b"\x16\x03\x01 not http at all\r\n\r\n", 400, "malformed_request"),
    (b"GET /healthz HTTP/7.1\r\nHost: x\r\n\r\n", 400, "malformed_request"),
])
def test_a_request_the_server_cannot_take_is_told_why_in_problem_json(served, raw, status, code):
    got_status, headers, body = _exchange(served, raw)
    assert got_status == status
    assert headers["content-type"] == "application/problem+json"
    problem = json.loads(body)
    assert problem["code"] == code and problem["status"] == status
    assert any("\u4e00" <= ch <= "\u9fff" for ch in problem["detail"]), problem["detail"]


def test_the_served_app_still_answers_normally(served):
    status, headers, body = _exchange(served, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status == 200 and headers["content-type"].startswith("application/json")
