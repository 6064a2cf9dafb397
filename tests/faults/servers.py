"""Servers of a test's own, on loopback ports of their own — never the shared PostgreSQL or Redis — and the
timebank processes (gunicorn, an RQ worker, the scheduler) started as a person would start them."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import redis

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, seconds: float, every: float = 0.2) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except Exception:  # noqa: BLE001 - a server still starting
            pass
        time.sleep(every)
    return False


class OwnRedis:
    """A redis-server without persistence."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_for(lambda: redis.Redis.from_url(self.url).ping(), 10, 0.05):
            raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)


def postgres_bindir() -> Path | None:
    """Where initdb and pg_ctl live: `pg_config --bindir`, else the PATH."""
    try:
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True).stdout.strip()
        if (Path(out) / "initdb").exists():
            return Path(out)
    except (OSError, subprocess.CalledProcessError):
        pass
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class OwnPostgres:
    """A PostgreSQL cluster in a temporary folder (run as the postgres user when the test runs as root)."""

    def __init__(self):
        self.bindir = postgres_bindir()
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="timebank-pg-"))
        self.root.chmod(0o755)
        self.data = self.root / "data"
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as:
            shutil.chown(self.root, "postgres")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str) -> None:
        subprocess.run([*self._as, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"),
                        "-w", "-t", "60", *args], check=True, capture_output=True)

    def start(self) -> None:
        if not self.data.exists():
            subprocess.run([*self._as, str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U",
                            "postgres", "-E", "UTF8", "--no-sync"], check=True, capture_output=True)
        self._ctl("-o", f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                        f"-c max_connections=200", "start")

    def restart(self) -> None:
        self._ctl("-m", "fast", "restart")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._ctl("-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


class Stack:
    """The API (gunicorn), an RQ worker and the scheduler against the given database and Redis."""

    def __init__(self, database_url: str, redis_url: str, workdir: Path, secret: str = "fault-secret"):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "TIMEBANK_DATABASE_URL": database_url, "TIMEBANK_REDIS_URL": redis_url,
                    "TIMEBANK_INSTANCE_PATH": str(workdir), "TIMEBANK_LOG_LEVEL": "WARNING",
                    "TIMEBANK_SECRET_KEY": secret}
        self.procs: dict[str, subprocess.Popen] = {}
        self.workdir = workdir

    def run(self, *args: str) -> None:
        subprocess.run([str(BIN / "timebank"), *args], env=self.env, check=True, capture_output=True)

    def start(self, name: str) -> subprocess.Popen:
        argv = {
            "api": [str(BIN / "gunicorn"), "-c", "python:timebank.serving", "--bind", f"127.0.0.1:{self.port}",
                    "--graceful-timeout", "5"],
            "worker": [str(BIN / "timebank"), "worker"],
            "scheduler": [str(BIN / "timebank"), "scheduler"],
        }[name]
        log = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 - the process owns it
        proc = subprocess.Popen(argv, env=self.env, stdout=log, stderr=log, start_new_session=True)
        self.procs[name] = proc
        if name == "api":
            assert wait_for(lambda: urllib.request.urlopen(self.base + "/healthz", timeout=2).status == 200, 60), \
                "the API did not start"
        return proc

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)

    def stop(self) -> None:
        for name in list(self.procs):
            proc = self.procs.pop(name)
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
