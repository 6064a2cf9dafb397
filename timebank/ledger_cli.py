"""`timebank ledger ...`: verification and upkeep from the command line (auditors, operators)."""

from __future__ import annotations

import json
import sys

import click
from flask.cli import with_appcontext


@click.group("ledger")
def ledger_group():
    """The love-bank ledger (爱心银行账本)."""


@ledger_group.command("verify")
@click.option("--no-seal", is_flag=True, help="Do not seal new entries before verifying.")
@click.option("--json", "as_json", is_flag=True, help="Print the run as JSON.")
@with_appcontext
def verify_command(no_seal, as_json):
    """Reconcile: zero sum, cached balances = journal, hash chain intact, stale holds released."""
    from timebank import uow
    from timebank.extensions import db
    from timebank.ledger import verify
    from timebank.workers.jobs.ledger_maintenance import seal_new_entries

    if not no_seal:
        seal_new_entries()
    run = uow.retrying(db.session, lambda s: verify.verify(s, triggered_by="cli"))
    if as_json:
        click.echo(json.dumps({"id": run.id, "ok": run.ok, "summary": run.summary,
                               "discrepancies": run.discrepancies}, ensure_ascii=False))
    else:
        click.echo(f"run {run.id}: {'OK' if run.ok else 'DISCREPANCIES'} — {run.summary}")
        for d in run.discrepancies:
            click.echo("  " + json.dumps(d, ensure_ascii=False))
    if not run.ok:
        sys.exit(1)


@ledger_group.command("seal")
@with_appcontext
def seal_command():
    """Seal the entries committed since the last seal."""
    from timebank.workers.jobs.ledger_maintenance import seal_new_entries

    click.echo(f"sealed {seal_new_entries()} entries")


@ledger_group.command("release-expired")
@with_appcontext
def release_expired_command():
    """Release holds past their timeout."""
    from timebank.workers.jobs.ledger_maintenance import release_expired_holds

    click.echo(f"released {release_expired_holds()} holds")


@ledger_group.command("expire-points")
@with_appcontext
def expire_points_command():
    """Expire points due under each community's policy."""
    from timebank.workers.jobs.ledger_maintenance import expire_points

    click.echo(f"expired points on {expire_points()} accounts")


def init_app(app) -> None:
    app.cli.add_command(ledger_group)
