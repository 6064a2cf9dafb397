"""Telling people what concerns them: an in-app inbox, SMS, e-mail and WeChat subscription messages.

Domains that emit events call `rules.notify(session, person_id, kind, params, dedupe_key)` (or `notify_many`
for a sweep's page of events) inside their own transaction; the inbox row, one delivery row per external channel
and an outbox message are written there. The `notify.deliver` topic hands deliveries to the senders
(`timebank.workers.jobs.notify`), which take a lease, call the channels' adapters outside any transaction (several
calls in flight at once) and record the attempts. Every Chinese text is in `templates`; channel adapters are in
`channels`; one-time codes are in `codes`.
"""

from timebank.notify.rules import Event, notify, notify_many, told_now  # noqa: E402 - what other domains call

__all__ = ["Event", "notify", "notify_many", "told_now"]
