"""The `timebank` command's own commands: worker, scheduler, outbox, demo and serve-all (the entry point that
builds the app is `timebank.__main__`)."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import with_appcontext


@click.command("worker")
@click.argument("queues", nargs=-1)
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--fork", is_flag=True, help="Fork a work horse per job (default: run jobs in-process).")
@with_appcontext
def worker_command(queues, burst, fork):
    """Run an RQ worker whose jobs run inside the Flask app context."""
    from timebank.workers.runner import run_worker

    run_worker(current_app._get_current_object(), list(queues), fork=fork, burst=burst)


@click.command("scheduler")
@with_appcontext
def scheduler_command():
    """Run RQ's cron scheduler with timebank's periodic jobs (outbox sweep, reconciliation, ...)."""
    from timebank.workers.runner import run_scheduler

    run_scheduler(current_app._get_current_object())


@click.group("outbox")
def outbox_group():
    """The transactional outbox."""


@outbox_group.command("sweep")
@with_appcontext
def outbox_sweep():
    """Enqueue drains for every topic with due messages."""
    from timebank.extensions import db, redis_ext
    from timebank.ops.outbox import sweep

    click.echo(", ".join(sweep(db.session, redis_ext.connection)) or "nothing due")


@click.command("demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has people.")
@with_appcontext
def demo_command(if_empty):
    """Load the demo district (one street, two communities, volunteers, employers, merchants)."""
    from timebank import demo
    from timebank.extensions import db

    if if_empty and demo.has_data(db.session):
        click.echo("demo data already present")
        return
    from timebank import uow

    logins = demo.load(db.session)
    uow.commit()  # the demo's verified history is credited by the workers
    for line in logins:
        click.echo(line)


@click.command("serve-all")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@click.option("--workers", default=2, type=int, help="RQ worker processes.")
def serve_all_command(host, port, workers):
    """Start the API (gunicorn), RQ workers and the cron scheduler, and keep them running."""
    from timebank.supervisor import ServeError, run

    try:
        run(host=host, port=port, workers=workers)
    except ServeError as exc:
        raise click.ClickException(str(exc)) from None


def init_app(app: Flask) -> None:
    for command in (worker_command, scheduler_command, outbox_group, demo_command, serve_all_command):
        app.cli.add_command(command)
    from timebank import ledger_cli

    ledger_cli.init_app(app)  # `timebank ledger ...`
