"""RQ workers and the cron scheduler, each job inside a fresh Flask app context."""

from __future__ import annotations

import logging
import time

import redis
from flask import Flask
from rq import SimpleWorker, Worker
from rq.cron import CronScheduler
from rq.exceptions import StopRequested

from timebank.logs import request_id_var

log = logging.getLogger("timebank.workers")

# What a lost Redis looks like to redis-py: the scheduler waits for it instead of exiting.
REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)


class _AppContextMixin:
    flask_app: Flask
    jobs_performed: int = 0  # in this process (RQ keeps its own counts in Redis, gone when the worker exits)

    def perform_job(self, job, queue, execution):  # noqa: D401 - RQ hook
        token = request_id_var.set(f"job:{job.id}")
        try:
            with self.flask_app.app_context():
                ok = super().perform_job(job, queue, execution)
            self.jobs_performed += 1
            return ok
        finally:
            request_id_var.reset(token)


class AppSimpleWorker(_AppContextMixin, SimpleWorker):
    """Runs jobs in the worker process: no fork per job (RQ forks cost ~18 ms each here)."""


class AppForkWorker(_AppContextMixin, Worker):
    """Forks a work horse per job; the child drops inherited DB connections first."""

    def main_work_horse(self, job, queue):
        from timebank.extensions import db

        with self.flask_app.app_context():
            db.engine.dispose(close=False)
        return super().main_work_horse(job, queue)


def make_worker(app: Flask, queue_names, *, fork: bool = False):
    from timebank.extensions import redis_ext
    from timebank.workers.queues import ALL, queue

    cls = AppForkWorker if fork else AppSimpleWorker
    queues = [queue(n) for n in (queue_names or ALL)]
    worker = cls(queues, connection=redis_ext.connection)
    worker.flask_app = app
    return worker


def make_scheduler(app: Flask) -> CronScheduler:
    from timebank.extensions import redis_ext
    from timebank.workers.cron import periodic_jobs

    scheduler = CronScheduler(connection=redis_ext.connection, logging_level=logging.INFO)
    for job in periodic_jobs(app):
        scheduler.register(job.func, job.queue, interval=job.seconds, result_ttl=60, failure_ttl=3600,
                           job_timeout=600)
    return scheduler


def _outliving_redis(start, what: str, *, max_backoff: float) -> None:
    """Run `start()` until it returns (a stop was requested). A Redis outage pauses it: back off, reconnect, start
    again, so that no process a person started has to be restarted by a person after Redis comes back."""
    delay = 0.5
    while True:
        started = time.monotonic()
        try:
            start()
            return
        except REDIS_DOWN as exc:
            if time.monotonic() - started > 60:  # it had been running: a fresh outage, a fresh back-off
                delay = 0.5
            log.warning(f"{what} lost Redis; starting again", extra={"fields": {
                "error": str(exc)[:200], "retry_in_seconds": delay}})
        try:
            time.sleep(delay)
        except (KeyboardInterrupt, StopRequested):
            return
        delay = min(delay * 2, max_backoff)


def run_scheduler(app: Flask, *, max_backoff: float = 10.0) -> None:
    """Run the cron scheduler until it is told to stop (SIGINT / SIGTERM), through Redis outages: sweeps,
    expiries, retries and reconciliation resume on their own."""
    _outliving_redis(lambda: make_scheduler(app).start(), "scheduler", max_backoff=max_backoff)


def run_worker(app: Flask, queue_names, *, fork: bool = False, burst: bool = False,
               max_backoff: float = 10.0) -> None:
    """Run an RQ worker until it is told to stop, through Redis outages. A job cut off by the outage is safe to
    run again: the drain works from the database's outbox rows, whose handlers are idempotent."""
    _outliving_redis(lambda: make_worker(app, queue_names, fork=fork).work(burst=burst, with_scheduler=False),
                     "worker", max_backoff=max_backoff)
