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
import importlib
import pkgutil
import secrets
from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask, flash, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface

from timebank.errors import DomainError, Forbidden, TimebankError
from timebank.extensions import db
from timebank.messages import describe
from timebank.people.access import Actor, load_person_actor
from timebank.people.models import Person, Role

SHANGHAI = ZoneInfo("Asia/Shanghai")
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


class TlsAwareSessionInterface(SecureCookieSessionInterface):
    """Mark the cookie Secure whenever the request came over TLS (or config forces it)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure


def register_pages(app: Flask) -> None:
    app.session_interface = TlsAwareSessionInterface()
    # Flask's default config already holds these keys (True / None / "session"): replace its defaults only.
    if app.config.get("SESSION_COOKIE_HTTPONLY") is None:
        app.config["SESSION_COOKIE_HTTPONLY"] = True
    if app.config.get("SESSION_COOKIE_SAMESITE") is None:
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    if app.config.get("SESSION_COOKIE_NAME") in (None, "session"):
        app.config["SESSION_COOKIE_NAME"] = "timebank_session"
    app.jinja_env.filters["shanghai"] = shanghai
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.globals["Role"] = Role
    package = importlib.import_module(__name__)
    names = set()
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        bp = getattr(module, "bp", None)
        if bp is not None:
            app.register_blueprint(bp)
            names.add(bp.name)
    app.extensions["timebank_page_blueprints"] = names

    @app.before_request
    def _page_session():
        if request.blueprint in names:
            _load_page_actor()
            return _check_csrf()
        return None

    @app.after_request
    def _page_headers(response):
        if request.blueprint in names:
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
            response.headers.setdefault("X-Frame-Options", "DENY")
            response.headers.setdefault("Referrer-Policy", "same-origin")
            response.headers.setdefault(
                "Content-Security-Policy",
                "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
        return response


def shanghai(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Times are stored in UTC and shown in Asia/Shanghai."""
    if value is None:
        return ""
    return value.astimezone(SHANGHAI).strftime(fmt)


def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def _check_csrf():
    if request.method not in UNSAFE:
        return None
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    expected = session.get("csrf") or ""
    if not expected or not hmac.compare_digest(sent, expected):
        raise TimebankError("csrf_failed")
    return None


def _load_page_actor():
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
                raise Forbidden("page_forbidden")
            if check is not None and not check(actor):
                raise Forbidden("page_forbidden")
            return view(*args, **kwargs)

        return wrapper

    return decorator


def run_action(action, success: str | None = None):
    """Run a service call for a form post: commit on success, roll back and flash the reason on refusal."""
    from timebank.api.transaction import commit_and_kick

    try:
        result = action()
        commit_and_kick()
    except DomainError as exc:
        db.session.rollback()
        flash(describe(exc), "error")
        return None
    if success:
        flash(success, "ok")
    return result


def visible_nav(entries) -> list[tuple[str, str]]:
    """Tabs other modules add: (endpoint, label) or (endpoint, label, shown()) — shown only when registered
    and, if a predicate is given, when it holds for the signed-in person."""
    from flask import current_app

    out = []
    for entry in entries:
        endpoint, label = entry[0], entry[1]
        shown = entry[2] if len(entry) > 2 else None
        if endpoint in current_app.view_functions and (shown is None or shown()):
            out.append((endpoint, label))
    return out


def safe_next(target: str | None, default: str) -> str:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return default
