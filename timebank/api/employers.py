"""Employers (工作单位): registration by street/district admins; an employer sees only its own members."""

from __future__ import annotations

from flask.views import MethodView

from timebank.api.auth import API_KEY, BEARER, auth, current_actor
from timebank.api.base import Blueprint
from timebank.api.pagination import CursorArgs, page_schema, paginate_by_id
from timebank.api.schemas.core import EmployerIn, EmployerMemberOut, EmployerOut
from timebank.api.transaction import write
from timebank.extensions import db
from timebank.people import partners
from timebank.people.models import Employer
from timebank.people.persons import mask_phone

blp = Blueprint("employers", __name__, url_prefix="/api/employers", description="Employers (工作单位)")
EmployerPage = page_schema(EmployerOut, "EmployerPage")


@blp.route("")
class EmployerList(MethodView):
    @auth(BEARER)
    @blp.arguments(CursorArgs, location="query", as_kwargs=True)
    @blp.response(200, EmployerPage)
    def get(self, **page):
        """Employers registered inside the caller's scope."""
        return paginate_by_id(db.session, partners.visible(current_actor(), Employer), Employer.id, page)

    @auth(BEARER)
    @write(idempotent=True)
    @blp.arguments(EmployerIn)
    @blp.response(201, EmployerOut)
    def post(self, body):
        """Register an employer (street or district admin)."""
        return partners.create_employer(db.session, current_actor(), name=body["name"],
                                        credit_code_value=body["credit_code"], org_id=body["org_id"],
                                        contact_name=body["contact_name"], contact_email=body["contact_email"])


@blp.route("/<int:employer_id>")
class EmployerItem(MethodView):
    @auth(BEARER, API_KEY)
    @blp.response(200, EmployerOut)
    def get(self, employer_id):
        return partners.get_employer(db.session, current_actor(), employer_id)


@blp.route("/<int:employer_id>/members")
class EmployerMembers(MethodView):
    @auth(API_KEY, BEARER)
    @blp.response(200, EmployerMemberOut(many=True))
    def get(self, employer_id):
        """The employer's own party members (phone masked). Only that employer may ask."""
        rows = partners.employer_members(db.session, current_actor(), employer_id)
        return [{"person_id": p.id, "name": p.name, "phone_masked": mask_phone(p.phone), "status": m.status,
                 "home_org_id": p.home_org_id} for m, p in rows]

