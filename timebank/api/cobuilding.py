"""单位报到与共建: a unit's report-in with its resource list and co-building agreement, the community's decision,
contributions recorded against the agreement, and the community's yearly evaluation of the unit (双评议)."""

from __future__ import annotations

from flask.views import MethodView

from timebank.api.auth import API_KEY, BEARER, auth, current_actor
from timebank.api.base import Blueprint
from timebank.api.pagination import CursorArgs, page_schema, paginate_by_id
from timebank.api.schemas.cobuilding import (
    ContributionIn,
    ContributionList,
    ContributionOut,
    ContributionReversalIn,
    UnitEvaluationIn,
    UnitEvaluationList,
    UnitEvaluationOut,
    UnitRejectIn,
    UnitRenewalIn,
    UnitReportInIn,
    UnitReportInOut,
    UnitReportInQuery,
    UnitResourceIn,
    UnitResourceOut,
    UnitResourcePatch,
)
from timebank.api.transaction import write
from timebank.cobuilding import contributions, evaluation, resources
from timebank.cobuilding import report_in as service
from timebank.cobuilding.models import UnitReportIn
from timebank.errors import InvalidInput
from timebank.extensions import db
from timebank.people import orgs

blp = Blueprint("cobuilding", __name__, url_prefix="/api",
                description="Units reporting in to communities: resources, co-building agreements, contributions and "
                            "the yearly evaluation (单位报到、共建、双评议)")
UnitReportInPage = page_schema(UnitReportInOut, "UnitReportInPage")


class _QueryWithPage(UnitReportInQuery, CursorArgs):
    pass


def _only_unit(actor) -> int:
    ids = actor.employer_ids()
    if len(ids) != 1:
        raise InvalidInput("filter_required", variant="unit_report_in")
    return next(iter(ids))


@blp.route("/unit-report-ins")
class UnitReportIns(MethodView):
    @auth(BEARER, API_KEY)
    @blp.arguments(_QueryWithPage, location="query")
    @blp.response(200, UnitReportInPage)
    def get(self, args):
        """A community's unit report-ins (its admins and auditors; a street or district lists all under it), or a
        unit's own (its contacts; `employer_id` may be left out by a contact of one unit only)."""
        actor = current_actor()
        if args["community_id"] is not None:
            community = orgs.get(db.session, args["community_id"])
            stmt = service.community_query(actor, community, args["status"])
        else:
            employer_id = args["employer_id"] or _only_unit(actor)
            stmt = service.employer_query(db.session, actor, employer_id, args["status"])
        return paginate_by_id(db.session, stmt, UnitReportIn.id, args)

    @auth(BEARER)
    @write(idempotent=True)
    @blp.arguments(UnitReportInIn)
    @blp.response(201, UnitReportInOut)
    def post(self, body):
        """The unit's contact reports the unit in to a community with its resource list and agreement."""
        actor = current_actor()
        employer_id = body.pop("employer_id") or _only_unit(actor)
        return service.submit(db.session, actor, employer_id=employer_id, **body)


@blp.route("/unit-report-ins/<int:report_in_id>")
class UnitReportInItem(MethodView):
    @auth(BEARER, API_KEY)
    @blp.response(200, UnitReportInOut)
    def get(self, report_in_id):
        """One report-in with its resources and agreement (the unit, or readers over the community)."""
        return service.get_visible(db.session, current_actor(), report_in_id)


@blp.route("/unit-report-ins/<int:report_in_id>/acceptance")
class UnitAcceptance(MethodView):
    @auth(BEARER)
    @write()
    @blp.response(200, UnitReportInOut)
    def post(self, report_in_id):
        """The community accepts the unit's report-in; its agreement comes into force."""
        return service.accept(db.session, current_actor(), report_in_id)


@blp.route("/unit-report-ins/<int:report_in_id>/rejection")
class UnitRejection(MethodView):
    @auth(BEARER)
    @write()
    @blp.arguments(UnitRejectIn)
    @blp.response(200, UnitReportInOut)
    def post(self, body, report_in_id):
        """The community refuses the report-in, with a reason the unit reads."""
        return service.reject(db.session, current_actor(), report_in_id, reason=body["reason"])


