"""Real processes against a Redis server of the test's own, stopped and started again: the scheduler waits for
Redis instead of dying, and the periodic work resumes with no one restarting anything."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from tests.faults.servers import OwnRedis, wait_for


@pytest.fixture
def own_redis(tmp_path):
    if subprocess.run(["which", "redis-server"], capture_output=True).returncode != 0:
        pytest.skip("redis-server is not installed")
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    server.stop()


def test_the_scheduler_outlives_a_redis_outage_and_its_cron_resumes(app, own_redis, tmp_path):
    env = {**os.environ, "TIMEBANK_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "TIMEBANK_REDIS_URL": own_redis.url, "TIMEBANK_INSTANCE_PATH": str(tmp_path / "scheduler"),
           "TIMEBANK_LOG_LEVEL": "WARNING", "TIMEBANK_SECRET_KEY": app.config["SECRET_KEY"]}
    scheduler = subprocess.Popen([str(Path(sys.executable).with_name("timebank")), "scheduler"], env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    conn = redis.Redis.from_url(own_redis.url)
    try:
        # The outbox sweep runs every few seconds: its jobs land on the default queue.
        assert wait_for(lambda: conn.llen("rq:queue:default") > 0, 30), "the scheduler never enqueued"

        own_redis.stop()
        time.sleep(8)  # several cron rounds hit a dead Redis
        assert scheduler.poll() is None, "the scheduler exited when Redis went away"

        own_redis.start()  # empty: nothing of the earlier queue survives
        assert wait_for(lambda: conn.llen("rq:queue:default") > 0, 40), "cron did not resume after Redis returned"
        assert scheduler.poll() is None
    finally:
        scheduler.send_signal(signal.SIGTERM)
        try:
            scheduler.wait(20)
        except subprocess.TimeoutExpired:
            scheduler.kill()
            scheduler.wait(10)
    assert scheduler.returncode == 0, scheduler.stderr.read().decode()[-2000:]
