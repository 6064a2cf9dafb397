"""Every page area, registered here in one list, with the session, CSRF and header rules they share."""

from __future__ import annotations

from flask import Flask, request

from timebank.pages import (
    TlsAwareSessionInterface,
    app_account,
    app_joining,
    app_notify,
    app_party,
    app_projects,
    app_records,
    app_rewards,
    app_teams,
    check_csrf,
    console,
    console_access,
    console_appraisal,
    console_cobuilding,
    console_joining,
    console_merchants,
    console_needs,
    console_notify,
    console_projects,
    console_tasks,
    console_teams,
    csrf_token,
    employer,
    employer_cobuilding,
    employer_joining,
    employer_projects,
    employer_teams,
    employer_wishes,
    errors,
    grid,
    load_page_actor,
    merchant,
    public,
    shanghai,
)
from timebank.pages import (
    app as volunteer_app,
)
from timebank.people.models import Role

AREAS = (
    public,
    # /app: the volunteer's phone
    volunteer_app, app_party, app_records, app_rewards, app_notify, app_account, app_joining, app_teams,
    app_projects,
    # /console: community, street and district admins
    console, console_appraisal, console_merchants, console_tasks, console_notify, console_access, console_joining,
    console_teams, console_cobuilding, console_needs, console_projects,
    # /grid, /employer, /merchant
    grid, employer, employer_joining, employer_teams, employer_cobuilding, employer_wishes, employer_projects,
    merchant,
)


def register_pages(flask_app: Flask, api_http_errors=None) -> None:
    """Register every area. `api_http_errors` answers HTTP errors outside the page areas under /api (problem+json);
    any other unknown path gets the Chinese error page, never JSON."""
    flask_app.session_interface = TlsAwareSessionInterface()
    # Flask's default config already holds these keys (True / None / "session"): replace its defaults only.
    if flask_app.config.get("SESSION_COOKIE_HTTPONLY") is None:
        flask_app.config["SESSION_COOKIE_HTTPONLY"] = True
    if flask_app.config.get("SESSION_COOKIE_SAMESITE") is None:
        flask_app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    if flask_app.config.get("SESSION_COOKIE_NAME") in (None, "session"):
        flask_app.config["SESSION_COOKIE_NAME"] = "timebank_session"
    flask_app.jinja_env.filters["shanghai"] = shanghai
    flask_app.jinja_env.globals["csrf_token"] = csrf_token
    flask_app.jinja_env.globals["Role"] = Role
    names = set()
    for module in AREAS:
        errors.register(module.bp)
        flask_app.register_blueprint(module.bp)
        names.add(module.bp.name)
    flask_app.extensions["timebank_page_blueprints"] = names
    errors.register_fallback(flask_app, api_http_errors)

    @flask_app.before_request
    def _page_session():
        if request.blueprint in names:
            load_page_actor()
            return check_csrf()
        return None

    @flask_app.after_request
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


