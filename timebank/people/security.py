"""Secrets: passwords (argon2id), bearer tokens (signed, short-lived), API keys, keyed ID-number hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from timebank.errors import TimebankError

_hasher = PasswordHasher()
# A hash of a random password: verifying against it costs the same time as a real one (no user probing).
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


# The hash is slow on purpose. However many logins arrive at once, a process hashes one password at a time, so
# logins queue behind each other instead of starving every other request of the CPU; one that cannot start
# within HASH_WAIT_SECONDS is told to come back (503 login_busy).
_HASH_SLOT = threading.BoundedSemaphore(1)
HASH_WAIT_SECONDS = 5.0


def verify_password(password_hash: str | None, password: str) -> bool:
    if not _HASH_SLOT.acquire(timeout=HASH_WAIT_SECONDS):
        raise TimebankError("login_busy", status=503, retry_after=2)
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
    finally:
        _HASH_SLOT.release()


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt="timebank.access-token")


def issue_token(secret_key: str, person_id: int, token_version: int) -> str:
    return _serializer(secret_key).dumps({"p": person_id, "v": token_version})


def read_token(secret_key: str, token: str, max_age: int) -> tuple[int, int] | None:
    """(person_id, token_version), or None for a forged or expired token."""
    try:
        data = _serializer(secret_key).loads(token, max_age=max_age)
    except (SignatureExpired, BadSignature):
        return None
    return int(data["p"]), int(data["v"])


def new_api_key() -> tuple[str, str, str]:
    """(full key shown once, lookup prefix, stored SHA-256). 256 random bits make a slow KDF unnecessary."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    full = f"tbk_{prefix}_{secret}"
    return full, prefix, sha256_hex(full)


def split_api_key(key: str) -> str | None:
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != "tbk":
        return None
    return parts[1]


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def id_number_hash(key: str, id_number: str) -> str:
    return hmac.new(key.encode(), id_number.strip().upper().encode(), hashlib.sha256).hexdigest()


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
