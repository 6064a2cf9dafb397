"""With the database refusing connections, every request a client can send answers 503 with Retry-After (the
API as problem+json, the pages as the Chinese error page) — never a 500 with a traceback."""

from __future__ import annotations

import re
import socket

import pytest

from timebank import create_app
from timebank.extensions import db

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again: nothing listens there


@pytest.fixture
def app_without_database(app, person_token):
    dead = create_app({**app.config, "SQLALCHEMY_DATABASE_URI":
                       f"postgresql+psycopg://postgres@127.0.0.1:{_dead_port()}/gone",
                       "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 2}}})
    with dead.app_context():
        yield dead
        db.session.remove()


@pytest.fixture
def person_token(app, make_person):
    from tests.conftest import bearer

    return bearer(app, make_person(password="secret-pass-1"))


@pytest.mark.parametrize("method,path,body", [
    ("GET", "/api/ledger/me", None),
    ("GET", "/api/me", None),
    ("POST", "/api/auth/token", {"phone": "13900000000", "password": "whatever-pass"}),
    ("POST", "/api/gifts", {"amount": 1, "to_person_id": 1}),
    ("GET", "/api/tasks", None),
])
def test_the_api_answers_503_with_retry_after(app_without_database, person_token, method, path, body):
    resp = app_without_database.test_client().open(
        path, method=method, json=body, headers={**person_token, "Idempotency-Key": "k-1"})
    assert resp.status_code == 503, resp.get_data(as_text=True)[:500]
    assert resp.headers["Retry-After"] == "1"
    assert resp.mimetype == "application/problem+json"
    assert resp.json["code"] == "database_unavailable"
    assert "数据库" in resp.json["detail"]


def test_a_page_answers_the_chinese_503_page(app_without_database):
    client = app_without_database.test_client()
    token = CSRF.search(client.get("/app/login").get_data(as_text=True)).group(1)
    resp = client.post("/app/login", data={"csrf_token": token, "phone": "13900000000",
                                           "password": "whatever-pass"})
    assert resp.status_code == 503
    assert resp.headers["Retry-After"] == "1"
    assert "暂时无法服务" in resp.get_data(as_text=True)


def test_readyz_says_not_ready(app_without_database):
    resp = app_without_database.test_client().get("/readyz")
    assert resp.status_code == 503
    assert resp.json["checks"]["database"] != "ok"


def test_redis_down_for_work_queued_directly_is_a_503_not_a_500(app, as_user, tree):
    """A reconciliation goes straight to a queue: with Redis unreachable it is refused with Retry-After."""
    from timebank.extensions import redis_ext
    from timebank.people.models import Role

    _, auditor = as_user(Role.district_admin, tree.district)
    db.session.commit()  # the outer app's writes are done: the file is free for the second app
    dead = create_app({**app.config, "REDIS_URL": f"redis://127.0.0.1:{_dead_port()}/0"})
    with dead.app_context():
        resp = dead.test_client().post("/api/ledger/reconciliations", headers=auditor)
        assert resp.status_code == 503 and resp.headers["Retry-After"] == "5", resp.json
        assert resp.json["code"] == "queue_unavailable" and "稍后重试" in resp.json["detail"]
        redis_ext.connection.connection_pool.disconnect()
        db.session.remove()


def test_an_error_escaping_flask_itself_is_still_a_problem_not_the_servers_html(app):
    """A teardown that meets a connection the database just dropped raises after Flask handed over its headers:
    the server (as PEP 3333 servers do, given exc_info before anything was sent) answers 503 + Retry-After as
    problem+json instead of its bare HTML 500."""
    from sqlalchemy.exc import OperationalError
    from werkzeug.test import EnvironBuilder

    @app.teardown_request
    def _drop(_exc):
        raise OperationalError("ROLLBACK", {}, Exception("server closed the connection unexpectedly"))

    answered = []

    def start_response(status, headers, exc_info=None):
        if answered and not exc_info:
            raise AssertionError("headers set twice without exc_info")
        answered[:] = [(status, dict(headers))]

    from timebank.logs import request_id_var

    token = request_id_var.set(None)
    try:
        body = b"".join(app.wsgi_app(EnvironBuilder(path="/healthz").get_environ(), start_response))
    finally:
        app.teardown_request_funcs[None].remove(_drop)
        request_id_var.reset(token)  # the teardown that resets it did not run: leave this thread as it was
    status, headers = answered[0]
    assert status.startswith("503") and headers["Content-Type"] == "application/problem+json"
    assert headers["Retry-After"] == "1" and b"database_unavailable" in body
