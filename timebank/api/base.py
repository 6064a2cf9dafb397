"""The Api subclass: every error leaves as application/problem+json with a stable `code`."""

from __future__ import annotations

import json
import logging

import flask_smorest
from flask import Response, g, request
from flask_smorest import Api
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from timebank.errors import DomainError, TimebankError
from timebank.extensions import db
from timebank.messages import describe, render

log = logging.getLogger("timebank.api")

PROBLEM_JSON = "application/problem+json"

# Stable codes for the HTTP errors that Flask / webargs raise before our code runs.
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    428: "precondition_required",
    429: "too_many_requests",
    500: "internal_error",
}


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


class TimebankApi(Api):
    def _register_error_handlers(self):
        super()._register_error_handlers()
        for base in DomainError:
            self._app.register_error_handler(base, self.handle_domain_error)
        self._app.register_error_handler(DBAPIError, self.handle_database_error)

    def handle_database_error(self, error: DBAPIError):
        """A lost database connection is a 503 the client may retry at once: SQLAlchemy has already thrown away
        the pool's connections older than the failure, so the next request reconnects. (The pool does not
        ping every connection before use: that would cost every request one more round trip.) Any other
        database error that reaches here is a bug: 500, logged."""

        db.session.rollback()  # the request's transaction is gone either way; leave the session usable
        if error.connection_invalidated:
            log.warning("database connection lost", extra={"fields": {"error": str(error.orig)[:200]}})
            if _is_page_request():
                return _page_error(503, render("database_unavailable"))
            resp = problem(503, "database_unavailable", "Service Unavailable", render("database_unavailable"))
            resp.headers["Retry-After"] = "1"
            return resp
        log.exception("unhandled database error", exc_info=error)
        if _is_page_request():
            return _page_error(500, None)
        return problem(500, "internal_error", "Internal Server Error", render("internal_error"))

    def handle_domain_error(self, error: TimebankError):
        """The app's errors and the ledger's: `detail` is the message table's Chinese text for the code."""
        if _is_page_request():
            return _page_error(error.status, describe(error))
        return problem(error.status, error.code, error.title, describe(error), **error.extra)

    def handle_http_exception(self, error: HTTPException):
        status = error.code or 500
        if _is_page_request():
            if status >= 500:
                log.exception("unhandled error", exc_info=getattr(error, "original_exception", None) or error)
            return _page_error(status, render(_HTTP_CODES.get(status, "http_error")) if status < 500 else None)
        data = getattr(error, "data", None) or {}
        errors = data.get("errors") or data.get("messages")
        code = _HTTP_CODES.get(status, "http_error")
        if status == 400 and errors and _is_json_decode_error(errors):
            code = "malformed_json"
            errors = None
        if status >= 500:
            log.exception("unhandled error", exc_info=getattr(error, "original_exception", None) or error)
        resp = problem(status, code, error.name, render(code), errors=_flatten_locations(errors))
        for key, value in (data.get("headers") or {}).items():
            resp.headers[key] = value
        return resp


_PAGE_PREFIXES = ("/app", "/merchant", "/console", "/employer")
_PAGE_HEADINGS = {400: "请求无效", 401: "请先登录", 403: "没有权限", 404: "页面不存在", 405: "不支持此操作",
                  409: "操作冲突", 413: "内容过大", 422: "无法办理", 503: "暂时无法服务"}


def _is_page_request() -> bool:
    return request.path.startswith(_PAGE_PREFIXES) and request.blueprint is not None


def _page_error(status: int, message: str | None):
    from flask import render_template

    heading = _PAGE_HEADINGS.get(status, "出错了")
    text = message or render("internal_error" if status >= 500 else "http_error")
    area = request.path.split("/")[1]
    return render_template("pages/error.html", heading=heading, message=text, back=f"/{area}"), status


def _is_json_decode_error(errors) -> bool:
    text = json.dumps(errors, default=str)
    return "Invalid JSON body" in text


def _flatten_locations(errors):
    """webargs nests errors under the location ("json", "query"); keep that, it tells the client where."""
    return errors or None


api = TimebankApi()
