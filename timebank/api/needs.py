"""Needs (群众点单 / 微心愿): residents post, admins reject or fulfil, the resident rates the service."""

from __future__ import annotations

from flask.views import MethodView

from timebank.api.auth import BEARER, auth, current_actor
from timebank.api.base import Blueprint
from timebank.api.pagination import CursorArgs, page_schema, paginate_by_id
from timebank.api.schemas.hours import (
    NeedCloseIn,
    NeedIn,
    NeedOut,
    NeedQuery,
    NeedRatingIn,
    NeedRatingOut,
    NeedRejectIn,
)
from timebank.api.schemas.wishes import EscalateIn, EscalationList, EscalationOut, FiguresOut, FiguresQuery
from timebank.api.transaction import write
from timebank.extensions import db
from timebank.hours import escalation, needs, ratings
from timebank.hours.models import Need

blp = Blueprint("needs", __name__, url_prefix="/api/needs", description="Residents' needs and micro-wishes (群众点单)")
NeedPage = page_schema(NeedOut, "NeedPage")


@blp.route("")
class NeedList(MethodView):
    @auth(BEARER)
    @blp.arguments(NeedQuery, location="query")
    @blp.arguments(CursorArgs, location="query", as_kwargs=True)
    @blp.response(200, NeedPage)
    def get(self, query, **page):
        """My needs, plus those inside my admin / grid-worker scope, newest first."""
        stmt = needs.list_stmt(current_actor(), status=query["status"], community_id=query["community_id"],
                               overdue=query["overdue"], escalated_to_me=query["escalated_to_me"])
        return paginate_by_id(db.session, stmt, Need.id, page, descending=True)

    @auth(BEARER)
    @write(idempotent=True)
    @blp.arguments(NeedIn)
    @blp.response(201, NeedOut)
    def post(self, body):
        """Post a need or micro-wish (for myself, or as a grid worker for a resident)."""
        return needs.post(db.session, current_actor(), **body)


@blp.route("/<int:need_id>")
class NeedItem(MethodView):
    @auth(BEARER)
    @blp.response(200, NeedOut)
    def get(self, need_id):
        return needs.get_visible(db.session, current_actor(), need_id)


@blp.route("/<int:need_id>/reject")
class NeedReject(MethodView):
    @auth(BEARER)
    @write()
    @blp.arguments(NeedRejectIn)
    @blp.response(200, NeedOut)
    def post(self, body, need_id):
        """Reject an open need, with the reason the resident will see."""
        return needs.reject(db.session, current_actor(), need_id, reason=body["reason"])


@blp.route("/<int:need_id>/fulfil")
class NeedFulfil(MethodView):
    @auth(BEARER)
    @write()
    @blp.response(200, NeedOut)
    def post(self, need_id):
        """Mark an accepted need fulfilled (a verified attendance on its task also does this)."""
        return needs.fulfil(db.session, current_actor(), need_id)


@blp.route("/<int:need_id>/close")
class NeedClose(MethodView):
    @auth(BEARER)
    @write()
    @blp.arguments(NeedCloseIn, required=False)
    @blp.response(200, NeedOut)
    def post(self, body, need_id):
        """Close a need (the resident withdraws their own, or an admin closes it with the reason the resident
        reads)."""
        return needs.close(db.session, current_actor(), need_id, reason=(body or {}).get("reason"))


@blp.route("/<int:need_id>/rating")
class NeedRating(MethodView):
    @auth(BEARER)
    @write(idempotent=True)
    @blp.arguments(NeedRatingIn)
    @blp.response(201, NeedRatingOut)
    def post(self, body, need_id):
        """The resident served rates the fulfilled need, once (1–5 and a comment)."""
        return ratings.rate(db.session, current_actor(), need_id, stars=body["stars"], comment=body["comment"])


# --- deadlines, escalation, figures ----------------------------------------------------------------------------


@blp.route("/<int:need_id>/escalations")
class NeedEscalations(MethodView):
    @auth(BEARER)
    @blp.response(200, EscalationList)
    def get(self, need_id):
        """The need's steps up the tree (who, when, from where to where, why)."""
        actor = current_actor()
        return {"items": escalation.history(db.session, actor, needs.get_visible(db.session, actor, need_id))}

    @auth(BEARER)
    @write(idempotent=True)
    @blp.arguments(EscalateIn)
    @blp.response(201, EscalationOut)
    def post(self, body, need_id):
        """Send the need one level up (grid → community → street → district), with a reason: a grid worker or
        admin where it is handled now."""
        return escalation.escalate(db.session, current_actor(), need_id, reason=body["reason"],
                                   from_level=body["from_level"])


@blp.route("/figures")
class NeedFigures(MethodView):
    @auth(BEARER)
    @blp.arguments(FiguresQuery, location="query")
    @blp.response(200, FiguresOut)
    def get(self, query):
        """Response time and fulfilment rate per community or street in my scope, for needs posted in [start, end)."""
        return {"items": escalation.figures(db.session, current_actor(), start=query["start"], end=query["end"],
                                            by=query["by"])}
