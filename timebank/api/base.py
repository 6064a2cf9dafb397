"""The Api subclass: every error leaves as application/problem+json with a stable `code`."""

from __future__ import annotations

import http
import json
import logging
import threading

import flask_smorest
import marshmallow as ma
from flask import Response, g, request
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from timebank import uow
from timebank.errors import DomainError, TimebankError
from timebank.messages import HTTP_CODES, describe, field_message, render

log = logging.getLogger("timebank.api")

PROBLEM_JSON = "application/problem+json"

def problem(status: int, code: str, title: str, detail: str | None = None, **extra) -> Response:
    body = {"type": f"about:blank#{code}", "status": status, "code": code, "title": title}
    if detail:
        body["detail"] = detail
    body["instance"] = request.path
    rid = g.get("request_id")
    if rid:
        body["request_id"] = rid
    body.update({k: v for k, v in extra.items() if v is not None})
    return Response(json.dumps(body, ensure_ascii=False, default=str), status=status, mimetype=PROBLEM_JSON)


IDEMPOTENCY_DOC = "idempotency_key"


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint, plus the `Idempotency-Key` header in the OpenAPI document of every write that
    honours it (`transaction.write(idempotent=True)` marks the view)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._prepare_doc_cbks.append(self._prepare_idempotency_doc)

    @staticmethod
    def _prepare_idempotency_doc(doc: dict, doc_info: dict, **_kwargs) -> dict:
        marker = doc_info.get(IDEMPOTENCY_DOC)
        if marker is not None:
            doc.setdefault("parameters", []).append({
                "in": "header", "name": "Idempotency-Key", "required": marker["required"],
                "schema": {"type": "string", "minLength": 1, "maxLength": 100},
                "description": "A client-chosen key: a repeat of the same request replays the first response "
                               "(header `Idempotent-Replayed: true`); the same key with another body is a 409 "
                               "`idempotency_key_reused`." + (" Required: without it the answer is 428 "
                                                              "`idempotency_key_required`." if marker["required"]
                                                              else ""),
            })
        return doc


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details, as every error leaves (`problem`). Refusals may add fields of their own."""

    class Meta:
        unknown = ma.INCLUDE

    type = ma.fields.String(metadata={"description": "about:blank#<code>"})
    status = ma.fields.Integer()
    code = ma.fields.String(metadata={"description": "Stable, English: what a client branches on"})
    title = ma.fields.String()
    detail = ma.fields.String(metadata={"description": "For a person to read, in Chinese"})
    instance = ma.fields.String()
    request_id = ma.fields.String()
    errors = ma.fields.Dict(metadata={"description": "Input errors by location and field"})


class TimebankApi(Api):
    """flask-smorest's Api with problem+json errors and an OpenAPI document written when first read.

    flask-smorest documents each blueprint as it is registered, which is most of the cost of building the app
    (about 140 operations); the document is read only by `/api/openapi.json`, the docs page and the CLI, so the
    blueprints' documentation waits until then (every test builds an app; few read the document)."""

    ERROR_SCHEMA = ProblemSchema

    @property
    def spec(self):
        spec = self.__dict__["_spec"]
        if self.__dict__.get("_undocumented"):
            with self.__dict__["_documenting"]:
                while self._undocumented:
                    blp, name, parameters = self._undocumented.pop(0)
                    blp.register_views_in_doc(self, self._app, spec, name=name, parameters=parameters)
                    spec.tag({"name": name, "description": blp.description})
        return spec

    @spec.setter
    def spec(self, value) -> None:  # a new app: a new document, nothing pending
        self.__dict__.update(_spec=value, _undocumented=[], _documenting=threading.Lock())

    def register_blueprint(self, blp, *, parameters=None, **options) -> None:
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)
        self._undocumented.append((blp, name, parameters))

    def _register_responses(self):
        """flask-smorest's shared responses, documented as what they are: errors are application/problem+json."""
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            content_type = PROBLEM_JSON if status >= 400 else self.DEFAULT_RESPONSE_CONTENT_TYPE
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, content_type)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)

    def _register_error_handlers(self):
        super()._register_error_handlers()
        self._app.register_error_handler(DomainError, self.handle_domain_error)
        self._app.register_error_handler(DBAPIError, self.handle_database_error)
        self._app.register_error_handler(RedisError, self.handle_queue_error)

    def handle_queue_error(self, error: RedisError):
        """Redis away (work that goes straight to a queue, not through the outbox): retry later, nothing began."""
        uow.abandon()
        log.warning("redis unavailable", extra={"fields": {"error": type(error).__name__}})
        resp = problem(503, "queue_unavailable", "Service Unavailable", render("queue_unavailable"))
        resp.headers["Retry-After"] = "5"
        return resp

    def handle_database_error(self, error: DBAPIError):
        """A lost database connection is a 503 the client may retry at once: SQLAlchemy has already thrown away
        the pool's connections older than the failure, so the next request reconnects. (The pool does not
        ping every connection before use: that would cost every request one more round trip.) Any other
        database error that reaches here is a bug: 500, logged."""

        uow.abandon()
        if uow.database_unavailable(error):
            log.warning("database connection lost", extra={"fields": {"error": str(error.orig)[:200]}})
            resp = problem(503, "database_unavailable", "Service Unavailable", render("database_unavailable"))
            resp.headers["Retry-After"] = "1"
            return resp
        log.exception("unhandled database error", exc_info=error)
        return problem(500, "internal_error", "Internal Server Error", render("internal_error"))

    def handle_domain_error(self, error: TimebankError):
        """The app's errors and the ledger's: `detail` is the message table's Chinese text for the code."""
        resp = problem(error.status, error.code, error.title, describe(error), **error.extra)
        if "retry_after" in error.extra:  # a refusal that says when to come back (login limits, busy)
            resp.headers["Retry-After"] = str(error.extra["retry_after"])
        return resp

    def handle_http_exception(self, error: HTTPException):
        status = error.code or 500
        data = getattr(error, "data", None) or {}
        errors = data.get("errors") or data.get("messages")
        code = HTTP_CODES.get(status, "http_error")
        if status == 400 and errors and _is_json_decode_error(errors):
            code = "malformed_json"
            errors = None
        if status >= 500:
            log.exception("unhandled error", exc_info=getattr(error, "original_exception", None) or error)
        resp = problem(status, code, error.name, render(code), errors=_flatten_locations(errors))
        for key, value in error.get_headers():  # Allow on a 405, WWW-Authenticate, Retry-After
            if key.lower() != "content-type":
                resp.headers[key] = value
        for key, value in (data.get("headers") or {}).items():
            resp.headers[key] = value
        return resp


def _is_json_decode_error(errors) -> bool:
    text = json.dumps(errors, default=str)
    return "Invalid JSON body" in text


def _flatten_locations(errors):
    """webargs nests errors under the location ("json", "query"); keep that, it tells the client where. Each
    message is the vocabulary's Chinese (`messages.field_message`), never marshmallow's English."""
    return _chinese(errors) or None


def _chinese(errors):
    if isinstance(errors, dict):
        return {key: _chinese(value) for key, value in errors.items()}
    if isinstance(errors, list | tuple):
        return [_chinese(value) for value in errors]
    return field_message(errors) if isinstance(errors, str) else errors


api = TimebankApi()
