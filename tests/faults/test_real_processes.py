"""Faults with real processes, on a PostgreSQL cluster and a Redis server of the test's own: Redis stopped for
20 s under load, PostgreSQL restarted under load, and `kill -9` of an API worker, an RQ worker and the scheduler
in the middle of work. Afterwards every accepted piece of work is done exactly once with no further request, the
only refusals seen are 503 with Retry-After, and `timebank ledger verify` is clean."""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

import psutil
import pytest
from sqlalchemy import create_engine, func, select, text

from tests.conftest import Tree
from tests.faults.servers import OwnPostgres, OwnRedis, Stack, postgres_bindir, wait_for
from timebank import clock, create_app, ledger
from timebank.accounts import access as accounts
from timebank.config import _normalise_database_url
from timebank.demo import COLOURS
from timebank.extensions import db
from timebank.hours import claims, tasks
from timebank.hours.models import Verification
from timebank.people import persons as people
from timebank.people import security
from timebank.people.models import Role

pytestmark = [pytest.mark.pg_only, pytest.mark.skipif(postgres_bindir() is None, reason="no PostgreSQL server")]

SECRET = "fault-secret"
VOLUNTEERS = 20
TASKS = 8


@dataclass
class District:
    admin: dict
    volunteers: list[tuple[int, dict]]
    claims: list[tuple[int, str, str]] = field(default_factory=list)  # claim id, checked in, checked out


def _headers(person) -> dict:
    return {"Authorization": "Bearer " + security.issue_token(SECRET, person.id, person.token_version),
            "Content-Type": "application/json"}


