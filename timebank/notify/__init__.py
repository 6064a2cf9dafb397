"""Telling people what concerns them: an in-app inbox, SMS, e-mail and WeChat subscription messages.

Domains that emit events call `rules.notify(session, person_id, kind, params, dedupe_key)` inside their own
transaction; the inbox row, one delivery row per external channel and an outbox message are written there.
The `notify.deliver` topic hands deliveries to the senders (`timebank.workers.jobs.notify`), which take a lease,
call the channel's adapter outside any transaction and record the attempt. Every Chinese text is in
`templates`; channel adapters are in `channels`; one-time codes are in `codes`.
"""

from timebank.notify.rules import notify, told_now  # noqa: E402 - the entry point other domains call

__all__ = ["notify", "told_now"]
