"""双报到: members report in to their residential community; communities accept; employers see the roster."""

from __future__ import annotations

from flask.views import MethodView

from timebank.api.auth import API_KEY, BEARER, auth, current_actor
from timebank.api.base import Blueprint
from timebank.api.pagination import CursorArgs, page_schema, paginate_by_id
from timebank.api.schemas.appraisal import (
    MoveIn,
    RejectIn,
    ReportInIn,
    ReportInList,
    ReportInOut,
    ReportInQuery,
    RosterOut,
)
from timebank.api.transaction import write
from timebank.appraisal import report_in as service
from timebank.appraisal.models import ReportIn
from timebank.extensions import db
from timebank.people import orgs

blp = Blueprint("report_in", __name__, url_prefix="/api",
                description="Report-in of in-service party members (双报到)")
ReportInPage = page_schema(ReportInOut, "ReportInPage")


class _QueryWithPage(ReportInQuery, CursorArgs):
    pass


@blp.route("/report-ins")
class ReportIns(MethodView):
    @auth(BEARER)
    @blp.arguments(_QueryWithPage, location="query")
    @blp.response(200, ReportInPage)
    def get(self, args):
        """Report-ins to a community (or any community under a street/district), for its admins."""
        community = orgs.get(db.session, args["community_id"])
        stmt = service.community_query(current_actor(), community, args["status"])
        return paginate_by_id(db.session, stmt, ReportIn.id, args)

    @auth(BEARER)
    @write()
    @blp.arguments(ReportInIn)
    @blp.response(201, ReportInOut)
    def post(self, body):
        """An in-service party member reports in to the community where they live."""
        return service.submit(db.session, current_actor(), **body)


@blp.route("/report-ins/mine")
class MyReportIns(MethodView):
    @auth(BEARER)
    @blp.response(200, ReportInList)
    def get(self):
        """The caller's own report-ins, newest first."""
        return {"items": service.mine(db.session, current_actor())}


@blp.route("/report-ins/<int:report_in_id>")
class ReportInItem(MethodView):
    @auth(BEARER, API_KEY)
    @blp.response(200, ReportInOut)
    def get(self, report_in_id):
        return service.get_visible(db.session, current_actor(), report_in_id)


@blp.route("/report-ins/<int:report_in_id>/acceptance")
class ReportInAcceptance(MethodView):
    @auth(BEARER)
    @write()
    @blp.response(200, ReportInOut)
    def post(self, report_in_id):
        """The community accepts the report-in."""
        return service.accept(db.session, current_actor(), report_in_id)


@blp.route("/report-ins/<int:report_in_id>/rejection")
class ReportInRejection(MethodView):
    @auth(BEARER)
    @write()
    @blp.arguments(RejectIn)
    @blp.response(200, ReportInOut)
    def post(self, body, report_in_id):
        """The community refuses the report-in, with a reason the member reads."""
        return service.reject(db.session, current_actor(), report_in_id, reason=body["reason"])


@blp.route("/report-ins/<int:report_in_id>/renewal")
class ReportInRenewal(MethodView):
    @auth(BEARER)
    @write()
    @blp.response(200, ReportInOut)
    def post(self, report_in_id):
        """Renew for another term (the member, or the community's admin)."""
        return service.renew(db.session, current_actor(), report_in_id)


@blp.route("/report-ins/<int:report_in_id>/move")
class ReportInMove(MethodView):
    @auth(BEARER)
    @write()
    @blp.arguments(MoveIn)
    @blp.response(201, ReportInOut)
    def post(self, body, report_in_id):
        """The member moved house: close this report-in and report in to the new community."""
        return service.move(db.session, current_actor(), report_in_id, community_id=body["community_id"],
                            note=body["note"])


@blp.route("/employers/<int:employer_id>/report-ins")
class EmployerRoster(MethodView):
    @auth(BEARER, API_KEY)
    @write()
    @blp.response(200, RosterOut)
    def get(self, employer_id):
        """Who of the employer's in-service members reported in where, and who has not (audited read)."""
        lines = service.employer_roster(db.session, current_actor(), employer_id)
        reported = sum(1 for line in lines if line.status != "not_reported")
        return {"employer_id": employer_id, "total": len(lines), "reported": reported,
                "not_reported": len(lines) - reported, "items": lines}
