"""Log in with phone + password; get a short-lived bearer token."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from timebank.api.base import Blueprint
from timebank.api.schemas.core import TokenRequest, TokenResponse
from timebank.extensions import db
from timebank.people import persons as people
from timebank.people import security

blp = Blueprint("tokens", __name__, url_prefix="/api/auth", description="Authentication")


@blp.route("/token")
class Token(MethodView):
    @blp.doc(security=[])
    @blp.arguments(TokenRequest)
    @blp.response(201, TokenResponse)
    def post(self, body):
        """Exchange phone + password for a bearer token."""
        person = people.authenticate(db.session, body["phone"], body["password"])
        db.session.rollback()
        ttl = current_app.config["TOKEN_TTL_SECONDS"]
        token = security.issue_token(current_app.config["SECRET_KEY"], person.id, person.token_version)
        return {"access_token": token, "token_type": "Bearer", "expires_in": ttl, "person_id": person.id}
