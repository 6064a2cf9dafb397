"""`@write()`: a request's unit of work (`timebank.uow`) around a MethodView method.

`@write()` wraps a MethodView method outside flask-smorest's decorators, so it sees the final
Response. With `idempotent=True` the `Idempotency-Key` header is honoured: a repeat with the same
body replays the first response; the same key with another body is a 409.
"""

from __future__ import annotations

import functools
import hashlib
import json

from flask import Response, request
from sqlalchemy.exc import IntegrityError

from timebank import uow
from timebank.api.auth import current_actor
from timebank.api.base import IDEMPOTENCY_DOC
from timebank.errors import Conflict, InvalidInput
from timebank.extensions import db
from timebank.ops.models import IdempotentResponse

IDEMPOTENCY_HEADER = "Idempotency-Key"


def _request_hash() -> str:
    h = hashlib.sha256()
    h.update(request.method.encode())
    h.update(request.path.encode())
    h.update(request.get_data() or b"")
    return h.hexdigest()


def _replay(row: IdempotentResponse, request_hash: str) -> Response:
    if row.request_hash != request_hash:
        raise Conflict("idempotency_key_reused")
    resp = Response(row.body, status=row.status_code, mimetype="application/json")
    resp.headers["Idempotent-Replayed"] = "true"
    return resp


def _without(body: str, secret_fields: tuple[str, ...]) -> str:
    """The body to keep for replays: secrets shown once are not stored, in clear or otherwise."""
    if not secret_fields:
        return body
    data = json.loads(body)
    for name in secret_fields:
        data.pop(name, None)
    return json.dumps(data, ensure_ascii=False)


def write(idempotent: bool = False, require_key: bool = False, secret_fields: tuple[str, ...] = ()):
    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            key = request.headers.get(IDEMPOTENCY_HEADER) if idempotent else None
            if idempotent and require_key and not key:
                raise InvalidInput("idempotency_key_required", status=428)
            if key is not None and not (1 <= len(key) <= 100):
                raise InvalidInput("invalid_idempotency_key")
            actor_label = None
            request_hash = None
            if key:
                actor_label = current_actor().label
                request_hash = _request_hash()
                row = uow.stored_response(db.session, actor_label, key)
                if row is not None:
                    return _replay(row, request_hash)
            try:
                resp = view(*args, **kwargs)
                if key and isinstance(resp, Response) and resp.status_code < 400:
                    uow.store_response(db.session, actor_label, key, request_hash=request_hash,
                                       status_code=resp.status_code,
                                       body=_without(resp.get_data(as_text=True), secret_fields))
                uow.commit()
            except IntegrityError:
                uow.rollback()
                if key:  # a concurrent twin committed first: answer as it did
                    row = uow.stored_response(db.session, actor_label, key)
                    if row is not None:
                        return _replay(row, request_hash)
                raise
            except BaseException:
                uow.rollback()
                raise
            return resp

        wrapper.writes = True  # read by uow.view_writes: on SQLite the transaction takes the writer lock at BEGIN
        if idempotent:  # read by api.base.Blueprint to document the header
            wrapper._apidoc = {**getattr(wrapper, "_apidoc", {}), IDEMPOTENCY_DOC: {"required": require_key}}
        return wrapper

    return decorator
