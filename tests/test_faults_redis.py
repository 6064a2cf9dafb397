"""Real processes against a Redis server of the test's own, stopped and started again: the scheduler waits for
Redis instead of dying, and the periodic work resumes with no one restarting anything."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

REDIS_SERVER = "redis-server"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OwnRedis:
    """A redis-server on a loopback port of its own (never the shared one), without persistence."""

    def __init__(self, workdir: Path):
        self.port = _free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        conn = redis.Redis.from_url(self.url)
        for _ in range(100):
            try:
                conn.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)


@pytest.fixture
def own_redis(tmp_path):
    if subprocess.run(["which", REDIS_SERVER], capture_output=True).returncode != 0:
        pytest.skip("redis-server is not installed")
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    server.stop()


def _wait_for(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except redis.ConnectionError:
            pass
        time.sleep(0.2)
    return False


def test_the_scheduler_outlives_a_redis_outage_and_its_cron_resumes(app, own_redis, tmp_path):
    env = {**os.environ, "TIMEBANK_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "TIMEBANK_REDIS_URL": own_redis.url, "TIMEBANK_INSTANCE_PATH": str(tmp_path / "scheduler"),
           "TIMEBANK_LOG_LEVEL": "WARNING", "TIMEBANK_SECRET_KEY": app.config["SECRET_KEY"]}
    scheduler = subprocess.Popen([str(Path(sys.executable).with_name("timebank")), "scheduler"], env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    conn = redis.Redis.from_url(own_redis.url)
    try:
        # The outbox sweep runs every few seconds: its jobs land on the default queue.
        assert _wait_for(lambda: conn.llen("rq:queue:default") > 0, 30), "the scheduler never enqueued"

        own_redis.stop()
        time.sleep(8)  # several cron rounds hit a dead Redis
        assert scheduler.poll() is None, "the scheduler exited when Redis went away"

        own_redis.start()  # empty: nothing of the earlier queue survives
        assert _wait_for(lambda: conn.llen("rq:queue:default") > 0, 40), "cron did not resume after Redis returned"
        assert scheduler.poll() is None
    finally:
        scheduler.send_signal(signal.SIGTERM)
        try:
            scheduler.wait(20)
        except subprocess.TimeoutExpired:
            scheduler.kill()
            scheduler.wait(10)
    assert scheduler.returncode == 0, scheduler.stderr.read().decode()[-2000:]
