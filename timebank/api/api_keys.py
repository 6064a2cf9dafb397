"""API keys of merchants and employers: issue (the secret shown once), list (prefixes only), revoke."""

from __future__ import annotations

from flask.views import MethodView

from timebank.api.auth import BEARER, auth, current_actor
from timebank.api.base import Blueprint
from timebank.api.schemas.core import ApiKeyIn, ApiKeyOut
from timebank.api.transaction import write
from timebank.extensions import db
from timebank.people import partners

blp = Blueprint("api_keys", __name__, url_prefix="/api", description="API keys of merchants and employers")

SECRET = ("api_key",)  # never kept in the idempotency store: a repeat shows the key's metadata, not the key


def _out(row, full: str | None = None) -> dict:
    return {"id": row.id, "prefix": row.prefix, "label": row.label, "created_at": row.created_at,
            "revoked_at": row.revoked_at, **({"api_key": full} if full else {})}


class _Keys(MethodView):
    owner = ""

    def _owner(self, kwargs: dict) -> dict:
        return {f"{self.owner}_id": kwargs[f"{self.owner}_id"]}

    @auth(BEARER)
    @write(idempotent=True, secret_fields=SECRET)
    @blp.arguments(ApiKeyIn)
    @blp.response(201, ApiKeyOut)
    def post(self, body, **kwargs):
        """Issue an API key; the key is in this response only (a replay with the same Idempotency-Key omits it)."""
        row, full = partners.issue_api_key(db.session, current_actor(), label=body["label"], **self._owner(kwargs))
        return _out(row, full)

    @auth(BEARER)
    @blp.response(200, ApiKeyOut(many=True))
    def get(self, **kwargs):
        """The keys issued, newest first: prefix, label, when issued and revoked."""
        return [_out(row) for row in partners.api_keys(db.session, current_actor(), **self._owner(kwargs))]


class _Key(MethodView):
    owner = ""

    @auth(BEARER)
    @write()
    @blp.response(200, ApiKeyOut)
    def delete(self, key_id, **kwargs):
        """Revoke a key at once; requests with it answer 401 from now on."""
        owner = {f"{self.owner}_id": kwargs[f"{self.owner}_id"]}
        return _out(partners.revoke_api_key(db.session, current_actor(), key_id, **owner))


@blp.route("/merchants/<int:merchant_id>/api-keys")
class MerchantKeys(_Keys):
    owner = "merchant"


@blp.route("/merchants/<int:merchant_id>/api-keys/<int:key_id>")
class MerchantKey(_Key):
    owner = "merchant"


@blp.route("/employers/<int:employer_id>/api-keys")
class EmployerKeys(_Keys):
    owner = "employer"


@blp.route("/employers/<int:employer_id>/api-keys/<int:key_id>")
class EmployerKey(_Key):
    owner = "employer"
