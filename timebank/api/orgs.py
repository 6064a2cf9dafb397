"""The governance tree and party branches."""

from __future__ import annotations

from flask.views import MethodView
from sqlalchemy import select

from timebank.api.auth import BEARER, auth, current_actor
from timebank.api.base import Blueprint
from timebank.api.pagination import CursorArgs, page_schema, paginate_by_id
from timebank.api.schemas.core import BranchIn, BranchOut, OrgIn, OrgOut, OrgQuery
from timebank.api.transaction import write
from timebank.extensions import db
from timebank.people import orgs
from timebank.people.access import READ_ROLES, org_scope_clause
from timebank.people.models import Org

blp = Blueprint("orgs", __name__, url_prefix="/api/orgs", description="Governance tree (区/街道/社区/网格/楼栋)")
OrgPage = page_schema(OrgOut, "OrgPage")


@blp.route("")
class OrgList(MethodView):
    @auth(BEARER)
    @blp.arguments(OrgQuery, location="query")
    @blp.arguments(CursorArgs, location="query", as_kwargs=True)
    @blp.response(200, OrgPage)
    def get(self, query, **page):
        """Orgs inside the caller's admin/auditor scope."""
        actor = current_actor()
        stmt = select(Org).where(org_scope_clause(actor, READ_ROLES, Org.path))
        if query["kind"]:
            stmt = stmt.where(Org.kind == query["kind"])
        if query["parent_id"]:
            stmt = stmt.where(Org.parent_id == query["parent_id"])
        return paginate_by_id(db.session, stmt, Org.id, page)

    @auth(BEARER)
    @write()
    @blp.arguments(OrgIn)
    @blp.response(201, OrgOut)
    def post(self, body):
        """Add a node under a parent the caller administers."""
        return orgs.create(db.session, current_actor(), **body)


@blp.route("/<int:org_id>")
class OrgItem(MethodView):
    @auth(BEARER)
    @blp.response(200, OrgOut)
    def get(self, org_id):
        return orgs.get_readable(db.session, current_actor(), org_id)


@blp.route("/branches")
class BranchList(MethodView):
    @auth(BEARER)
    @write()
    @blp.arguments(BranchIn)
    @blp.response(201, BranchOut)
    def post(self, body):
        """Attach a party branch (党支部) to an org node."""
        return orgs.create_branch(db.session, current_actor(), **body)
