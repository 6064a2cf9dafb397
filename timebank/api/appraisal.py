"""Appraisal of in-service party members: periods, runs with progress, reports to employers (一信一函) as
PDF/CSV/JSON, delivery, acknowledgement and the employer's evaluation (双评议), public verification."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from timebank.api.auth import API_KEY, BEARER, auth, current_actor
from timebank.api.base import Blueprint
from timebank.api.schemas.appraisal import (
    DeliveryOut,
    DeliveryProfileIn,
    DeliveryProfileOut,
    EvaluationIn,
    EvaluationList,
    PeriodIn,
    PeriodList,
    PeriodOut,
    PeriodQuery,
    PortalFormat,
    PortalLinkOut,
    ReportFormat,
    ReportList,
    ReportOut,
    ReportQuery,
    ResendIn,
    RunErrorsOut,
    RunIn,
    RunOut,
    VerifyOut,
)
from timebank.api.transaction import write
from timebank.appraisal import delivery as appraisal_delivery
from timebank.appraisal import reports as appraisal
from timebank.extensions import db
from timebank.http import attachment

blp = Blueprint("appraisal", __name__, url_prefix="/api/appraisal",
                description="In-service party member appraisal (一信一函, 双评议)")

DOCUMENT_RESPONSE = {"200": {"description": "The report as PDF, CSV or JSON", "content": {
    "application/pdf": {"schema": {"type": "string", "format": "binary"}},
    "text/csv": {"schema": {"type": "string"}}, "application/json": {"schema": {"type": "object"}}}}}


def _cfg() -> appraisal_delivery.DeliveryConfig:
    return appraisal_delivery.config_from(current_app.config)


@blp.route("/periods")
class Periods(MethodView):
    @auth(BEARER)
    @blp.arguments(PeriodQuery, location="query")
    @blp.response(200, PeriodList)
    def get(self, args):
        return {"items": appraisal.list_periods(db.session, current_actor(), args["district_id"])}

    @auth(BEARER)
    @write()
    @blp.arguments(PeriodIn)
    @blp.response(201, PeriodOut)
    def post(self, body):
        """Open a quarter, half-year or year of a district (district or street admin)."""
        return appraisal.create_period(db.session, current_actor(), **body)


@blp.route("/runs")
class Runs(MethodView):
    @auth(BEARER)
    @write()
    @blp.arguments(RunIn)
    @blp.response(202, RunOut)
    def post(self, body):
        """Start a run: reports for every employer with in-service members; the workers render them."""
        run = appraisal.start_run(db.session, current_actor(), body["period_id"])
        db.session.flush()
        return appraisal.progress(db.session, current_actor(), run.id)


@blp.route("/runs/<int:run_id>")
class RunItem(MethodView):
    @auth(BEARER)
    @blp.response(200, RunOut)
    def get(self, run_id):
        """Progress: done / total members, errors, reports rendered."""
        return appraisal.progress(db.session, current_actor(), run_id)


@blp.route("/runs/<int:run_id>/errors")
class RunErrors(MethodView):
    @auth(BEARER)
    @blp.response(200, RunErrorsOut)
    def get(self, run_id):
        """The members whose entries failed, with the reason."""
        return {"items": appraisal.run_errors(db.session, current_actor(), run_id)}


@blp.route("/reports")
class Reports(MethodView):
    @auth(BEARER, API_KEY)
    @blp.arguments(ReportQuery, location="query")
    @blp.response(200, ReportList)
    def get(self, args):
        """Reports of a run (admins) or of an employer (that employer)."""
        reports = appraisal.list_reports(db.session, current_actor(), run_id=args["run_id"],
                                         employer_id=args["employer_id"])
        return {"items": [appraisal.report_summary(db.session, r) for r in reports]}


@blp.route("/reports/<int:report_id>")
class ReportItem(MethodView):
    @auth(BEARER, API_KEY)
    @write()
    @blp.response(200, ReportOut)
    def get(self, report_id):
        """A report's status, verification code and deliveries (audited read)."""
        return appraisal.read_summary(db.session, current_actor(), report_id)


