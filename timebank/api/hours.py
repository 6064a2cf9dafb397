"""Hours views: my hours by category and month, my balances, a community's verification queue and
honour board (光荣榜)."""

from __future__ import annotations

from flask.views import MethodView

from timebank.accounts import balances
from timebank.api.auth import BEARER, auth, current_actor
from timebank.api.base import Blueprint
from timebank.api.pagination import CursorArgs, page_schema, paginate_by_id
from timebank.api.schemas.hours import AttendanceOut, HonourOut, HonourQuery, HoursBalancesOut, HoursOut, HoursQuery
from timebank.errors import Forbidden, InvalidInput
from timebank.extensions import db
from timebank.hours import queries as hours_views
from timebank.hours import verification
from timebank.hours.models import Attendance
from timebank.people import orgs
from timebank.people.access import ADMIN_ROLES, Actor
from timebank.people.models import OrgKind

blp = Blueprint("hours", __name__, url_prefix="/api", description="Service hours views")
AttendancePage = page_schema(AttendanceOut, "AttendancePage")


def _person(actor: Actor) -> int:
    if actor.person_id is None:
        raise Forbidden("people_only")
    return actor.person_id


@blp.route("/me/hours")
class MyHours(MethodView):
    @auth(BEARER)
    @blp.arguments(HoursQuery, location="query")
    @blp.response(200, HoursOut)
    def get(self, query):
        """My credited minutes and points by month and category."""
        return hours_views.my_hours(db.session, _person(current_actor()), year=query["year"])


@blp.route("/me/points")
class MyPoints(MethodView):
    @auth(BEARER)
    @blp.response(200, HoursBalancesOut)
    def get(self):
        """My minutes and points balances, read from the ledger."""
        return balances.for_person(db.session, _person(current_actor()))


def _community(org_id: int):
    org = orgs.get(db.session, org_id)
    if org.kind != OrgKind.community:
        raise InvalidInput("not_a_community")
    return org


@blp.route("/communities/<int:community_id>/verification-queue")
class VerificationQueue(MethodView):
    @auth(BEARER)
    @blp.arguments(CursorArgs, location="query", as_kwargs=True)
    @blp.response(200, AttendancePage)
    def get(self, community_id, **page):
        """Attendance awaiting verification in the community, oldest first."""
        community = _community(community_id)
        current_actor().require_on(ADMIN_ROLES, community.path)
        return paginate_by_id(db.session, verification.pending_stmt(community.id), Attendance.id, page)


@blp.route("/communities/<int:community_id>/honour-board")
class HonourBoard(MethodView):
    @auth(BEARER)
    @blp.arguments(HonourQuery, location="query")
    @blp.response(200, HonourOut)
    def get(self, query, community_id):
        """光荣榜: the community's volunteers ranked by credited minutes in a period."""
        current_actor()
        community = _community(community_id)
        period = hours_views.parse_period(query["period"])
        return {"community_id": community.id, "period": period.label,
                "items": hours_views.honour_board(db.session, community.id, period, limit=query["limit"])}