def _seed(database_url: str, redis_url: str) -> District:
    """A community with an admin, 20 volunteers holding 1,000 points each and 8 past tasks all of them claimed."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": _normalise_database_url(database_url), "REDIS_URL": redis_url,
                      "SECRET_KEY": SECRET, "LOG_REQUESTS": False})
    with app.app_context():
        s = db.session
        tree = Tree(s)
        tree.district.settings = {"categories": COLOURS, "points_per_hour": 10, "daily_minutes_cap": 480}
        admin = people.register(s, None, name="管理员", phone="13800000001", password=None,
                                home_org_id=tree.community_a.id)
        people.grant(s, None, admin, Role.community_admin, org_id=tree.community_a.id)
        vols = [people.register(s, None, name=f"志愿者{i}", phone=f"139000{i:05d}", password=None,
                                home_org_id=tree.grid_a.id) for i in range(VOLUNTEERS)]
        s.commit()
        from timebank.people.access import load_person_actor

        admin_actor = load_person_actor(s, admin)
        for v in vols:
            accounts.adjust(s, admin_actor, key=f"seed:{v.id}", person_id=v.id, ledger=ledger.Ledger.points,
                            amount=1000, reason="初始积分")
        now = clock.utcnow().replace(minute=0, second=0, microsecond=0)
        district = District(_headers(admin), [(v.id, _headers(v)) for v in vols])
        for k in range(TASKS):
            starts = now - timedelta(days=3 - k // 4, hours=-(k % 4) * 2)
            with clock.frozen_at(starts - timedelta(hours=1)):
                task = tasks.publish(s, admin_actor, org_id=tree.grid_a.id, title=f"助老服务{k}", category=COLOURS[3],
                                     place="幸福小区", starts_at=starts, ends_at=starts + timedelta(hours=1),
                                     slots=VOLUNTEERS)
                for v in vols:
                    claim = claims.claim(s, load_person_actor(s, v), task.id)
                    district.claims.append((claim.id, starts.isoformat(), (starts + timedelta(minutes=50)).isoformat()))
        s.commit()
        db.engine.dispose()
    return district


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("faults")
    pg, rd = OwnPostgres(), OwnRedis(workdir)
    pg.start()
    rd.start()
    stack = Stack(pg.url, rd.url, workdir, secret=SECRET)
    stack.run("db", "upgrade", "heads")
    district = _seed(pg.url, rd.url)
    engine = create_engine(_normalise_database_url(pg.url))
    for name in ("api", "worker", "scheduler"):
        stack.start(name)
    yield pg, rd, stack, district, engine
    stack.stop()
    engine.dispose()
    rd.stop()
    pg.stop()


class Client:
    """An HTTP client that retries a write with the same Idempotency-Key on 503 (after Retry-After) and on a
    dropped connection, as the API asks clients to, and records every answer."""

    def __init__(self, base: str):
        self.base = base
        self.statuses: Counter = Counter()
        self.bad: list[str] = []
        self.lock = threading.Lock()

    def call(self, method: str, path: str, headers: dict, body: dict | None = None, key: str | None = None,
             deadline: float = 120) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        hdrs = {**headers, **({"Idempotency-Key": key} if key else {})}
        until = time.monotonic() + deadline
        while True:
            try:
                req = urllib.request.Request(self.base + path, data=data, headers=hdrs, method=method)
                with urllib.request.urlopen(req, timeout=30) as resp:
                    self._seen(resp.status)
                    return json.loads(resp.read() or b"{}")
            except urllib.error.HTTPError as err:
                self._seen(err.code)
                if err.code == 503 and err.headers.get("Retry-After"):
                    time.sleep(min(float(err.headers["Retry-After"]), 1.0))
                else:
                    with self.lock:
                        self.bad.append(f"{method} {path} -> {err.code} {err.read()[:300]!r}")
                    return {}
            except (OSError, http.client.HTTPException):  # refused, reset, or cut mid-answer by a killed worker
                self._seen("connection")
                time.sleep(0.2)
            if time.monotonic() > until or (key is None and method != "GET"):
                return {}
            if key is None:  # a read: one more go is enough
                deadline = 0

    def _seen(self, status) -> None:
        with self.lock:
            self.statuses[status] += 1


def _in_threads(work: list, fn, threads: int = 4) -> None:
    items = iter(enumerate(work))
    lock = threading.Lock()

    def run():
        while True:
            with lock:
                nxt = next(items, None)
            if nxt is None:
                return
            fn(*nxt)

    pool = [threading.Thread(target=run) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(300)


def _enter_and_verify(client: Client, district: District, claims_slice) -> None:
    def one(i, item):
        claim_id, checked_in, checked_out = item
        row = client.call("POST", "/api/attendance/late-entry", district.admin,
                          {"claim_id": claim_id, "checked_in_at": checked_in, "checked_out_at": checked_out,
                           "reason": "纸质签到表补录"}, key=f"late:{claim_id}")
        if row.get("id"):
            client.call("POST", f"/api/attendances/{row['id']}/verification", district.admin,
                        {"decision": "accepted"}, key=f"verify:{row['id']}")
        client.call("GET", "/api/me/points", district.volunteers[i % VOLUNTEERS][1])

    _in_threads(list(claims_slice), one)


def _credited(engine) -> tuple[int, int]:
    with engine.connect() as conn:
        accepted = conn.scalar(select(func.count()).select_from(Verification.__table__))
        credited = conn.scalar(select(func.count()).select_from(Verification.__table__)
                               .where(Verification.__table__.c.credited_at.is_not(None)))
    return accepted, credited


def _credit_transfers(engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(text("SELECT count(*) FROM ledger_transfer WHERE key LIKE 'credit:attendance:%'"))


def _verify_ledger(stack: Stack) -> None:
    stack.run("ledger", "verify")  # exits non-zero on any broken invariant


def _only_ok_or_503(client: Client, ok=(200, 201, 204)) -> None:
    assert client.bad == [], client.bad[:5]
    assert set(client.statuses) <= {*ok, 503, "connection"}, client.statuses


def test_redis_stopped_for_20_s_under_load_loses_no_accepted_work(servers):
    pg, rd, stack, district, engine = servers
    client = Client(stack.base)
    work = district.claims[:80]
    loader = threading.Thread(target=_enter_and_verify, args=(client, district, work))
    loader.start()
    time.sleep(2)
    rd.stop()
    time.sleep(20)
    rd.start()  # an empty Redis: nothing queued before the outage survives
    loader.join(300)
    _only_ok_or_503(client)
    accepted, _ = _credited(engine)
    assert accepted == len(work)
    # no request from here on: the scheduler's sweep hands the waiting outbox rows to the worker
    assert wait_for(lambda: _credited(engine) == (accepted, accepted), 120, 1), _credited(engine)
    assert _credit_transfers(engine) == 2 * accepted  # minutes and points, once each
    _verify_ledger(stack)


def _gifts(client: Client, district: District, tag: str, count: int) -> None:
    def one(i, _):
        giver_id, giver = district.volunteers[i % VOLUNTEERS]
        taker_id, _h = district.volunteers[(i + 1) % VOLUNTEERS]
        client.call("POST", "/api/gifts", giver, {"amount": 1, "to_person_id": taker_id, "note": "互助"},
                    key=f"{tag}:{i}")
        client.call("GET", "/api/me/points", giver)

    _in_threads(list(range(count)), one)


def _gift_count(engine, tag: str) -> int:
    with engine.connect() as conn:
        return conn.scalar(text("SELECT count(*) FROM idempotent_response WHERE key LIKE :k"), {"k": f"{tag}:%"})


def _points_total(engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(text("SELECT sum(credits_posted - debits_posted) FROM ledger_account "
                                "WHERE owner_kind = 'volunteer' AND ledger = 'points'"))


def test_postgresql_restarted_under_load_answers_only_503_with_retry_after(servers):
    pg, rd, stack, district, engine = servers
    before = _points_total(engine)
    client = Client(stack.base)
    loader = threading.Thread(target=_gifts, args=(client, district, "pg-restart", 300))
    loader.start()
    time.sleep(1.5)
    pg.restart()
    loader.join(300)
    engine.dispose()
    _only_ok_or_503(client)
    assert client.statuses[201] >= 300
    assert _gift_count(engine, "pg-restart") == 300  # every gift once: no loss, no double
    with engine.connect() as conn:
        gifts = conn.scalar(text("SELECT count(*) FROM ledger_transfer WHERE code = 6 AND key LIKE 'gift:%'"))
    assert gifts >= 300
    assert _points_total(engine) == before  # gifts move points between volunteers only
    _verify_ledger(stack)


def test_kill_9_of_an_api_worker_mid_request_loses_and_doubles_nothing(servers):
    pg, rd, stack, district, engine = servers
    before = _points_total(engine)
    client = Client(stack.base)
    master = psutil.Process(stack.procs["api"].pid)
    loader = threading.Thread(target=_gifts, args=(client, district, "api-kill", 200))
    loader.start()
    time.sleep(1.0)
    for worker in master.children():  # both of gunicorn's workers, mid-request; the master starts new ones
        worker.kill()
        time.sleep(0.5)
    loader.join(300)
    _only_ok_or_503(client)
    assert _gift_count(engine, "api-kill") == 200
    assert _points_total(engine) == before
    _verify_ledger(stack)


def test_kill_9_of_the_rq_worker_mid_drain_credits_everything_once(servers):
    pg, rd, stack, district, engine = servers
    stack.kill("worker")
    client = Client(stack.base)
    _enter_and_verify(client, district, district.claims[80:140])
    _only_ok_or_503(client)
    accepted, credited = _credited(engine)
    assert credited < accepted  # the work waits for a worker
    stack.start("worker")
    time.sleep(0.8)  # the drain has begun
    stack.kill("worker")
    stack.start("worker")
    assert wait_for(lambda: _credited(engine) == (accepted, accepted), 120, 1), _credited(engine)
    assert _credit_transfers(engine) == 2 * accepted
    _verify_ledger(stack)


def test_kill_9_of_the_scheduler_and_a_new_one_takes_over(servers):
    pg, rd, stack, district, engine = servers
    stack.kill("scheduler")
    rd.stop()  # the relay's kick fails: only a scheduler's sweep can hand this work over
    client = Client(stack.base)
    _enter_and_verify(client, district, district.claims[140:])
    rd.start()
    _only_ok_or_503(client)
    accepted, credited = _credited(engine)
    assert credited < accepted
    time.sleep(5)
    assert _credited(engine)[1] == credited  # nobody sweeps while no scheduler runs
    stack.start("scheduler")
    assert wait_for(lambda: _credited(engine) == (accepted, accepted), 120, 1), _credited(engine)
    assert _credit_transfers(engine) == 2 * accepted
    _verify_ledger(stack)
