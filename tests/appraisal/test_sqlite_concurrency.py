"""The embedded default with several users at once: audited reads (which write an audit row) beside writes.
Every answer is a 2xx; none is a 500 "database is locked"."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from tests.conftest import ON_PG
from timebank.people import partners
from timebank.people.access import SYSTEM
from timebank.people.models import Role

pytestmark = pytest.mark.skipif(ON_PG, reason="the embedded SQLite default")

THREADS, ROUNDS = 5, 15


def test_five_clients_reading_an_audited_roster_and_writing_get_no_500(app, session, tree, make_employer,
                                                                      make_member, as_user):
    employer = make_employer()
    for i in range(3):
        make_member(employer, tree.grid_a, name=f"党员{i}")
    _row, key = partners.issue_api_key(session, SYSTEM, employer_id=employer.id, label="党委")
    session.commit()
    headers, employer_id = {"X-API-Key": key}, employer.id
    _admin, admin_headers = as_user(Role.district_admin, tree.district)
    session.rollback()  # the test's own session holds no lock while the clients work
    statuses: Counter[int] = Counter()
    errors: list[str] = []
    start = threading.Barrier(THREADS)

    def client_thread(n: int) -> None:
        try:
            _client_thread(n)
        except Exception:
            import traceback
            errors.append(traceback.format_exc())

    def _client_thread(n: int) -> None:
        client = app.test_client()
        start.wait()
        for i in range(ROUNDS):
            if n % 2 == 0:  # an audited read: GET that writes the audit row
                resp = client.get(f"/api/employers/{employer_id}/report-ins", headers=headers)
            else:  # a plain write beside it: the district admin issues the employer another key
                resp = client.post(f"/api/employers/{employer_id}/api-keys", json={"label": f"t{n}-{i}"},
                                   headers=admin_headers)
            statuses[resp.status_code] += 1
            if resp.status_code >= 500:
                errors.append(resp.get_data(as_text=True)[:300])

    threads = [threading.Thread(target=client_thread, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == [], errors[0]
    assert sum(statuses.values()) == THREADS * ROUNDS
    assert all(200 <= s < 300 for s in statuses), statuses


def test_ten_volunteers_reading_and_giving_at_once_get_no_5xx(app, session, tree, make_person, as_user):
    """A smaller form of `bench/embedded_load.py`: balances, the task hall and history beside gifts."""
    from timebank import ledger
    from timebank.accounts import access as accounts
    from timebank.people.access import load_person_actor

    admin, _ = as_user(Role.community_admin, tree.community_a)
    actor = load_person_actor(session, admin)
    vols = [make_person(name=f"志愿者{i}", home=tree.grid_a) for i in range(10)]
    for v in vols:
        accounts.adjust(session, actor, key=f"seed-{v.id}", person_id=v.id, ledger=ledger.Ledger.points, amount=50,
                        reason="初始积分")
    session.commit()
    from tests.conftest import bearer

    people = [(v.id, bearer(app, v)) for v in vols]
    session.rollback()
    statuses: Counter[int] = Counter()
    errors: list[str] = []
    start = threading.Barrier(len(people))

    def client_thread(n: int) -> None:
        client = app.test_client()
        me = people[n][1]
        start.wait()
        for i in range(12):
            if i % 3 == 2:
                resp = client.post("/api/gifts", json={"amount": 1, "to_person_id": people[(n + 1) % 10][0]},
                                   headers={**me, "Idempotency-Key": f"g-{n}-{i}"})
            else:
                resp = client.get(("/api/me/points", "/api/tasks", "/api/ledger/me/history?limit=20")[i % 3],
                                  headers=me)
            statuses[resp.status_code] += 1
            if resp.status_code >= 500:
                errors.append(resp.get_data(as_text=True)[:300])

    threads = [threading.Thread(target=client_thread, args=(n,)) for n in range(len(people))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == [], errors[0]
    assert sum(statuses.values()) == 120 and all(200 <= s < 300 for s in statuses), statuses
