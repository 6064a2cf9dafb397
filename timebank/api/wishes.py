"""Micro-wishes (微心愿) claimed directly by a volunteer or a unit: open wishes near me, claim, fulfil with the people
helped, the resident's confirmation, withdrawal."""

from __future__ import annotations

from flask.views import MethodView
from sqlalchemy import select

from timebank.api.auth import BEARER, auth, current_actor
from timebank.api.base import Blueprint
from timebank.api.pagination import CursorArgs, page_schema, paginate_by_id
from timebank.api.schemas.wishes import (
    OpenWishesQuery,
    OpenWishOut,
    WishClaimIn,
    WishClaimOut,
    WishClaimQuery,
    WishFulfilIn,
)
from timebank.api.transaction import write
from timebank.errors import Forbidden, InvalidInput
from timebank.extensions import db
from timebank.hours import wishes
from timebank.hours.models import Need, WishClaim
from timebank.people import orgs
from timebank.people.models import Person

blp = Blueprint("wishes", __name__, url_prefix="/api/wishes", description="Micro-wishes claimed directly (微心愿认领)")
OpenWishPage = page_schema(OpenWishOut, "OpenWishPage")
WishClaimPage = page_schema(WishClaimOut, "WishClaimPage")


@blp.route("")
class OpenWishes(MethodView):
    @auth(BEARER)
    @blp.arguments(OpenWishesQuery, location="query")
    @blp.arguments(CursorArgs, location="query", as_kwargs=True)
    @blp.response(200, OpenWishPage)
    def get(self, query, **page):
        """Open micro-wishes in an org (default: my home community), oldest first by id."""
        actor = current_actor()
        if query["org_id"] is not None:
            path = orgs.get(db.session, query["org_id"]).path
        else:
            home = orgs.home_community(db.session, db.session.get(Person, actor.person_id or 0))
            if home is None:
                raise InvalidInput("not_in_community", variant="need")
            path = home.path
        stmt = wishes.open_wishes_stmt(path).order_by(None)
        return paginate_by_id(db.session, stmt, Need.id, page)


@blp.route("/<int:need_id>/claims")
class WishClaims(MethodView):
    @auth(BEARER)
    @write(idempotent=True)
    @blp.arguments(WishClaimIn)
    @blp.response(201, WishClaimOut)
    def post(self, body, need_id):
        """Claim an open micro-wish, by goods or by service; for a unit, name it (`employer_id`). One claim wins."""
        return wishes.claim(db.session, current_actor(), need_id, way=body["way"],
                            goods_description=body["goods_description"], employer_id=body["employer_id"])


@blp.route("/claims")
class MyWishClaims(MethodView):
    @auth(BEARER)
    @blp.arguments(WishClaimQuery, location="query")
    @blp.arguments(CursorArgs, location="query", as_kwargs=True)
    @blp.response(200, WishClaimPage)
    def get(self, query, **page):
        """My own claims, or a unit's claims (`employer_id`, its contacts only), newest first."""
        actor = current_actor()
        if query["employer_id"] is not None:
            actor.require_employer(query["employer_id"])
            stmt = select(WishClaim).where(WishClaim.employer_id == query["employer_id"])
        elif actor.person_id is None:
            raise Forbidden("people_only")
        else:
            stmt = select(WishClaim).where(WishClaim.person_id == actor.person_id, WishClaim.employer_id.is_(None))
        return paginate_by_id(db.session, stmt, WishClaim.id, page, descending=True)


@blp.route("/claims/<int:claim_id>")
class WishClaimItem(MethodView):
    @auth(BEARER)
    @blp.response(200, WishClaimOut)
    def get(self, claim_id):
        return wishes.get_visible(db.session, current_actor(), claim_id)


@blp.route("/claims/<int:claim_id>/fulfil")
class WishClaimFulfil(MethodView):
    @auth(BEARER)
    @write()
    @blp.arguments(WishFulfilIn)
    @blp.response(200, WishClaimOut)
    def post(self, body, claim_id):
        """The claimer marks the wish fulfilled, with the number of people it helped (惠及群众)."""
        return wishes.fulfil(db.session, current_actor(), claim_id, people_helped=body["people_helped"])


@blp.route("/claims/<int:claim_id>/confirm")
class WishClaimConfirm(MethodView):
    @auth(BEARER)
    @write()
    @blp.response(200, WishClaimOut)
    def post(self, claim_id):
        """The resident (or a grid worker for them) confirms the wish was fulfilled."""
        return wishes.confirm(db.session, current_actor(), claim_id)


@blp.route("/claims/<int:claim_id>/withdraw")
class WishClaimWithdraw(MethodView):
    @auth(BEARER)
    @write()
    @blp.response(200, WishClaimOut)
    def post(self, claim_id):
        """The claimer gives the wish back before fulfilling it."""
        return wishes.withdraw(db.session, current_actor(), claim_id)
