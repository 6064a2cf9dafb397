"""How a page area answers a refusal or a failure: the Chinese error page, never problem+json.

Registered on each page blueprint (`pages.blueprints`), so Flask finds these before the API's app-wide
handlers for any request a page area serves; the API no longer needs to guess from the URL.
"""

from __future__ import annotations

import logging

from flask import Blueprint, render_template, request
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from timebank import uow
from timebank.errors import DomainError
from timebank.messages import HTTP_CODES, describe, render

log = logging.getLogger("timebank.pages")

HEADINGS = {400: "请求无效", 401: "请先登录", 403: "没有权限", 404: "页面不存在", 405: "不支持此操作",
            409: "操作冲突", 413: "内容过大", 422: "无法办理", 503: "暂时无法服务"}


def error_page(status: int, message: str | None):
    heading = HEADINGS.get(status, "出错了")
    text = message or render("internal_error" if status >= 500 else "http_error")
    area = request.path.split("/")[1]
    return render_template("pages/error.html", heading=heading, message=text, back=f"/{area}"), status


def _domain_error(error):
    body, status = error_page(error.status, describe(error))
    return body, status, retry_after(error)


def retry_after(error) -> dict:
    """The Retry-After header of a refusal that says when to come back (login limits, a busy service)."""
    return {"Retry-After": str(error.extra["retry_after"])} if "retry_after" in error.extra else {}


def _database_error(error: DBAPIError):
    uow.abandon()
    if uow.database_unavailable(error):
        log.warning("database unavailable", extra={"fields": {"error": str(error.orig)[:200]}})
        body, status = error_page(503, render("database_unavailable"))
        return body, status, {"Retry-After": "1"}
    log.exception("unhandled database error", exc_info=error)
    return error_page(500, None)


def _queue_error(error: RedisError):
    uow.abandon()
    log.warning("redis unavailable", extra={"fields": {"error": type(error).__name__}})
    body, status = error_page(503, render("queue_unavailable"))
    return body, status, {"Retry-After": "5"}


def _http_error(error: HTTPException):
    status = error.code or 500
    if status >= 500:
        log.exception("unhandled error", exc_info=getattr(error, "original_exception", None) or error)
    body, status = error_page(status, render(HTTP_CODES.get(status, "http_error")) if status < 500 else None)
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}  # Allow on a 405
    return body, status, headers


_registered: set[str] = set()


def register(bp: Blueprint) -> None:
    """Once per blueprint: blueprints are module-level and may be registered on several apps (tests)."""
    if bp.name in _registered:
        return
    _registered.add(bp.name)
    bp.register_error_handler(DomainError, _domain_error)
    bp.register_error_handler(DBAPIError, _database_error)
    bp.register_error_handler(HTTPException, _http_error)
    bp.register_error_handler(RedisError, _queue_error)
