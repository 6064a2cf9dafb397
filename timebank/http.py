"""HTTP helpers the two web translators (the API and the pages) share."""

from __future__ import annotations

import math
import re
from urllib.parse import quote

from flask import Response, request
from werkzeug.routing import IntegerConverter

from timebank.errors import InvalidInput


def attachment(content: bytes, mimetype: str, name: str) -> Response:
    """A download the browser saves (never caches), named as the service names it (UTF-8 file names)."""
    resp = Response(content, mimetype=mimetype)
    resp.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    resp.headers["Cache-Control"] = "no-store"
    return resp


# --- input the database cannot hold or Python cannot parse: refused at the door, once for every route ---------

INT64 = 2**63 - 1
MAX_JSON_DEPTH = 32
_INTEGER = re.compile(r"^[+-]?\d{1,400}$")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # NUL (PostgreSQL text refuses it), lone UTF-16 surrogates


class BoundedIntConverter(IntegerConverter):
    """`<int:...>` in routes: ids are 64-bit, so a bigger number names nothing (404) instead of overflowing."""

    def __init__(self, map, *args, **kwargs) -> None:  # noqa: A002 - werkzeug's parameter name
        kwargs.setdefault("max", INT64)
        super().__init__(map, *args, **kwargs)


def _check_text(value: str, where: str) -> None:
    if _UNSTORABLE.search(value):
        raise InvalidInput("unstorable_text", where=where)


def _check_json(body) -> None:
    """Walk a parsed JSON body without recursion: depth, 64-bit integers, finite numbers, storable text."""
    stack = [(body, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise InvalidInput("json_too_deep", status=400, limit=MAX_JSON_DEPTH)
        if isinstance(value, dict):
            for key, item in value.items():
                _check_text(key, "json")
                stack.append((item, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, str):
            _check_text(value, "json")
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, int):
            if abs(value) > INT64:
                raise InvalidInput("number_out_of_range")
        elif isinstance(value, float) and not math.isfinite(value):
            raise InvalidInput("number_out_of_range")


# joining: the endpoints that take a spreadsheet of people accept a body up to the import's own limit (10 MB, which
# the import refuses in Chinese past that) instead of MAX_CONTENT_LENGTH.
UPLOAD_ENDPOINTS = frozenset({"joining.ImportPreview", "joining.ImportCommit", "console_joining.imports",
                              "employer_joining.import_members"})
UPLOAD_MAX_BYTES = 10 * 1024 * 1024 + 256 * 1024


def check_request_input() -> None:
    """Before any view: text fields, query values and JSON bodies a client can send that would otherwise fail deep
    inside (an overflow in SQL, a NUL PostgreSQL refuses, a recursion limit) answer one clear 4xx here."""
    if request.endpoint in UPLOAD_ENDPOINTS:
        request.max_content_length = UPLOAD_MAX_BYTES
    _check_text(request.path, "path")
    for value in request.args.values():
        _check_text(value, "query")
        if _INTEGER.match(value) and abs(int(value)) > INT64:
            raise InvalidInput("number_out_of_range")
    if request.method in {"POST", "PUT", "PATCH", "DELETE"}:
        if request.is_json:
            try:
                body = request.get_json(silent=True)
            except RecursionError as exc:
                raise InvalidInput("json_too_deep", status=400, limit=MAX_JSON_DEPTH) from exc
            _check_json(body)
        elif request.mimetype in {"application/x-www-form-urlencoded", "multipart/form-data"}:
            for value in request.form.values():
                _check_text(value, "form")
