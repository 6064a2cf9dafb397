"""How often a phone number and a network address may fail to log in: the brake on password guessing, and on
the password hash as a lever against everyone else's requests.

Figures (per minute, counted in fixed windows of the service clock):
- one phone number: 5 failed logins; the 6th attempt in that minute is refused before any hashing;
- one network address: 20 failed logins, whatever phones they name;
- one network address: 5 requests for a one-time code (each is an SMS someone pays for).
A refusal is 429 `too_many_logins` with `Retry-After` (seconds to the window's end). A successful login does not
count. The counts live in Redis so every API process shares them; with Redis unreachable each process counts
for itself (the limit then holds per process, never not at all).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from timebank.errors import TimebankError

log = logging.getLogger("timebank.login")

WINDOW_SECONDS = 60
PHONE_FAILURES = 5
ADDRESS_FAILURES = 20
# One-time codes cost an SMS each: one address may ask for this many a minute, whatever the phones (the code
# rules themselves allow one a minute per phone).
ADDRESS_CODES = 5


class TooManyLogins(TimebankError):
    status, code, title = 429, "too_many_logins", "Too many login attempts"


class TooManyCodes(TimebankError):
    status, code, title = 429, "too_many_codes", "Too many one-time codes requested"


class Counter(Protocol):
    def get(self, key: str) -> int: ...
    def incr(self, key: str, ttl: int) -> int: ...


class MemoryCounter:
    """One process's counts: the fallback while Redis is away, and enough for a single process."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> int:
        return self._counts.get(key, 0)

    def incr(self, key: str, ttl: int) -> int:
        with self._lock:
            if len(self._counts) > 100_000:  # old windows' keys: forget them all rather than grow
                self._counts.clear()
            self._counts[key] = self._counts.get(key, 0) + 1
            return self._counts[key]


class RedisCounter:
    def __init__(self, connection, fallback: MemoryCounter) -> None:
        self.connection = connection
        self.fallback = fallback

    def get(self, key: str) -> int:
        try:
            return int(self.connection.get(key) or 0)
        except Exception as exc:  # noqa: BLE001 - any Redis failure: count in-process instead
            log.warning("login limits without Redis", extra={"fields": {"error": type(exc).__name__}})
            return self.fallback.get(key)

    def incr(self, key: str, ttl: int) -> int:
        try:
            pipe = self.connection.pipeline()
            pipe.incr(key)
            pipe.expire(key, ttl)
            return int(pipe.execute()[0])
        except Exception:  # noqa: BLE001
            return self.fallback.incr(key, ttl)


@dataclass(frozen=True)
class LoginLimits:
    counter: Counter
    now: datetime
    address: str

    @property
    def _window(self) -> tuple[int, int]:
        epoch = int(self.now.timestamp())
        return epoch // WINDOW_SECONDS, WINDOW_SECONDS - epoch % WINDOW_SECONDS

    def _keys(self, phone: str) -> tuple[str, str]:
        window, _ = self._window
        return f"login:fail:phone:{phone}:{window}", f"login:fail:addr:{self.address}:{window}"

    def address_blocked(self) -> int | None:
        """Seconds until this address may try again, when it has failed ADDRESS_FAILURES times this window."""
        window, left = self._window
        return left if self.counter.get(f"login:fail:addr:{self.address}:{window}") >= ADDRESS_FAILURES else None

    def check(self, phone: str) -> None:
        """Refuse before the password is even hashed when this phone or address has failed too often."""
        phone_key, address_key = self._keys(phone)
        if self.counter.get(phone_key) >= PHONE_FAILURES or self.counter.get(address_key) >= ADDRESS_FAILURES:
            raise TooManyLogins(retry_after=self._window[1])

    def code_requested(self) -> None:
        """Count a request for a one-time code from this address; refuse past ADDRESS_CODES a minute."""
        window, left = self._window
        if self.counter.incr(f"code:addr:{self.address}:{window}", WINDOW_SECONDS * 2) > ADDRESS_CODES:
            raise TooManyCodes(retry_after=left)

    def failed(self, phone: str) -> None:
        for key in self._keys(phone):
            self.counter.incr(key, WINDOW_SECONDS * 2)


_PROCESS_COUNTS = MemoryCounter()


def for_address(connection, now: datetime, address: str | None) -> LoginLimits:
    """The limits for a login from `address`, counted in Redis (`connection`), or in-process without it."""
    counter = RedisCounter(connection, _PROCESS_COUNTS) if connection is not None else _PROCESS_COUNTS
    return LoginLimits(counter, now, address or "unknown")
