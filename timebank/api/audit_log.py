"""The audit log of admin writes, read within scope."""

from __future__ import annotations

from flask.views import MethodView
from sqlalchemy import select

from timebank.api.auth import BEARER, auth, current_actor
from timebank.api.base import Blueprint
from timebank.api.pagination import CursorArgs, page_schema, paginate_by_id
from timebank.api.schemas.core import AuditOut, AuditQuery
from timebank.extensions import db
from timebank.ops.models import AuditEntry
from timebank.people import orgs
from timebank.people.access import READ_ROLES

blp = Blueprint("audit", __name__, url_prefix="/api/audit-log", description="Audit log")
AuditPage = page_schema(AuditOut, "AuditPage")


@blp.route("")
class AuditList(MethodView):
    @auth(BEARER)
    @blp.arguments(AuditQuery, location="query")
    @blp.arguments(CursorArgs, location="query", as_kwargs=True)
    @blp.response(200, AuditPage)
    def get(self, query, **page):
        """Admin writes recorded under an org subtree the caller administers or audits, newest first."""
        actor = current_actor()
        org = orgs.get(db.session, query["org_id"])
        actor.require_on(READ_ROLES, org.path)
        stmt = select(AuditEntry).where(AuditEntry.org_path.startswith(org.path, autoescape=True))
        return paginate_by_id(db.session, stmt, AuditEntry.id, page, descending=True)
