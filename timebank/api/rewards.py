"""The rewards catalogue (兑换商品): a merchant's own list, and what a volunteer can redeem in their community."""

from __future__ import annotations

from flask.views import MethodView

from timebank.api.auth import API_KEY, BEARER, auth, current_actor
from timebank.api.base import Blueprint
from timebank.api.pagination import page_schema, paginate_by_id
from timebank.api.schemas.redemption import RewardIn, RewardOut, RewardPatch, RewardQuery
from timebank.api.transaction import write
from timebank.extensions import db
from timebank.redemption import rewards
from timebank.redemption.models import Reward

blp = Blueprint("rewards", __name__, url_prefix="/api/rewards", description="Rewards catalogue (兑换商品)")
RewardPage = page_schema(RewardOut, "RewardPage")


@blp.route("")
class RewardList(MethodView):
    @auth(BEARER, API_KEY)
    @blp.arguments(RewardQuery, location="query", as_kwargs=True)
    @blp.response(200, RewardPage)
    def get(self, merchant_id=None, affordable=False, **page):
        """A merchant's catalogue (`merchant_id`), or what the calling volunteer may redeem now
        (`affordable=true`: only what their available points cover)."""
        stmt = rewards.catalogue_statement(db.session, current_actor(), merchant_id=merchant_id,
                                           affordable=affordable)
        return paginate_by_id(db.session, stmt, Reward.id, page)

    @auth(BEARER, API_KEY)
    @write()
    @blp.arguments(RewardIn)
    @blp.response(201, RewardOut)
    def post(self, body):
        """Add a reward (the merchant itself, or an admin over it), offered in communities the merchant serves."""
        return rewards.create_reward(db.session, current_actor(), **body)


@blp.route("/<int:reward_id>")
class RewardItem(MethodView):
    @auth(BEARER, API_KEY)
    @blp.response(200, RewardOut)
    def get(self, reward_id):
        return rewards.get_reward(db.session, current_actor(), reward_id)

    @auth(BEARER, API_KEY)
    @write()
    @blp.arguments(RewardPatch)
    @blp.response(200, RewardOut)
    def patch(self, body, reward_id):
        """Edit a reward; stock moves by `stock_delta` (never below zero), `unlimited` switches the stock off/on."""
        stock_delta = body.pop("stock_delta", None)
        unlimited = body.pop("unlimited", None)
        return rewards.update_reward(db.session, current_actor(), reward_id, changes=body, stock_delta=stock_delta,
                                     unlimited=unlimited)