@blp.route("/unit-report-ins/<int:report_in_id>/renewal")
class UnitRenewal(MethodView):
    @auth(BEARER)
    @write()
    @blp.arguments(UnitRenewalIn)
    @blp.response(200, UnitReportInOut)
    def post(self, body, report_in_id):
        """Another term (the unit, or an admin over the community); the agreement may be extended with it."""
        return service.renew(db.session, current_actor(), report_in_id, agreement_ends_on=body["agreement_ends_on"])


@blp.route("/unit-report-ins/<int:report_in_id>/withdrawal")
class UnitWithdrawal(MethodView):
    @auth(BEARER)
    @write()
    @blp.response(200, UnitReportInOut)
    def post(self, report_in_id):
        """The unit takes its report-in back."""
        return service.withdraw(db.session, current_actor(), report_in_id)


@blp.route("/unit-report-ins/<int:report_in_id>/resources")
class UnitResources(MethodView):
    @auth(BEARER, API_KEY)
    @blp.response(200, UnitResourceOut(many=True))
    def get(self, report_in_id):
        """The resource list (the unit, or readers over the community)."""
        return resources.list_for(db.session, current_actor(), report_in_id)

    @auth(BEARER)
    @write()
    @blp.arguments(UnitResourceIn)
    @blp.response(201, UnitResourceOut)
    def post(self, body, report_in_id):
        """The unit adds a line to its resource list (while the report-in is pending or active)."""
        return resources.add(db.session, current_actor(), report_in_id, **body)


@blp.route("/unit-resources/<int:resource_id>")
class UnitResourceItem(MethodView):
    @auth(BEARER)
    @write()
    @blp.arguments(UnitResourcePatch)
    @blp.response(200, UnitResourceOut)
    def patch(self, body, resource_id):
        """The unit changes a line (a line no longer offered is marked `available: false`, never deleted)."""
        return resources.update(db.session, current_actor(), resource_id, **body)


@blp.route("/unit-report-ins/<int:report_in_id>/contributions")
class UnitContributions(MethodView):
    @auth(BEARER, API_KEY)
    @blp.response(200, ContributionList)
    def get(self, report_in_id):
        """Contributions recorded against the report-in's agreement, reversals included (the sum is net)."""
        rows = contributions.list_for(db.session, current_actor(), report_in_id)
        return {"items": rows, "net_fen": contributions.net_fen(rows)}

    @auth(BEARER)
    @write(idempotent=True)
    @blp.arguments(ContributionIn)
    @blp.response(201, ContributionOut)
    def post(self, body, report_in_id):
        """An admin over the community records a contribution (funds in yuan, to the fen)."""
        amount = body.pop("amount_yuan")
        return contributions.record(db.session, current_actor(), report_in_id,
                                    amount_fen=None if amount is None else int(amount * 100), **body)


@blp.route("/contributions/<int:contribution_id>/reversal")
class ContributionReversal(MethodView):
    @auth(BEARER)
    @write(idempotent=True)
    @blp.arguments(ContributionReversalIn)
    @blp.response(201, ContributionOut)
    def post(self, body, contribution_id):
        """Correct a mistaken contribution: a new row reverses it (once); record the right one anew."""
        return contributions.reverse(db.session, current_actor(), contribution_id, reason=body["reason"])


@blp.route("/unit-report-ins/<int:report_in_id>/evaluations")
class UnitEvaluations(MethodView):
    @auth(BEARER, API_KEY)
    @blp.response(200, UnitEvaluationList)
    def get(self, report_in_id):
        """The community's evaluations of the unit, newest year first (the unit, or readers over the community)."""
        return {"items": evaluation.list_for(db.session, current_actor(), report_in_id)}

    @auth(BEARER)
    @write(idempotent=True)
    @blp.arguments(UnitEvaluationIn)
    @blp.response(201, UnitEvaluationOut)
    def post(self, body, report_in_id):
        """双评议: the community evaluates the unit once a year (a second evaluation of the year is 409)."""
        return evaluation.evaluate(db.session, current_actor(), report_in_id, **body)
