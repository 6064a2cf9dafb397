"""Task jobs: the claimants of a task that was changed or cancelled (outbox topic `task.claimants`).

This is the hook where the claimants are told. Until the in-app notifications exist, each message is logged with
the people to tell and what changed, and stays in the outbox table as the record of the notice; the
notifications service replaces `tell_claimants` with one that writes each claimant's message.
"""

from __future__ import annotations

import logging

log = logging.getLogger("timebank.jobs.tasks")


def tell_claimants(session, messages) -> None:
    for message in messages:
        payload = message.payload
        log.info("task claimants to tell", extra={"fields": {
            "task_id": payload.get("task_id"), "change": payload.get("change"),
            "people": len(payload.get("person_ids") or ()), "fields": sorted(payload.get("fields") or {})}})
