"""Signed, rotating check-in codes: what the QR at a task's site encodes.

A token is an HMAC-signed (itsdangerous, app secret, own salt) payload naming the task, the rotation window it
was issued in and a random nonce. It is refused when forged (bad signature, or another task), expired (older
than `TTL_SECONDS`), outside the task's attendance window, or replayed: each use is recorded as a
`CheckinNonce` row whose UNIQUE (task, person, nonce) constraint makes the second use fail even under
concurrency. The site screen fetches a fresh token every `ROTATE_SECONDS`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from timebank.db_base import utcnow
from timebank.errors import Conflict, InvalidInput, RuleViolation
from timebank.hours.models import CheckinNonce, Task

SALT = "timebank.checkin"
ROTATE_SECONDS = 60
TTL_SECONDS = 180
# Check-in opens this long before the task starts; check-out closes this long after it ends.
EARLY = timedelta(minutes=30)
LATE = timedelta(minutes=60)


@dataclass(frozen=True)
class CheckinToken:
    token: str
    task_id: int
    window: int
    expires_at: datetime


@dataclass(frozen=True)
class ReadToken:
    task_id: int
    window: int
    nonce: str


class _Signer(TimestampSigner):
    """Timestamps from `utcnow()` (the service clock), so issue and expiry use one notion of now."""

    def get_timestamp(self) -> int:
        return int(utcnow().timestamp())


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=SALT, signer=_Signer)


def issue(secret_key: str, task: Task, *, now: datetime | None = None) -> CheckinToken:
    now = now or utcnow()
    window = int(now.timestamp()) // ROTATE_SECONDS
    token = _serializer(secret_key).dumps({"t": task.id, "w": window, "n": secrets.token_hex(8)})
    return CheckinToken(token=token, task_id=task.id, window=window,
                        expires_at=now + timedelta(seconds=TTL_SECONDS))


def read(secret_key: str, token: str) -> ReadToken:
    """The token's contents, or a 422 saying why it is refused (expired or not ours)."""
    try:
        data = _serializer(secret_key).loads(token, max_age=TTL_SECONDS)
    except SignatureExpired as exc:
        raise RuleViolation("checkin_token_expired") from exc
    except BadSignature as exc:
        raise InvalidInput("checkin_token_invalid") from exc
    try:
        return ReadToken(task_id=int(data["t"]), window=int(data["w"]), nonce=str(data["n"]))
    except (KeyError, TypeError, ValueError) as exc:  # signed by us but not a check-in payload
        raise InvalidInput("checkin_token_invalid") from exc


def check_window(task: Task, now: datetime) -> None:
    if now < task.starts_at - EARLY or now > task.ends_at + LATE:
        raise RuleViolation("outside_task_window", variant="checkin")


def spend(session: Session, token: ReadToken, *, person_id: int, purpose: str) -> None:
    """Record this person's use of the token; a second use (replay) is a 409."""
    try:
        with session.begin_nested():
            session.add(CheckinNonce(task_id=token.task_id, person_id=person_id, nonce=token.nonce,
                                     purpose=purpose))
    except IntegrityError as exc:
        raise Conflict("checkin_token_replayed") from exc
