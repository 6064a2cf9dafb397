"""The app factory, probes, request ids, OpenAPI and migrations."""

from __future__ import annotations

import pytest
import redis
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import Migrate
from openapi_spec_validator import validate
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from timebank import create_app
from timebank.db_base import include_object
from timebank.extensions import db


def test_config_comes_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("TIMEBANK_DATABASE_URL", "postgresql://u@h/db")
    monkeypatch.setenv("TIMEBANK_SECRET_KEY", "s3cret")
    monkeypatch.setenv("TIMEBANK_INSTANCE_PATH", str(tmp_path))
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"
    assert app.config["SECRET_KEY"] == "s3cret"


def test_embedded_default_is_sqlite_in_instance_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("TIMEBANK_DATABASE_URL", raising=False)
    monkeypatch.delenv("TIMEBANK_REDIS_URL", raising=False)
    monkeypatch.setenv("TIMEBANK_INSTANCE_PATH", str(tmp_path))
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'timebank.sqlite3'}"
    assert app.config["REDIS_URL"] == "embedded"


def test_healthz_and_readyz(client):
    assert client.get("/healthz").json == {"status": "ok"}
    resp = client.get("/readyz")
    assert resp.status_code == 200
    assert resp.json["checks"] == {"database": "ok", "redis": "ok"}


def test_readyz_reports_redis_down(app, client):
    app.extensions["redis"] = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    resp = client.get("/readyz")
    assert resp.status_code == 503
    assert resp.json["checks"]["redis"].startswith("error")


def test_request_id_is_echoed_or_made(client):
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    assert len(client.get("/healthz").headers["X-Request-ID"]) == 32


def test_openapi_document_validates_and_lists_every_endpoint(app, client):
    spec = client.get("/api/openapi.json").json
    validate(spec)
    documented = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops
                  if method in {"get", "post", "put", "patch", "delete"}}
    for rule in app.url_map.iter_rules():
        if rule.endpoint in {"static", "swagger_ui_asset"} or rule.rule.startswith("/api/swagger-ui"):
            continue
        if rule.rule in {"/api/openapi.json", "/api/docs"} or rule.rule.startswith(("/app", "/console",
                                                                                     "/merchant", "/employer",
                                                                                     "/grid")):
            continue
        if rule.endpoint.split(".")[0] in app.extensions["timebank_page_blueprints"]:
            continue  # pages (the front door, the verification page) are not API endpoints
        path = rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method) in documented, f"{method} {path} is not in the OpenAPI document"


def test_openapi_documents_the_idempotency_key_header_where_it_is_honoured(client):
    paths = client.get("/api/openapi.json").json["paths"]

    def header(path, method):
        return next((p for p in paths[path][method].get("parameters", []) if p["name"] == "Idempotency-Key"), None)

    assert header("/api/gifts", "post")["required"] is True  # moves value: the key is mandatory
    assert header("/api/gifts", "post")["in"] == "header"
    optional = [(path, m) for path, ops in paths.items() for m, op in ops.items() if m == "post"
                and (h := header(path, m)) is not None and not h["required"]]
    assert optional, "writes that accept but do not require a key document it as optional"
    assert header("/api/attendances/{attendance_id}/verification", "get") is None  # reads carry none


def test_docs_page_is_served_without_third_party_hosts(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    assert b"/api/swagger-ui/swagger-ui-bundle.js" in page.data
    assert client.get("/api/swagger-ui/swagger-ui-bundle.js").status_code == 200


def test_migrations_have_one_head_and_match_the_models(app):
    script = ScriptDirectory.from_config(Migrate().get_config(app.extensions["migrate"].directory))
    assert len(script.get_heads()) == 1
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True,
                                                                       "include_object": include_object}), db.metadata)
    assert diff == []


@pytest.mark.pg_only
def test_a_lost_database_connection_is_one_retryable_503_then_the_pool_reconnects(app, client, session, tree,
                                                                                 as_user):
    _, headers = as_user(home=tree.community_a)
    assert client.get("/api/me", headers=headers).status_code == 200
    pids = {session.execute(text("SELECT pg_backend_pid()")).scalar()}
    session.commit()
    with db.engine.connect() as other:  # a second pooled connection, so both are known and both are cut
        pids.add(other.execute(text("SELECT pg_backend_pid()")).scalar())
    admin = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], poolclass=NullPool)
    with admin.connect() as conn:
        for pid in pids:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()

    lost = client.get("/api/me", headers=headers)
    assert lost.status_code == 503 and lost.mimetype == "application/problem+json"
    assert lost.json["code"] == "database_unavailable" and lost.headers["Retry-After"] == "1"
    assert client.get("/api/me", headers=headers).status_code == 200  # the pool threw the dead ones away
