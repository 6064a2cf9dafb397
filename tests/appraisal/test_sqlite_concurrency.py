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
