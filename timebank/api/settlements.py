"""Settlement (结算) and reconciliation (对账) with a merchant: statements (JSON / CSV), settlement transfers,
and the merchant's own CSV matched against the ledger by a worker."""

from __future__ import annotations

from flask import Response, request
from flask.views import MethodView

from timebank.api.auth import API_KEY, BEARER, auth, current_actor
from timebank.api.base import Blueprint
from timebank.api.pagination import CursorArgs, page_schema, paginate_by_id
from timebank.api.schemas.redemption import (
    MerchantPeriodQuery,
    MerchantReconciliationOut,
    MerchantSettlementIn,
    MerchantSettlementOut,
    MerchantStatementOut,
    MerchantStatementQuery,
)
from timebank.api.transaction import write
from timebank.errors import InvalidInput
from timebank.extensions import db
from timebank.redemption import reconciliation as merchant_reconciliation
from timebank.redemption import settlement
from timebank.redemption.models import Settlement

blp = Blueprint("settlements", __name__, url_prefix="/api/merchants",
                description="Merchant statements, settlements and reconciliation")
SettlementPage = page_schema(MerchantSettlementOut, "SettlementPage")
STATEMENT_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/MerchantStatementOut"}},
                     "text/csv": {"schema": {"type": "string"}}}
CSV_BODY = {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}


@blp.route("/<int:merchant_id>/statement")
class StatementView(MethodView):
    @auth(BEARER, API_KEY, responses={"200": {"description": "The statement; with `format=csv` as a CSV file",
                                              "content": STATEMENT_CONTENT}})
    @blp.arguments(MerchantStatementQuery, location="query", as_kwargs=True)
    @blp.response(200, MerchantStatementOut)
    def get(self, merchant_id, period_start, period_end, format):
        """Captured redemptions of the period (dates in Asia/Shanghai, inclusive) and totals; `format=csv`."""
        data = settlement.statement(db.session, current_actor(), merchant_id, start=period_start, end=period_end)
        if format == "csv":
            name = f"statement-{merchant_id}-{period_start:%Y%m%d}-{period_end:%Y%m%d}.csv"
            return Response(settlement.statement_csv(data), mimetype="text/csv",
                            headers={"Content-Disposition": f"attachment; filename={name}"})
        return data


@blp.route("/<int:merchant_id>/settlements")
class SettlementList(MethodView):
    @auth(BEARER, API_KEY)
    @blp.arguments(CursorArgs, location="query", as_kwargs=True)
    @blp.response(200, SettlementPage)
    def get(self, merchant_id, **page):
        stmt = settlement.list_statement(db.session, current_actor(), merchant_id)
        return paginate_by_id(db.session, stmt, Settlement.id, page, descending=True)

    @auth(BEARER)
    @write(idempotent=True)
    @blp.arguments(MerchantSettlementIn)
    @blp.response(201, MerchantSettlementOut)
    def post(self, body, merchant_id):
        """Settle the period: the community pays (`paid`: points back to its issuing account) or the merchant
        donates (`donated`: points to the community fund). Admins over the merchant."""
        return settlement.settle(db.session, current_actor(), merchant_id, start=body["period_start"],
                                 end=body["period_end"], kind=body["kind"], note=body["note"])


@blp.route("/<int:merchant_id>/reconciliations")
class ReconciliationUpload(MethodView):
    @auth(BEARER, API_KEY, requestBody=CSV_BODY)
    @write(idempotent=True)
    @blp.arguments(MerchantPeriodQuery, location="query", as_kwargs=True)
    @blp.response(202, MerchantReconciliationOut)
    def post(self, merchant_id, period_start, period_end):
        """Upload the merchant's own record for the period as a `text/csv` body (header: redemption_id, points,
        optional reward_id, captured_at); a worker matches it, read the report at the returned id."""
        try:
            text = request.get_data().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput("csv_not_utf8") from exc
        return merchant_reconciliation.submit(db.session, current_actor(), merchant_id, start=period_start,
                                              end=period_end, csv_text=text)


@blp.route("/<int:merchant_id>/reconciliations/<int:reconciliation_id>")
class ReconciliationItem(MethodView):
    @auth(BEARER, API_KEY)
    @blp.response(200, MerchantReconciliationOut)
    def get(self, merchant_id, reconciliation_id):
        return merchant_reconciliation.get(db.session, current_actor(), merchant_id, reconciliation_id)
