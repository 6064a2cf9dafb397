"""Signed webhooks for any receiver (merchants, employers): signing, HTTP delivery, retries, dead letters.

Generic on purpose: a caller names a receiver (`target_kind`, `target_id`), an event type and a JSON payload;
the receiver's URL and secret are looked up at each attempt through the resolver declared for the kind
(`timebank.workers.jobs.webhooks.TARGETS`), so a fixed URL or a rotated secret applies to retries and resends.

What goes over the wire (a POST with a JSON body):

    X-Timebank-Event        event type, e.g. "redemption.held"
    X-Timebank-Delivery     delivery id, the same on every retry (receivers dedupe on it)
    X-Timebank-Timestamp    Unix seconds when this attempt was signed
    X-Timebank-Signature    "v1=" + hex(HMAC-SHA256(secret, f"{timestamp}.{body}"))
    body                    {"id": <delivery id>, "type": <event>, "created_at": <ISO UTC>, "data": {...}}

Receivers verify with `timebank.ops.webhook_verify.verify` (stdlib only; rejects bad signatures and timestamps
older than five minutes).

Lifecycle of a `WebhookDelivery` row: created `pending` in the caller's transaction together with an outbox
message (topic `webhook.deliver`); the outbox drain enqueues one `deliver` job per row; the job takes a
lease (`prepare`, committed), makes the HTTP call outside any transaction (`post`), then records the outcome
(`record`, committed):
2xx -> `delivered` (and the event's response hook runs); 408/425/429/5xx, timeouts and connection errors ->
retried after exponential back-off with jitter; other 4xx or the attempt limit -> `dead`, listed for admins
and re-sendable with `resend`. A worker killed mid-call leaves a lease that runs out; `due_ids` finds it again.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import random
import secrets
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from timebank.db_base import utcnow
from timebank.errors import Conflict, get_or_404
from timebank.ops import outbox
from timebank.ops.models import DeliveryStatus, WebhookDelivery
from timebank.ops.webhook_verify import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    compute_signature,
)

log = logging.getLogger("timebank.webhooks")

TOPIC = "webhook.deliver"
DEFAULT_TIMEOUT_SECONDS = 5.0
DEFAULT_MAX_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 3600.0
LEASE_MARGIN_SECONDS = 30.0
RESPONSE_KEEP_CHARS = 2000
USER_AGENT = "timebank-webhooks/1"

# target_kind -> resolver(session, target_id) -> (url, secret) or None when the receiver has no webhook.
Resolver = Callable[[Session, int], "tuple[str, str] | None"]
# event_type -> hook(session, delivery, parsed JSON answer or None), run in the transaction that records success.
ResponseHook = Callable[[Session, WebhookDelivery, "dict | None"], None]


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    return "v1=" + compute_signature(secret, timestamp, body)


def encode_event(delivery_id: int, event_type: str, payload: dict, created_at: datetime) -> bytes:
    event = {"id": delivery_id, "type": event_type, "created_at": created_at.isoformat(), "data": payload}
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


def backoff_delay(attempts: int, *, base: float = BACKOFF_BASE_SECONDS, cap: float = BACKOFF_CAP_SECONDS,
                  rng: random.Random | None = None) -> float:
    """Exponential back-off with "equal jitter": half fixed, half random, so retries of many rows spread out."""
    ceiling = min(cap, base * (2 ** max(attempts - 1, 0)))
    return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    retryable: bool
    status: int | None
    body: str
    error: str | None
    elapsed: float


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # a signed POST must not wander to another host
        return None


_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def blocked_destination(url: str) -> str | None:
    """Why `url` must not be called, or None. Receivers are on the public internet: a webhook URL that resolves
    to a loopback, private, link-local or otherwise non-public address (the database, Redis, a cloud metadata
    service) would let whoever sets it make our workers call inside the network. Checked at every attempt, so a
    name that later resolves inward is caught then (the residual window between this lookup and urllib's own
    is a DNS-rebinding race; deployments that need more put an egress proxy in front)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"not an http(s) URL: {url[:100]}"
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80),
                                   proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return None  # unresolvable now: the attempt itself fails and is retried
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
        if not address.is_global or address.is_multicast:
            return f"{parts.hostname} resolves to a non-public address ({address})"
    return None


