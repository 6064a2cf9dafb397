"""Ledger upkeep on a schedule: seal new entries, release timed-out holds, expire points, reconcile.

Thin wrappers: each job runs the ledger's functions in its own transaction(s), retrying deadlocks.
"""

from __future__ import annotations

import logging

from timebank import uow
from timebank.accounts import expiry as expiry_policy
from timebank.extensions import db
from timebank.ledger import chain, expiry, holds, verify
from timebank.ledger.models import Account, ReconciliationRun

log = logging.getLogger("timebank.ledger")


def seal_new_entries() -> int:
    """Seal what is committed so far; returns the number of entries sealed."""
    session = db.session
    sealed = 0
    while True:
        high = chain.watermark(session)
        uow.commit(session)  # releases the journal's SHARE lock at once (PostgreSQL)
        row = chain.seal(session, up_to=high)
        uow.commit(session)
        if row is None:
            return sealed
        sealed += row.entry_count
        if row.last_transfer_id >= high:
            return sealed


def release_expired_holds() -> int:
    total = 0
    while True:
        batch = uow.retrying(db.session, lambda s: holds.release_expired(s, limit=200))
        total += len(batch)
        if len(batch) < 200:
            if total:
                log.info("released expired holds", extra={"fields": {"count": total}})
            return total


def expire_points() -> int:
    """Expire due points on every volunteer account whose community has an expiry policy."""
    session = db.session
    after, expired = 0, 0
    while True:
        accounts = expiry.volunteer_points_accounts(session, after_id=after)
        if not accounts:
            return expired
        for account in accounts:
            months, community_id = expiry_policy.policy_for_person(session, account.owner_id)
            if months:
                account_id = account.id

                def work(s, account_id=account_id, months=months, community_id=community_id):
                    acc = s.get(Account, account_id)
                    return expiry.expire_account(s, acc, months=months, community_id=community_id)

                if uow.retrying(session, work) is not None:
                    expired += 1
        after = accounts[-1].id
        uow.commit(session)


def reconcile(triggered_by: str = "cron") -> int:
    """Seal, then verify everything; the run (with its discrepancies) is stored for auditors."""
    seal_new_entries()
    run = uow.retrying(db.session, lambda s: verify.verify(s, triggered_by=triggered_by))
    level = logging.INFO if run.ok else logging.ERROR
    log.log(level, "ledger reconciliation", extra={"fields": {"run": run.id, "ok": run.ok,
                                                              "discrepancies": run.discrepancy_count}})
    return run.id


def start_reconciliation(triggered_by: str):
    """Queue a reconciliation now (an auditor's request from the API or the console); returns the RQ job."""
    from timebank.workers.queues import LEDGER, queue

    return queue(LEDGER).enqueue(reconcile, triggered_by, job_timeout=3600, result_ttl=3600)


def latest_run() -> ReconciliationRun | None:
    from sqlalchemy import select

    return db.session.scalar(select(ReconciliationRun).order_by(ReconciliationRun.id.desc()).limit(1))


def seal_job() -> int:
    return seal_new_entries()


def release_expired_holds_job() -> int:
    return release_expired_holds()


def expire_points_job() -> int:
    return expire_points()


def reconcile_job() -> int:
    return reconcile("cron")