@blp.route("/reports/<int:report_id>/document")
class ReportDocument(MethodView):
    @auth(BEARER, API_KEY, responses=DOCUMENT_RESPONSE)
    @write()
    @blp.arguments(ReportFormat, location="query")
    def get(self, args, report_id):
        """The report as `format=pdf|csv|json` (the employer's own, or its district's admins). Audited."""
        content, mimetype, name = appraisal.read_document(db.session, current_actor(), report_id, args["format"],
                                                          base_url=current_app.config["PUBLIC_BASE_URL"])
        return attachment(content, mimetype, name)


@blp.route("/reports/<int:report_id>/resend")
class ReportResend(MethodView):
    @auth(BEARER)
    @write()
    @blp.arguments(ResendIn)
    @blp.response(202, DeliveryOut)
    def post(self, body, report_id):
        """Deliver again (optionally over another channel); a new delivery row keeps the history."""
        return appraisal_delivery.resend(db.session, current_actor(), report_id, channel=body["channel"])


@blp.route("/reports/<int:report_id>/portal-link")
class ReportPortalLink(MethodView):
    @auth(BEARER, API_KEY)
    @write()
    @blp.response(201, PortalLinkOut)
    def post(self, report_id):
        """A download link that expires (for the employer to open without logging in)."""
        return appraisal_delivery.issue_portal_link(db.session, current_actor(), report_id, _cfg())


@blp.route("/portal/<token>")
class Portal(MethodView):
    @write()
    @blp.doc(responses=DOCUMENT_RESPONSE)
    @blp.arguments(PortalFormat, location="query")
    def get(self, args, token):
        """Download a report through an expiring link (no login). Audited."""
        content, mimetype, name = appraisal_delivery.open_portal(db.session, token, args["format"], _cfg())
        return attachment(content, mimetype, name)


@blp.route("/reports/<int:report_id>/acknowledgement")
class ReportAcknowledgement(MethodView):
    @auth(API_KEY, BEARER)
    @write()
    @blp.response(200, ReportOut)
    def post(self, report_id):
        """The employer confirms it received the report."""
        report = appraisal.acknowledge(db.session, current_actor(), report_id)
        return appraisal.report_summary(db.session, report)


@blp.route("/reports/<int:report_id>/evaluations")
class ReportEvaluations(MethodView):
    @auth(BEARER, API_KEY)
    @write()
    @blp.response(200, EvaluationList)
    def get(self, report_id):
        """The employer's evaluations (the employer; district admins; a community's admins for its members)."""
        return appraisal.evaluations(db.session, current_actor(), report_id)

    @auth(API_KEY, BEARER)
    @write()
    @blp.arguments(EvaluationIn)
    @blp.response(200, EvaluationList)
    def put(self, body, report_id):
        """双评议: the employer's grade and comment per member (replaces earlier ones); acknowledges too."""
        items = appraisal.evaluate(db.session, current_actor(), report_id, body["items"])
        report = appraisal.get_report(db.session, current_actor(), report_id)
        return {"report_id": report_id, "acknowledged_at": report.acknowledged_at, "items": items}


@blp.route("/employers/<int:employer_id>/delivery-profile")
class EmployerDeliveryProfile(MethodView):
    @auth(BEARER, API_KEY)
    @write()
    @blp.arguments(DeliveryProfileIn)
    @blp.response(200, DeliveryProfileOut)
    def put(self, body, employer_id):
        """How the employer receives reports: email, webhook (signed) or portal."""
        return appraisal_delivery.set_profile(db.session, current_actor(), employer_id, **body)


@blp.route("/entries/mine")
class MyEntries(MethodView):
    @auth(BEARER)
    @blp.response(200)
    def get(self):
        """A member's own appraisal figures and the employer's grade."""
        return {"items": appraisal.my_entries(db.session, current_actor())}


@blp.route("/verify/<code>")
class Verify(MethodView):
    @blp.response(200, VerifyOut)
    def get(self, code):
        """Public: is this verification code genuine, and what does it certify (no personal data)."""
        return appraisal.verify_code(db.session, code)
