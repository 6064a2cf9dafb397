"""Who is calling: a bearer token (people) or an API key (merchants, employers). Views ask `current_actor()`."""

from __future__ import annotations

import functools

import flask_smorest
from flask import current_app, g, request
from sqlalchemy import select

from timebank.errors import Unauthorized
from timebank.extensions import db
from timebank.people import security
from timebank.people.access import Actor, load_actor_for_token
from timebank.people.models import ApiKey, ApiKeyOwner

BEARER = {"BearerAuth": []}
API_KEY = {"ApiKeyAuth": []}


def auth(*schemes: dict, **doc):
    """The credentials an operation accepts, in one place: the OpenAPI document says them and the request is held
    to them — a merchant's key does not open a person's operation. The caller is resolved before the body and
    the query are read, so an anonymous call is a 401, never a 422."""
    names = frozenset(name for scheme in schemes for name in scheme)

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            g.auth_schemes = names
            current_actor()
            return view(*args, **kwargs)

        return flask_smorest.Blueprint.doc(security=list(schemes), **doc)(wrapper)

    return decorator


def _from_bearer(token: str) -> Actor:
    parsed = security.read_token(current_app.config["SECRET_KEY"], token, current_app.config["TOKEN_TTL_SECONDS"])
    if parsed is None:
        raise Unauthorized("invalid_token")
    person_id, version = parsed
    actor = load_actor_for_token(db.session, person_id, version)
    if actor is None:
        raise Unauthorized("invalid_token", variant="revoked")
    return actor


def _from_api_key(key: str) -> Actor:
    prefix = security.split_api_key(key)
    row = db.session.scalar(select(ApiKey).where(ApiKey.prefix == prefix)) if prefix else None
    if row is None or row.revoked_at is not None or not security.constant_time_equal(
        row.key_hash, security.sha256_hex(key)
    ):
        raise Unauthorized("invalid_api_key")
    if row.owner_kind == ApiKeyOwner.merchant:
        return Actor(kind="merchant", id=row.merchant_id)
    return Actor(kind="employer", id=row.employer_id)


def current_actor(optional: bool = False) -> Actor | None:
    if "actor" in g:
        return g.actor
    actor = None
    header = request.headers.get("Authorization", "")
    key = request.headers.get("X-API-Key")
    accepted = g.get("auth_schemes")
    if header.startswith("Bearer ") and (accepted is None or "BearerAuth" in accepted):
        actor = _from_bearer(header[7:].strip())
    elif key and (accepted is None or "ApiKeyAuth" in accepted):
        actor = _from_api_key(key.strip())
    elif getattr(g, "page_actor", None) is not None:  # a page session (cookie) reuses the same checks
        actor = g.page_actor
    if actor is None and not optional:
        if accepted is not None and (header.startswith("Bearer ") or key):
            if "ApiKeyAuth" not in accepted:
                raise Unauthorized("auth_required", variant="bearer")
            raise Unauthorized("auth_required", variant="api_key")
        raise Unauthorized("auth_required")
    g.actor = actor
    return actor
