"""`timebank serve-all` as a person runs it: Ctrl-C stops everything it started (gunicorn and its workers, the
RQ workers, the scheduler, the embedded Redis), and a port already taken is an error, not a restart loop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(app, instance: Path) -> dict:
    env = {**os.environ, "TIMEBANK_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "TIMEBANK_INSTANCE_PATH": str(instance), "TIMEBANK_LOG_LEVEL": "WARNING",
           "TIMEBANK_SECRET_KEY": app.config["SECRET_KEY"]}
    env.pop("TIMEBANK_REDIS_URL", None)  # the embedded Redis, which serve-all owns
    return env


def _serve_all(app, instance: Path, port: int) -> subprocess.Popen:
    return subprocess.Popen([str(Path(sys.executable).with_name("timebank")), "serve-all", "--port", str(port),
                             "--workers", "1"], env=_env(app, instance), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)


def _processes_naming(marker: str) -> list[psutil.Process]:
    """Every process whose command line or environment points into this test's instance folder."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if marker in " ".join(proc.info["cmdline"] or []) or marker in proc.environ().get(
                    "TIMEBANK_INSTANCE_PATH", ""):
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


def test_ctrl_c_stops_every_process_and_frees_the_port(app, tmp_path):
    instance, port = tmp_path / "instance", _free_port()
    proc = _serve_all(app, instance, port)
    try:
        deadline = time.monotonic() + 60
        while not _healthy(port):
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the API never answered /healthz"
            time.sleep(0.5)
        assert len(_processes_naming(str(instance))) >= 4  # api (+ its workers), scheduler, worker, redis
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends to the foreground group
        proc.wait(60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, proc.stderr.read().decode()[-2000:]
    left = _processes_naming(str(instance))
    assert left == [], [p.info["cmdline"] for p in left]
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds; TIME_WAIT is no holder
        s.bind(("127.0.0.1", port))  # nothing listens on the port any more


def test_a_port_already_taken_is_an_error_not_a_restart_loop(app, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = _serve_all(app, tmp_path / "instance", port)
        try:
            proc.wait(60)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode != 0
    assert "already in use" in proc.stderr.read().decode()
    assert _processes_naming(str(tmp_path / "instance")) == []
