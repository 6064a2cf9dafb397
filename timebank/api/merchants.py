"""Merchants (爱心商户): onboarding, suspension, API keys. A merchant sees only itself."""

from __future__ import annotations

from flask.views import MethodView

from timebank.api.auth import API_KEY, BEARER, auth, current_actor
from timebank.api.base import Blueprint
from timebank.api.pagination import CursorArgs, page_schema, paginate_by_id
from timebank.api.schemas.core import MerchantIn, MerchantOut, MerchantStatusIn
from timebank.api.transaction import write
from timebank.extensions import db
from timebank.people import partners
from timebank.people.models import Merchant

blp = Blueprint("merchants", __name__, url_prefix="/api/merchants", description="Partner merchants (爱心商户)")
MerchantPage = page_schema(MerchantOut, "MerchantPage")


@blp.route("")
class MerchantList(MethodView):
    @auth(BEARER)
    @blp.arguments(CursorArgs, location="query", as_kwargs=True)
    @blp.response(200, MerchantPage)
    def get(self, **page):
        """Merchants onboarded inside the caller's scope."""
        return paginate_by_id(db.session, partners.visible(current_actor(), Merchant), Merchant.id, page)

    @auth(BEARER)
    @write(idempotent=True)
    @blp.arguments(MerchantIn)
    @blp.response(201, MerchantOut)
    def post(self, body):
        """Onboard a merchant (community, street or district admin)."""
        return partners.create_merchant(db.session, current_actor(), name=body["name"],
                                        credit_code_value=body["credit_code"], org_id=body["org_id"],
                                        contact_name=body["contact_name"], contact_phone=body["contact_phone"])


@blp.route("/<int:merchant_id>")
class MerchantItem(MethodView):
    @auth(BEARER, API_KEY)
    @blp.response(200, MerchantOut)
    def get(self, merchant_id):
        return partners.get_merchant(db.session, current_actor(), merchant_id)


@blp.route("/<int:merchant_id>/status")
class MerchantStatusView(MethodView):
    @auth(BEARER)
    @write()
    @blp.arguments(MerchantStatusIn)
    @blp.response(200, MerchantOut)
    def put(self, body, merchant_id):
        """Suspend or resume a merchant."""
        return partners.set_merchant_status(db.session, current_actor(), merchant_id, body["status"])