def post(url: str, secret: str, event_type: str, body: bytes, *, delivery_id: int,
         timeout: float = DEFAULT_TIMEOUT_SECONDS, timestamp: int | None = None,
         allow_private: bool = False) -> Outcome:
    """One signed HTTP POST. Never raises for network or HTTP failures: they come back as an Outcome.

    A URL that resolves to a non-public address is refused (not retried) unless `allow_private`
    (configuration `WEBHOOK_ALLOW_PRIVATE_HOSTS`, for receivers on the same network, and tests)."""
    if not allow_private and (reason := blocked_destination(url)):
        return Outcome(False, False, None, "", f"blocked: {reason}", 0.0)
    ts = int(time.time()) if timestamp is None else timestamp
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        EVENT_HEADER: event_type,
        DELIVERY_HEADER: str(delivery_id),
        TIMESTAMP_HEADER: str(ts),
        SIGNATURE_HEADER: sign(secret, ts, body),
    })
    started = time.perf_counter()
    try:
        with _opener.open(request, timeout=timeout) as resp:
            text = resp.read(RESPONSE_KEEP_CHARS * 4).decode("utf-8", "replace")
            status = resp.status
    except urllib.error.HTTPError as exc:
        status = exc.code
        text = (exc.read(RESPONSE_KEEP_CHARS * 4) or b"").decode("utf-8", "replace")
        retryable = status in (408, 425, 429) or status >= 500
        return Outcome(False, retryable, status, text[:RESPONSE_KEEP_CHARS], f"HTTP {status}",
                       time.perf_counter() - started)
    except TimeoutError as exc:
        return Outcome(False, True, None, "", f"timeout after {timeout}s: {exc}", time.perf_counter() - started)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        retryable = not isinstance(exc, ValueError)
        return Outcome(False, retryable, None, "", f"{type(reason).__name__}: {reason}"[:500],
                       time.perf_counter() - started)
    elapsed = time.perf_counter() - started
    if 200 <= status < 300:
        return Outcome(True, False, status, text[:RESPONSE_KEEP_CHARS], None, elapsed)
    return Outcome(False, status >= 500, status, text[:RESPONSE_KEEP_CHARS], f"HTTP {status}", elapsed)


# --- rows ---------------------------------------------------------------------------------------------------


def enqueue(session: Session, *, target_kind: str, target_id: int, event_type: str, payload: dict,
            subject: str | None = None, dedupe_key: str | None = None,
            max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> WebhookDelivery:
    """Promise a delivery inside the caller's transaction (flushes). A repeated `dedupe_key` returns the first."""
    if dedupe_key:
        existing = session.scalar(select(WebhookDelivery).where(WebhookDelivery.dedupe_key == dedupe_key))
        if existing is not None:
            return existing
    delivery = WebhookDelivery(target_kind=target_kind, target_id=target_id, event_type=event_type,
                               subject=subject, payload=payload, dedupe_key=dedupe_key,
                               max_attempts=max_attempts, next_attempt_at=utcnow(), attempts=0, resends=0,
                               status=DeliveryStatus.pending)
    session.add(delivery)
    session.flush()
    outbox.add(session, TOPIC, {"delivery_id": delivery.id})
    return delivery


def get(session: Session, delivery_id: int) -> WebhookDelivery:
    delivery = get_or_404(session, WebhookDelivery, delivery_id, "webhook_delivery_not_found")
    return delivery


def resend(session: Session, delivery: WebhookDelivery) -> WebhookDelivery:
    """Put a dead (or delivered) delivery back in the queue with a fresh attempt budget (flushes)."""
    if delivery.status == DeliveryStatus.pending:
        raise Conflict("delivery_pending")
    delivery.status = DeliveryStatus.pending
    delivery.attempts = 0
    delivery.resends += 1
    delivery.next_attempt_at = utcnow()
    delivery.lease_until = None
    session.flush()
    outbox.add(session, TOPIC, {"delivery_id": delivery.id})
    return delivery


def due_ids(session: Session, *, now: datetime | None = None, limit: int = 100) -> list[int]:
    """Pending deliveries whose next attempt is due and whose lease (if any) has run out."""
    now = now or utcnow()
    return list(session.scalars(
        select(WebhookDelivery.id).where(
            WebhookDelivery.status == DeliveryStatus.pending, WebhookDelivery.next_attempt_at <= now,
            or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until <= now))
        .order_by(WebhookDelivery.next_attempt_at).limit(limit)))


