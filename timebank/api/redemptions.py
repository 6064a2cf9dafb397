"""Redemptions (兑换 / 核销): a volunteer holds points for a reward; the merchant confirms or refuses.

Volunteers see their own, a merchant (API key or merchant_staff login) only its own, admins their subtree.
"""

from __future__ import annotations

from flask.views import MethodView

from timebank.api.auth import API_KEY, BEARER, auth, current_actor
from timebank.api.base import Blueprint
from timebank.api.pagination import page_schema, paginate_by_id
from timebank.api.schemas.redemption import (
    CodeConfirmIn,
    PayCodeOut,
    RedeemIn,
    RedemptionCodeOut,
    RedemptionOut,
    RedemptionQuery,
    RedemptionRefuseIn,
    TillRedeemIn,
)
from timebank.api.transaction import write
from timebank.extensions import db
from timebank.redemption import redemptions as redemption
from timebank.redemption.models import Redemption

blp = Blueprint("redemptions", __name__, url_prefix="/api/redemptions",
                description="Redemptions: hold, capture, release (兑换 / 核销)")
RedemptionPage = page_schema(RedemptionOut, "RedemptionPage")


def _with_code(red: Redemption, code: str) -> Redemption:
    """The code exists in clear only in this response (the row keeps its hash)."""
    red.code, red.code_display = code, redemption.display_code(code)
    red.qr_payload = redemption.qr_payload(red.id, code)
    return red


@blp.route("")
class RedemptionList(MethodView):
    @auth(BEARER, API_KEY)
    @blp.arguments(RedemptionQuery, location="query", as_kwargs=True)
    @blp.response(200, RedemptionPage)
    def get(self, merchant_id=None, org_id=None, status=None, **page):
        """One's own redemptions; a merchant's (`merchant_id`); a subtree's (`org_id`, admins and auditors)."""
        stmt = redemption.list_statement(db.session, current_actor(), merchant_id=merchant_id, org_id=org_id,
                                         status=status)
        return paginate_by_id(db.session, stmt, Redemption.id, page, descending=True)

    @auth(BEARER)
    @write(idempotent=True, require_key=True)
    @blp.arguments(RedeemIn)
    @blp.response(201, RedemptionCodeOut)
    def post(self, body):
        """Redeem one unit of a reward: points held, stock reserved, a one-time pickup code and QR payload
        returned (repeat with the same Idempotency-Key to get the same answer)."""
        red, code = redemption.redeem(db.session, current_actor(), reward_id=body["reward_id"])
        return _with_code(red, code)


@blp.route("/<int:redemption_id>")
class RedemptionItem(MethodView):
    @auth(BEARER, API_KEY)
    @blp.response(200, RedemptionOut)
    def get(self, redemption_id):
        return redemption.get_visible(db.session, current_actor(), redemption_id)


@blp.route("/<int:redemption_id>/cancel")
class RedemptionCancel(MethodView):
    @auth(BEARER)
    @write()
    @blp.response(200, RedemptionOut)
    def post(self, redemption_id):
        """The volunteer (or an admin over their community) cancels a held redemption; points and stock return."""
        return redemption.cancel(db.session, current_actor(), redemption_id)


@blp.route("/<int:redemption_id>/refuse")
class RedemptionRefuse(MethodView):
    @auth(BEARER, API_KEY)
    @write()
    @blp.arguments(RedemptionRefuseIn)
    @blp.response(200, RedemptionOut)
    def post(self, body, redemption_id):
        """The merchant refuses a held redemption; points and stock return."""
        return redemption.refuse(db.session, current_actor(), redemption_id, reason=body["reason"])


@blp.route("/<int:redemption_id>/capture")
class RedemptionCapture(MethodView):
    @auth(BEARER, API_KEY)
    @write()
    @blp.response(200, RedemptionOut)
    def post(self, redemption_id):
        """The merchant captures a till redemption (opened with the volunteer's pay code)."""
        return redemption.capture(db.session, current_actor(), redemption_id)


@blp.route("/<int:redemption_id>/code")
class RedemptionCode(MethodView):
    @auth(BEARER)
    @write()
    @blp.response(200, RedemptionCodeOut)
    def post(self, redemption_id):
        """A new pickup code for one's own held redemption (codes are stored hashed; the old one stops working)."""
        red, code = redemption.reissue_code(db.session, current_actor(), redemption_id)
        return _with_code(red, code)


@blp.route("/confirm")
class RedemptionConfirm(MethodView):
    @auth(BEARER, API_KEY)
    @write()
    @blp.arguments(CodeConfirmIn)
    @blp.response(200, RedemptionOut)
    def post(self, body):
        """The merchant confirms the volunteer's pickup code (typed, or the scanned QR payload): captured.
        A repeat answers 200 with `just_changed: false`."""
        return redemption.confirm_code(db.session, current_actor(), code=body["code"])


@blp.route("/till")
class RedemptionTill(MethodView):
    @auth(BEARER, API_KEY)
    @write()
    @blp.arguments(TillRedeemIn)
    @blp.response(201, RedemptionOut)
    def post(self, body):
        """The merchant enters the volunteer's one-time pay code with a reward: points are held."""
        return redemption.redeem_at_till(db.session, current_actor(), pay_code=body["pay_code"],
                                         reward_id=body["reward_id"])


@blp.route("/pay-codes")
class PayCodes(MethodView):
    @auth(BEARER)
    @write()
    @blp.response(201, PayCodeOut)
    def post(self):
        """A one-time pay code (付款码) for the till, valid five minutes."""
        row, code = redemption.issue_pay_code(db.session, current_actor())
        return {"code": code, "code_display": redemption.display_code(code), "expires_at": row.expires_at}
