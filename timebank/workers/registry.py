"""Outbox topics and their handlers. A handler takes (session, messages) and flushes, never commits."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from timebank.ops.models import OutboxMessage

Handler = Callable[[Session, list[OutboxMessage]], None]


@dataclass(frozen=True)
class Topic:
    name: str
    queue: str
    handler: Handler
    batch_size: int


TOPICS: dict[str, Topic] = {}


def handles(topic: str, *, queue: str = "default", batch_size: int = 200) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        TOPICS[topic] = Topic(topic, queue, func, batch_size)
        return func

    return register


def load() -> dict[str, Topic]:
    """Import every module under `timebank.workers.jobs`, so their topics and cron entries register."""
    from timebank.workers import jobs

    for info in pkgutil.iter_modules(jobs.__path__):
        importlib.import_module(f"{jobs.__name__}.{info.name}")
    return TOPICS