def claim(session: Session, delivery_id: int, *, timeout: float, now: datetime | None = None) -> bool:
    """Take the lease for one attempt with a conditional UPDATE: exactly one worker wins (flushes)."""
    now = now or utcnow()
    result = session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.status == DeliveryStatus.pending,
               WebhookDelivery.next_attempt_at <= now,
               or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until <= now))
        .values(lease_until=now + timedelta(seconds=timeout + LEASE_MARGIN_SECONDS),
                attempts=WebhookDelivery.attempts + 1)
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


def record(session: Session, delivery_id: int, outcome: Outcome, *, url: str | None,
           hooks: dict[str, ResponseHook] | None = None, now: datetime | None = None,
           rng: random.Random | None = None) -> WebhookDelivery:
    """Store an attempt's outcome; on success run the event's response hook in the same transaction (flushes)."""
    now = now or utcnow()
    delivery = session.get(WebhookDelivery, delivery_id, with_for_update=True, populate_existing=True)
    delivery.lease_until = None
    delivery.last_url = url
    delivery.last_status_code = outcome.status
    delivery.response_body = outcome.body or None
    if outcome.ok:
        delivery.status = DeliveryStatus.delivered
        delivery.delivered_at = now
        delivery.last_error = None
        hook = (hooks or {}).get(delivery.event_type)
        if hook is not None:
            hook(session, delivery, _parse_json(outcome.body))
    else:
        delivery.last_error = outcome.error
        if not outcome.retryable or delivery.attempts >= delivery.max_attempts:
            delivery.status = DeliveryStatus.dead
            log.error("webhook delivery dead", extra={"fields": {
                "delivery_id": delivery.id, "event": delivery.event_type, "error": outcome.error}})
        else:
            delivery.next_attempt_at = now + timedelta(seconds=backoff_delay(delivery.attempts, rng=rng))
    session.flush()
    return delivery


def _parse_json(text: str) -> dict | None:
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


@dataclass(frozen=True)
class Attempt:
    """What one attempt sends, read under the lease: the HTTP call needs no session."""

    delivery_id: int
    event_type: str
    target_kind: str
    body: bytes
    target: tuple[str, str] | None  # (url, secret); None when the receiver has no webhook


def prepare(session: Session, delivery_id: int, targets: dict[str, Resolver], *, timeout: float,
            now: datetime | None = None) -> Attempt | None:
    """Take the lease and read what to send (flushes); None when not due, leased elsewhere, or finished."""
    if not claim(session, delivery_id, timeout=timeout, now=now):
        return None
    delivery = session.get(WebhookDelivery, delivery_id, populate_existing=True)
    resolver = targets.get(delivery.target_kind)
    return Attempt(delivery.id, delivery.event_type, delivery.target_kind,
                   encode_event(delivery.id, delivery.event_type, delivery.payload, delivery.created_at),
                   resolver(session, delivery.target_id) if resolver else None)


def send(attempt: Attempt, *, timeout: float, allow_private: bool = False) -> tuple[Outcome, str | None]:
    """The HTTP call of one attempt, outside any transaction: (outcome, url)."""
    if attempt.target is None:
        return Outcome(False, False, None, "", f"no webhook configured for {attempt.target_kind}", 0.0), None
    url, secret = attempt.target
    outcome = post(url, secret, attempt.event_type, attempt.body, delivery_id=attempt.delivery_id,
                   timeout=timeout, allow_private=allow_private)
    log.info("webhook attempt", extra={"fields": {
        "delivery_id": attempt.delivery_id, "event": attempt.event_type, "ok": outcome.ok,
        "status": outcome.status, "ms": round(outcome.elapsed * 1000, 1), "error": outcome.error}})
    return outcome, url


def result_of(delivery: WebhookDelivery) -> str:
    if delivery.status == DeliveryStatus.delivered:
        return "delivered"
    return "dead" if delivery.status == DeliveryStatus.dead else "retry"
