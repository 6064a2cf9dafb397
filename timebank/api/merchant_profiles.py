"""What a merchant needs beyond onboarding: its webhook (URL, secret shown once), the communities it serves,
and its webhook deliveries (dead letters visible and re-sendable)."""

from __future__ import annotations

from flask.views import MethodView
from sqlalchemy import select

from timebank.api.auth import API_KEY, BEARER, auth, current_actor
from timebank.api.base import Blueprint
from timebank.api.pagination import page_schema, paginate_by_id
from timebank.api.schemas.redemption import (
    MerchantProfileIn,
    MerchantProfileOut,
    WebhookDeliveryOut,
    WebhookDeliveryQuery,
    WebhookSecretOut,
)
from timebank.api.transaction import write
from timebank.errors import NotFound
from timebank.extensions import db
from timebank.ops import webhooks
from timebank.ops.models import WebhookDelivery
from timebank.redemption import rewards

blp = Blueprint("merchant_profiles", __name__, url_prefix="/api/merchants",
                description="Merchant webhooks, served communities and deliveries")
DeliveryPage = page_schema(WebhookDeliveryOut, "WebhookDeliveryPage")


def _profile_view(merchant_id: int, secret: str | None = None) -> dict:
    profile = rewards.profile_of(db.session, merchant_id)
    out = {
        "merchant_id": merchant_id,
        "webhook_url": profile.webhook_url if profile else None,
        "community_ids": rewards.served_community_ids(db.session, merchant_id),
        "has_webhook_secret": bool(profile and profile.webhook_secret),
        "secret_rotated_at": profile.secret_rotated_at if profile else None,
    }
    if secret:
        out["webhook_secret"] = secret
    return out


@blp.route("/<int:merchant_id>/profile")
class MerchantProfileView(MethodView):
    @auth(BEARER, API_KEY)
    @blp.response(200, MerchantProfileOut)
    def get(self, merchant_id):
        rewards.merchant_for_read(db.session, current_actor(), merchant_id)
        return _profile_view(merchant_id)

    @auth(BEARER)
    @write()
    @blp.arguments(MerchantProfileIn)
    @blp.response(200, MerchantProfileOut)
    def put(self, body, merchant_id):
        """Set the webhook URL and the communities served (admins over the merchant). The first time a URL is
        set, a webhook secret is made and returned in this response only."""
        _, secret = rewards.set_profile(db.session, current_actor(), merchant_id, webhook_url=body["webhook_url"],
                                        community_ids=body["community_ids"])
        return _profile_view(merchant_id, secret)


@blp.route("/<int:merchant_id>/webhook-secret")
class WebhookSecretView(MethodView):
    @auth(BEARER, API_KEY)
    @write()
    @blp.response(201, WebhookSecretOut)
    def post(self, merchant_id):
        """Rotate the webhook secret (the merchant itself or an admin); shown once, the old one stops at once."""
        _, secret = rewards.rotate_secret(db.session, current_actor(), merchant_id)
        return {"merchant_id": merchant_id, "webhook_secret": secret}


def _delivery_of(merchant_id: int, delivery_id: int) -> WebhookDelivery:
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.target_kind != "merchant" or delivery.target_id != merchant_id:
        raise NotFound("webhook_delivery_not_found")
    return delivery


@blp.route("/<int:merchant_id>/webhook-deliveries")
class DeliveryList(MethodView):
    @auth(BEARER, API_KEY)
    @blp.arguments(WebhookDeliveryQuery, location="query", as_kwargs=True)
    @blp.response(200, DeliveryPage)
    def get(self, merchant_id, status=None, **page):
        """The merchant's webhook deliveries, newest first; `status=dead` lists the dead letters."""
        rewards.merchant_for_read(db.session, current_actor(), merchant_id)
        stmt = select(WebhookDelivery).where(WebhookDelivery.target_kind == "merchant",
                                             WebhookDelivery.target_id == merchant_id)
        if status is not None:
            stmt = stmt.where(WebhookDelivery.status == status)
        return paginate_by_id(db.session, stmt, WebhookDelivery.id, page, descending=True)


@blp.route("/<int:merchant_id>/webhook-deliveries/<int:delivery_id>/resend")
class DeliveryResend(MethodView):
    @auth(BEARER, API_KEY)
    @write()
    @blp.response(200, WebhookDeliveryOut)
    def post(self, merchant_id, delivery_id):
        """Send a dead (or delivered) delivery again, with a fresh retry budget and the same delivery id."""
        rewards.merchant_for_manage(db.session, current_actor(), merchant_id)
        return webhooks.resend(db.session, _delivery_of(merchant_id, delivery_id))
