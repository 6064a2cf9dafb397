"""Pages for people: volunteer app (/app), merchant till (/merchant), community console (/console), employer
portal (/employer). Server-rendered, Chinese, mobile-first; a thin layer over the same service functions and
access checks as the API.

Sessions are Flask's signed cookie (HttpOnly, SameSite=Lax, Secure over TLS); every unsafe request carries a
per-session CSRF token. The signed-in person becomes `g.page_actor`, which `api.auth.current_actor()` returns,
so pages reuse the API's role-and-scope checks instead of copying them.
"""

from __future__ import annotations

import functools
import hmac
import secrets
from collections.abc import Iterable
from datetime import datetime
from urllib.parse import urlsplit

from flask import Flask, flash, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface

from timebank import uow
from timebank.clock import DISPLAY_TZ
from timebank.errors import DomainError, Forbidden, TimebankError
from timebank.extensions import db
from timebank.messages import describe
from timebank.people.access import Actor, load_person_actor
from timebank.people.models import Person, Role

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


class TlsAwareSessionInterface(SecureCookieSessionInterface):
    """Mark the cookie Secure whenever the request came over TLS (or config forces it)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure


def shanghai(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Times are stored in UTC and shown in Asia/Shanghai."""
    if value is None:
        return ""
    return value.astimezone(DISPLAY_TZ).strftime(fmt)


def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf():
    if request.method not in UNSAFE:
        return None
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    expected = session.get("csrf") or ""
    if not expected or not hmac.compare_digest(sent, expected):
        raise TimebankError("csrf_failed")
    return None


def load_page_actor():
    g.page_actor = None
    person_id, version = session.get("person_id"), session.get("token_version")
    if person_id is None:
        return None
    person = db.session.get(Person, person_id)
    if person is None or not person.is_active or person.token_version != version:
        session.clear()
        return None
    g.page_person = person
    g.page_actor = load_person_actor(db.session, person)
    return None


def sign_in(person: Person) -> None:
    session.clear()
    session["person_id"] = person.id
    session["token_version"] = person.token_version
    session["csrf"] = secrets.token_urlsafe(32)


def sign_out() -> None:
    session.clear()


def page_actor() -> Actor | None:
    return g.get("page_actor")


def login_required(login_endpoint: str, roles: Iterable[Role] | None = None, check=None):
    """Send anonymous visitors to the area's login page; refuse signed-in people without the area's role."""
    wanted = set(roles or ())

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            actor = page_actor()
            if actor is None:
                return redirect(url_for(login_endpoint, next=request.full_path.rstrip("?")))
            if wanted and not any(gr.role in wanted for gr in actor.grants):
                raise Forbidden("page_forbidden", variant="switch")
            if check is not None and not check(actor):
                raise Forbidden("page_forbidden", variant="switch")
            return view(*args, **kwargs)

        return wrapper

    return decorator


def run_action(action, success: str | None = None):
    """Run a service call for a form post: commit on success, roll back and flash the reason on refusal."""
    try:
        result = action()
        uow.commit()
    except DomainError as exc:
        uow.rollback()
        flash(describe(exc), "error")
        return None
    if success:
        flash(success, "ok")
    return result


def safe_next(target: str | None, default: str) -> str:
    r"""Where to go after a login: a path on this site only. Browsers drop tabs and newlines and read a
    backslash as a slash, so `/<TAB>/evil.example` or `/\evil.example` would leave the site: with any control
    character or backslash, a scheme or a host, the default is used instead."""
    if not target or not target.startswith("/") or len(target) > 2000:
        return default
    if any(ch < " " or ch == "\x7f" or ch == "\\" for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//"):
        return default
    return target
