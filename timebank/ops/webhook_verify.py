"""Verify a timebank webhook on the receiving side. Standard library only: copy this file into your project.

Every webhook timebank sends is an HTTP POST with a JSON body and these headers:

    X-Timebank-Event        the event type, e.g. "redemption.held"
    X-Timebank-Delivery     the delivery id; identical on every retry of the same event (dedupe on it)
    X-Timebank-Timestamp    Unix time in seconds at which this attempt was signed
    X-Timebank-Signature    "v1=" + hex(HMAC-SHA256(secret, timestamp + "." + raw_body))
                            (during a secret rotation several "v1=" values may be sent, comma separated)

Check the signature over the raw bytes of the body, before parsing it, and reject stale timestamps so a
captured request cannot be replayed later:

    from timebank.ops.webhook_verify import verify, WebhookVerificationError

    try:
        event = verify(secret, request.headers, request.get_data())
    except WebhookVerificationError as exc:
        return 400, str(exc)

Answer 2xx quickly. A redemption event may be answered with `{"decision": "refuse", "reason": "..."}` to
refuse it (the volunteer's points are released); any other 2xx accepts it. Non-2xx answers and timeouts are
retried with exponential back-off.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping

SIGNATURE_HEADER = "X-Timebank-Signature"
TIMESTAMP_HEADER = "X-Timebank-Timestamp"
EVENT_HEADER = "X-Timebank-Event"
DELIVERY_HEADER = "X-Timebank-Delivery"
DEFAULT_TOLERANCE_SECONDS = 300


class WebhookVerificationError(Exception):
    """The request was not signed by timebank with this secret, or is too old (a replay)."""


def compute_signature(secret: str, timestamp: str | int, body: bytes) -> str:
    """The hex HMAC-SHA256 of `timestamp + "." + body` under `secret`."""
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:  # plain dicts are case-sensitive; HTTP headers are not
        lowered = name.lower()
        for key, candidate in headers.items():
            if key.lower() == lowered:
                return candidate
    return value


def verify(secret: str, headers: Mapping[str, str], body: bytes, *,
           tolerance: int = DEFAULT_TOLERANCE_SECONDS, now: float | None = None) -> dict:
    """Return the parsed event if the signature is valid and fresh; raise WebhookVerificationError if not."""
    timestamp = _header(headers, TIMESTAMP_HEADER)
    signature = _header(headers, SIGNATURE_HEADER)
    if not timestamp or not signature:
        raise WebhookVerificationError("missing timestamp or signature header")
    try:
        ts = int(timestamp)
    except ValueError as exc:
        raise WebhookVerificationError("timestamp is not an integer") from exc
    current = time.time() if now is None else now
    if abs(current - ts) > tolerance:
        raise WebhookVerificationError("timestamp outside the tolerance window (stale or replayed request)")
    expected = compute_signature(secret, timestamp, body)
    candidates = [part.strip()[3:] for part in signature.split(",") if part.strip().startswith("v1=")]
    if not any(hmac.compare_digest(expected, c) for c in candidates):
        raise WebhookVerificationError("signature does not match")
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise WebhookVerificationError("body is not JSON") from exc
