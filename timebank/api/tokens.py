"""Log in with phone + password; get a short-lived bearer token."""

from __future__ import annotations

from flask import current_app, request
from flask.views import MethodView

from timebank.api.auth import BEARER, auth, current_actor
from timebank.api.base import Blueprint
from timebank.api.schemas.core import PasswordChangeIn, TokenRequest, TokenResponse
from timebank.api.transaction import write
from timebank.db_base import utcnow
from timebank.extensions import db, redis_ext
from timebank.people import login_limits, security
from timebank.people import persons as people

blp = Blueprint("tokens", __name__, url_prefix="/api/auth", description="Authentication")


@blp.route("/token")
class Token(MethodView):
    @blp.doc(security=[])
    @blp.alt_response(429, response="TOO_MANY_REQUESTS")  # too_many_logins, with Retry-After
    @blp.arguments(TokenRequest)
    @blp.response(201, TokenResponse)
    def post(self, body):
        """Exchange phone + password for a bearer token."""
        limits = login_limits.for_address(redis_ext.connection, utcnow(), request.remote_addr)
        person = people.authenticate(db.session, body["phone"], body["password"], limits)
        db.session.rollback()
        return _issue(person)


def _issue(person) -> dict:
    ttl = current_app.config["TOKEN_TTL_SECONDS"]
    token = security.issue_token(current_app.config["SECRET_KEY"], person.id, person.token_version)
    return {"access_token": token, "token_type": "Bearer", "expires_in": ttl, "person_id": person.id}


@blp.route("/logout")
class Logout(MethodView):
    @auth(BEARER)
    @write()
    @blp.response(204)
    def post(self):
        """退出: every bearer token and page session of the caller ends, on every device."""
        people.log_out_everywhere(db.session, current_actor())


@blp.route("/password")
class Password(MethodView):
    @auth(BEARER)
    @write()
    @blp.arguments(PasswordChangeIn)
    @blp.response(200, TokenResponse)
    def post(self, body):
        """Change one's password (the current one is checked, braked like a login); every other session ends and
        the answer carries a fresh token for this device."""
        limits = login_limits.for_address(redis_ext.connection, utcnow(), request.remote_addr)
        person = people.change_password(db.session, current_actor(), current=body["current_password"],
                                        new=body["new_password"], limits=limits)
        return _issue(person)
