"""The transactional outbox: work promised in a request survives a Redis outage and runs exactly once."""

from __future__ import annotations

import pytest
import redis
from sqlalchemy import func, select

from timebank import uow
from timebank.ops import audit, outbox
from timebank.ops.models import AuditEntry, OutboxMessage, OutboxStatus
from timebank.ops.outbox import pending_key, sweep
from timebank.people.access import SYSTEM
from timebank.workers.outbox import drain_topic
from timebank.workers.topics import TOPICS, Topic

TOPIC = "test.greeting"


def _greet(session, messages):
    for message in messages:
        if message.payload.get("poison"):
            raise ValueError("poison message")
        audit.record(session, SYSTEM, "greeting.sent", "person", message.payload["person_id"])


def _greetings(session) -> int:
    return session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "greeting.sent"))


def test_work_promised_while_redis_is_down_runs_after_it_returns(app, session, run_jobs):
    healthy = app.extensions["redis"]
    app.extensions["redis"] = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    with app.test_request_context("/"):
        outbox.add(session, TOPIC, {"person_id": 7})
        uow.commit()  # the request succeeds although the kick cannot reach Redis
    message = session.scalar(select(OutboxMessage))
    assert message.status == OutboxStatus.pending

    app.extensions["redis"] = healthy
    from timebank.extensions import redis_ext

    assert sweep(session, redis_ext.connection) == [TOPIC]
    session.rollback()
    assert run_jobs() >= 1
    session.expire_all()
    assert session.get(OutboxMessage, message.id).status == OutboxStatus.done
    assert _greetings(session) == 1
    assert sweep(session, redis_ext.connection) == []  # nothing left to do
    assert run_jobs() == 0
    assert _greetings(session) == 1


def test_after_commit_kick_enqueues_one_drain_for_many_messages(app, session, run_jobs):
    from timebank.extensions import redis_ext

    with app.test_request_context("/"):
        for person_id in range(5):
            outbox.add(session, TOPIC, {"person_id": person_id})
        uow.commit()
    assert redis_ext.connection.exists(pending_key(TOPIC))
    assert run_jobs() == 1
    assert _greetings(session) == 5


def test_a_poison_message_is_isolated_backed_off_and_finally_dead(app, session):
    good = outbox.add(session, TOPIC, {"person_id": 1})
    bad = outbox.add(session, TOPIC, {"person_id": 2, "poison": True})
    session.commit()
    assert drain_topic(session, TOPIC, max_attempts=2) == 1
    session.expire_all()
    assert session.get(OutboxMessage, good.id).status == OutboxStatus.done
    failed = session.get(OutboxMessage, bad.id)
    assert failed.status == OutboxStatus.pending and failed.attempts == 1
    assert "poison message" in failed.last_error
    assert failed.available_at > failed.created_at  # backed off, not retried in a hot loop

    failed.available_at = failed.created_at
    session.commit()
    drain_topic(session, TOPIC, max_attempts=2)
    session.expire_all()
    assert session.get(OutboxMessage, bad.id).status == OutboxStatus.dead
    assert _greetings(session) == 1


def test_a_dedupe_key_promises_work_once(session):
    import pytest
    from sqlalchemy.exc import IntegrityError

    outbox.add(session, TOPIC, {"person_id": 1}, dedupe_key="greet:1")
    session.commit()
    outbox.add(session, TOPIC, {"person_id": 1}, dedupe_key="greet:1")
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()


FOLLOW_UP = "test.follow-up"


def _follow_up(session, messages):
    for message in messages:
        audit.record(session, SYSTEM, "greeting.sent", "person", message.payload["person_id"])


def _chain(session, messages):
    for message in messages:
        outbox.add(session, FOLLOW_UP, {"person_id": message.payload["person_id"]})


def test_work_promised_by_a_handler_is_kicked_without_waiting_for_the_sweep(app, session, run_jobs):
    with app.test_request_context("/"):
        outbox.add(session, "test.chain", {"person_id": 3})
        uow.commit()
    run_jobs()  # drains test.chain, whose handler promises test.follow-up; the burst worker runs that too
    assert _greetings(session) == 1


@pytest.fixture(autouse=True)
def _test_topics(app, monkeypatch):
    """This module's topics, declared beside the service's for the length of each test."""
    for topic in (Topic(TOPIC, "default", _greet, 10), Topic(FOLLOW_UP, "default", _follow_up, 10),
                  Topic("test.chain", "default", _chain, 10)):
        monkeypatch.setitem(TOPICS, topic.name, topic)
        monkeypatch.setitem(app.extensions[outbox.QUEUES_KEY], topic.name, topic.queue)
