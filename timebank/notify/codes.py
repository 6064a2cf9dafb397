"""One-time security codes (sign-up, password reset, ...): six digits sent by SMS, kept only as a keyed hash,
valid for a few minutes, with a limited number of tries and at most one new code a minute per phone and
purpose. Codes are exempt from preferences, quiet hours and the daily cap.

`check_code` counts a wrong try in the database even though the check fails, so its caller commits first and
then refuses (`CodeCheck.refusal`): a refusal that rolled the count back would allow endless guessing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, has_app_context
from sqlalchemy import select
from sqlalchemy.orm import Session

from timebank.db_base import utcnow
from timebank.errors import InvalidInput, RuleViolation, TimebankError
from timebank.notify import rules, templates
from timebank.notify.models import NotificationDelivery, OneTimeCode

CODE_TTL = timedelta(minutes=5)
MAX_TRIES = 5
RESEND_AFTER = timedelta(seconds=60)
PHONE = re.compile(r"^1\d{10}$")


def _key() -> bytes:
    return (current_app.config["SECRET_KEY"] if has_app_context() else "dev-only").encode()


def code_hash(code_id: int, code: str) -> str:
    """Keyed, and bound to the row: a copy of the table alone does not let anyone try the 10^6 codes offline."""
    return hmac.new(_key(), f"{code_id}:{code}".encode(), hashlib.sha256).hexdigest()


def _check_input(phone: str, purpose: str) -> None:
    if not PHONE.match(phone or ""):
        raise InvalidInput("phone_invalid")
    if purpose not in templates.PURPOSES:
        raise InvalidInput("code_purpose_unknown", purpose=purpose)


def send_code(session: Session, phone: str, purpose: str, *, now: datetime | None = None) -> OneTimeCode:
    """Issue a code for `phone` and queue its SMS (flushes). Refuses a new code within a minute of the last."""
    _check_input(phone, purpose)
    now = now or utcnow()
    last = _latest(session, phone, purpose)
    if last is not None and last.created_at > now - RESEND_AFTER:
        wait = int((last.created_at + RESEND_AFTER - now).total_seconds()) + 1
        raise RuleViolation("code_sent_recently", seconds=wait)
    code = f"{secrets.randbelow(10**6):06d}"
    row = OneTimeCode(phone=phone, purpose=purpose, code_hash="", sealed=code, attempts=0,
                      expires_at=now + CODE_TTL, created_at=now)
    session.add(row)
    session.flush()
    row.code_hash = code_hash(row.id, code)
    delivery = NotificationDelivery(code_id=row.id, kind=templates.CODE, channel=templates.SMS, next_attempt_at=now,
                                    max_attempts=3, created_at=now)
    session.add(delivery)
    session.flush()
    rules.queue_deliveries(session, [delivery.id], now)
    return row


def _latest(session: Session, phone: str, purpose: str, *, lock: bool = False) -> OneTimeCode | None:
    stmt = (select(OneTimeCode).where(OneTimeCode.phone == phone, OneTimeCode.purpose == purpose)
            .order_by(OneTimeCode.id.desc()).limit(1))
    if lock:
        stmt = stmt.with_for_update()
    return session.scalar(stmt)


@dataclass(frozen=True)
class CodeCheck:
    ok: bool
    refusal: TimebankError | None = None  # what the caller raises, after committing, when not ok


def check_code(session: Session, phone: str, purpose: str, code: str, *, now: datetime | None = None) -> CodeCheck:
    """Check the latest code for (phone, purpose); a right one is used up, a wrong one counts a try (flushes)."""
    _check_input(phone, purpose)
    now = now or utcnow()
    row = _latest(session, phone, purpose, lock=True)
    if row is None or row.used_at is not None:
        return CodeCheck(False, InvalidInput("code_invalid", tries_left=0))
    if row.expires_at <= now:
        return CodeCheck(False, InvalidInput("code_expired"))
    if row.attempts >= MAX_TRIES:
        return CodeCheck(False, InvalidInput("code_tries_exhausted"))
    if hmac.compare_digest(row.code_hash, code_hash(row.id, (code or "").strip())):
        row.used_at = now
        row.sealed = None
        session.flush()
        return CodeCheck(True)
    row.attempts += 1
    session.flush()
    return CodeCheck(False, InvalidInput("code_invalid", tries_left=MAX_TRIES - row.attempts))
