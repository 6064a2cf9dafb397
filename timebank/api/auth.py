"""Who is calling: a bearer token (people) or an API key (merchants, employers). Views ask `current_actor()`."""

from __future__ import annotations

from flask import current_app, g, request
from sqlalchemy import select

from timebank.errors import Unauthorized
from timebank.extensions import db
from timebank.people import security
from timebank.people.access import Actor, load_actor_for_token
from timebank.people.models import ApiKey, ApiKeyOwner

BEARER = {"BearerAuth": []}
API_KEY = {"ApiKeyAuth": []}


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
    if header.startswith("Bearer "):
        actor = _from_bearer(header[7:].strip())
    elif key:
        actor = _from_api_key(key.strip())
    elif getattr(g, "page_actor", None) is not None:  # a page session (cookie) reuses the same checks
        actor = g.page_actor
    if actor is None and not optional:
        raise Unauthorized("auth_required")
    g.actor = actor
    return actor
