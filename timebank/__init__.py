"""timebank: a volunteer time bank (爱心银行). `create_app` wires config, extensions and blueprints."""

from __future__ import annotations

import logging
import os
import time
import uuid

from flask import Flask, g, request

log = logging.getLogger("timebank.request")



def create_app(test_config: dict | None = None) -> Flask:
    from timebank import config
    from timebank import logs as tb_log
    from timebank.api.base import api
    from timebank.db_base import configure_data_key
    from timebank.extensions import db, migrate, redis_ext

    app = Flask(__name__, instance_path=config.instance_path(),
                instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_mapping(config.from_environment(app.instance_path))
    if test_config:
        app.config.from_mapping(test_config)
    app.json.ensure_ascii = False
    tb_log.configure(app.config["LOG_LEVEL"])
    configure_data_key(app.config.get("DATA_KEY") or app.config["SECRET_KEY"])
    from timebank.appraisal.render import configure_font

    configure_font(app.config.get("CJK_FONT"))

    import timebank.models  # noqa: F401 - complete the metadata before anything reflects on it

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations"))
    redis_ext.init_app(app)
    from timebank.http import BoundedIntConverter

    app.url_map.converters["int"] = BoundedIntConverter  # before any route is added
    api.init_app(app, spec_kwargs={"info": {"description": "爱心银行 timebank API"}})
    _security_schemes(api)

    from timebank.api import register_blueprints
    from timebank.api.docs import register_docs_assets

    register_blueprints(api)
    register_docs_assets(app)

    from timebank.pages.blueprints import register_pages

    register_pages(app, api_http_errors=api.handle_http_exception)
    _request_ids(app)

    from timebank.ops import outbox
    from timebank.workers import topics

    outbox.install_queues(app, topics.queues())

    from timebank import cli

    cli.init_app(app)
    _sqlite_pragmas(app)
    app.wsgi_app = _LastResort(_LoginBrake(app, app.wsgi_app))
    return app


class _LoginBrake:
    """An address that has used up its failed logins for the minute is answered before Flask does any work (no
    body read, no routing, no schema): a flood of guesses then costs the service one counter read each, and the
    people using it do not feel it. The same 429 `too_many_logins` with `Retry-After` as inside. Only the API's
    login: the pages' logins answer with their Chinese page, from inside Flask."""

    PATH = "/api/auth/token"

    def __init__(self, app: Flask, wsgi_app) -> None:
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == self.PATH and environ.get("REQUEST_METHOD") == "POST":
            wait = self._blocked(environ.get("REMOTE_ADDR"))
            if wait is not None:
                from timebank.messages import problem_body

                body = problem_body(429, "too_many_logins", "Too many login attempts", retry_after=wait)
                start_response("429 TOO MANY REQUESTS", [
                    ("Content-Type", "application/problem+json"), ("Content-Length", str(len(body))),
                    ("Retry-After", str(wait))])
                return [body]
        return self.wsgi_app(environ, start_response)

    _connection = None

    def _blocked(self, address: str | None) -> int | None:
        from timebank.clock import utcnow
        from timebank.people import login_limits

        if self._connection is None:  # the process's Redis client, looked up once (it reconnects on its own)
            from timebank.extensions import redis_ext

            with self.app.app_context():
                self._connection = redis_ext.connection
        return login_limits.for_address(self._connection, utcnow(), address).address_blocked()


class _LastResort:
    """What answers when an exception escapes Flask itself (a teardown closing a connection the database has just
    dropped, say): never the server's bare HTML 500. A database or Redis outage is a 503 with Retry-After, as
    inside Flask; anything else a logged 500, both as problem+json."""

    def __init__(self, wsgi_app) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        try:
            return self.wsgi_app(environ, start_response)
        except Exception as exc:  # noqa: BLE001 - the last line: the client still gets a problem
            import sys

            from redis.exceptions import RedisError
            from sqlalchemy.exc import DBAPIError

            from timebank import uow
            from timebank.messages import problem_body

            unavailable = isinstance(exc, RedisError) or (isinstance(exc, DBAPIError) and uow.database_unavailable(exc))
            log.log(logging.WARNING if unavailable else logging.ERROR, "error outside the request handlers",
                    exc_info=not unavailable, extra={"fields": {"error": type(exc).__name__}})
            code, status = ("database_unavailable", 503) if unavailable else ("internal_error", 500)
            body = problem_body(status, code, "Service Unavailable" if unavailable else "Internal Server Error")
            headers = [("Content-Type", "application/problem+json"), ("Content-Length", str(len(body)))]
            if unavailable:
                headers.append(("Retry-After", "1"))
            # With exc_info the server replaces headers Flask had already given it, as long as none were sent.
            start_response(f"{status} {'SERVICE UNAVAILABLE' if unavailable else 'INTERNAL SERVER ERROR'}",
                           headers, sys.exc_info())
            return [body]


def _security_schemes(api) -> None:
    api.spec.components.security_scheme("BearerAuth", {"type": "http", "scheme": "bearer"})
    api.spec.components.security_scheme("ApiKeyAuth", {"type": "apiKey", "in": "header", "name": "X-API-Key"})


def _request_ids(app: Flask) -> None:
    from timebank.http import check_request_input
    from timebank.logs import redact, request_id_var

    @app.before_request
    def _start():
        g.pop("actor", None)  # `g` outlives a request when an app context is already pushed (tests, CLI)
        g.pop("auth_schemes", None)
        rid = request.headers.get("X-Request-ID", "")
        if not rid or len(rid) > 64 or not rid.isprintable():
            rid = uuid.uuid4().hex
        g.request_id = rid
        g.started = time.perf_counter()
        g.rid_token = request_id_var.set(rid)

    app.before_request(check_request_input)  # after the request id, before any area's own checks

    @app.after_request
    def _finish(response):
        rid = g.get("request_id")
        if rid:
            response.headers["X-Request-ID"] = rid
        if app.config.get("LOG_REQUESTS", True):
            log.info("request", extra={"fields": {
                "method": request.method, "path": redact(request.path), "status": response.status_code,
                "ms": round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 2)}})
        return response

    @app.teardown_request
    def _reset(exc):
        token = g.pop("rid_token", None)
        if token is not None:
            request_id_var.reset(token)


def _sqlite_pragmas(app: Flask) -> None:
    """SQLite: foreign keys on, WAL, and BEGIN IMMEDIATE so a transaction takes the writer lock up front.

    Taking the lock at BEGIN is SQLite's stand-in for PostgreSQL's row locks: two writers queue instead of
    failing on a lock upgrade, and SAVEPOINTs work (pysqlite's own transaction handling is switched off).
    """
    from sqlalchemy import event

    from timebank import uow
    from timebank.extensions import db

    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    with app.app_context():
        engine = db.engine

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()
            dbapi_conn.isolation_level = None

        @event.listens_for(engine, "begin")
        def _on_begin(conn):
            conn.exec_driver_sql(f"BEGIN {uow.sqlite_begin_mode.get()}")

    @app.before_request
    def _read_only_requests_begin_deferred():
        # A read needs no writer lock under WAL, so it never queues behind (or blocks) a writer; a request that
        # writes takes the lock at BEGIN (see uow.writes).
        writing = uow.view_writes(app.view_functions.get(request.endpoint), request.method)
        uow.sqlite_begin_mode.set("IMMEDIATE" if writing else "DEFERRED")
