"""PostgreSQL: one ID number registering from several devices at the same moment gives exactly one person; the
others hear 409 id_number_taken (the UNIQUE key decides, caught inside a SAVEPOINT)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from timebank.joining.models import JoinRequest
from timebank.people.models import Person

from .people_data import code_for, id_number, new_phone

pytestmark = pytest.mark.pg_only


def test_one_id_number_from_many_devices_at_once_gives_one_person(app, session, tree):
    number = id_number()
    devices = []
    for _ in range(6):  # each device has its own phone and code; the ID number is the same
        phone = new_phone()
        devices.append({"phone": phone, "code": code_for(session, phone, "signup"), "name": "同一人",
                        "id_number": number, "community_id": tree.community_a.id, "password": "long-enough-1"})
    session.rollback()
    barrier = threading.Barrier(len(devices))
    results: list[tuple[int, str | None]] = []

    def race(body):
        client = app.test_client()
        barrier.wait()
        resp = client.post("/api/signup", json=body)
        results.append((resp.status_code, (resp.json or {}).get("code")))

    threads = [threading.Thread(target=race, args=(body,)) for body in devices]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [s for s, _ in results].count(201) == 1, results
    assert {(s, c) for s, c in results if s != 201} == {(409, "id_number_taken")}
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Person)) == 1
    assert session.scalar(select(func.count()).select_from(JoinRequest)) == 1


def test_the_insert_itself_refuses_a_twin_that_passed_the_first_check(app, session, tree, monkeypatch):
    """Two registrations that both looked before either wrote: the second insert waits on the first's key and is
    refused by it, not by the look-up."""
    from timebank.extensions import db
    from timebank.people import persons as people

    number = id_number()
    barrier = threading.Barrier(2)
    real_scalar = type(db.session()).scalar
    looked = threading.local()

    def scalar_then_wait(self, stmt, *args, **kwargs):
        result = real_scalar(self, stmt, *args, **kwargs)
        if "id_number_hash" in str(stmt) and not getattr(looked, "done", False):
            looked.done = True
            barrier.wait(timeout=10)  # both have looked; neither has written
        return result

    monkeypatch.setattr(type(db.session()), "scalar", scalar_then_wait)
    results: list[str] = []

    def register():
        with app.app_context():
            try:
                people.register(db.session, None, name="同一人", phone=new_phone(), password=None, home_org_id=None,
                                id_number=number, id_number_key="k")
                db.session.commit()
                results.append("created")
            except Exception as exc:  # noqa: BLE001 - the refusal is what the test reads
                db.session.rollback()
                results.append(getattr(exc, "code", repr(exc)))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=register) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["created", "id_number_taken"]
