"""People: oneself, residents in scope, roles, party membership."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from sqlalchemy import select

from timebank.api.auth import BEARER, auth, current_actor
from timebank.api.base import Blueprint
from timebank.api.pagination import CursorArgs, page_schema, paginate_by_id
from timebank.api.schemas.core import (
    DeactivationIn,
    GrantIn,
    GrantOut,
    PartyMemberIn,
    PartyMemberOut,
    PersonIn,
    PersonOut,
    PersonQuery,
)
from timebank.api.transaction import write
from timebank.extensions import db
from timebank.people import orgs
from timebank.people import persons as people
from timebank.people.access import READ_ROLES
from timebank.people.models import Org, Person

blp = Blueprint("people", __name__, url_prefix="/api", description="People, roles and party membership")
PersonPage = page_schema(PersonOut, "PersonPage")


@blp.route("/me")
class Me(MethodView):
    @auth(BEARER)
    @blp.response(200, PersonOut)
    def get(self):
        """The caller's own record, roles and party membership."""
        actor = current_actor()
        return people.get_visible(db.session, actor, actor.person_id or 0)


@blp.route("/people")
class PersonList(MethodView):
    @auth(BEARER)
    @blp.arguments(PersonQuery, location="query")
    @blp.arguments(CursorArgs, location="query", as_kwargs=True)
    @blp.response(200, PersonPage)
    def get(self, query, **page):
        """People living in an org subtree the caller administers or audits."""
        actor = current_actor()
        org = orgs.get(db.session, query["org_id"])
        actor.require_on(READ_ROLES, org.path)
        stmt = select(Person).join(Org, Org.id == Person.home_org_id).where(
            Org.path.startswith(org.path, autoescape=True))
        return paginate_by_id(db.session, stmt, Person.id, page)

    @auth(BEARER)
    @write(idempotent=True)
    @blp.arguments(PersonIn)
    @blp.response(201, PersonOut)
    def post(self, body):
        """Register a resident in the caller's scope (they become a volunteer there)."""
        return people.register(db.session, current_actor(), id_number_key=current_app.config["ID_NUMBER_HASH_KEY"],
                               **body)


@blp.route("/people/<int:person_id>")
class PersonItem(MethodView):
    @auth(BEARER)
    @blp.response(200, PersonOut)
    def get(self, person_id):
        return people.get_visible(db.session, current_actor(), person_id)


@blp.route("/people/<int:person_id>/roles")
class PersonRoles(MethodView):
    @auth(BEARER)
    @write()
    @blp.arguments(GrantIn)
    @blp.response(201, GrantOut)
    def post(self, body, person_id):
        """Grant a role on an org inside the caller's scope, or on a merchant / employer they oversee."""
        actor = current_actor()
        person = people.get(db.session, person_id)
        return people.grant(db.session, actor, person, **body)


@blp.route("/people/<int:person_id>/party-member")
class PersonPartyMember(MethodView):
    @auth(BEARER)
    @write()
    @blp.arguments(PartyMemberIn)
    @blp.response(200, PartyMemberOut)
    def put(self, body, person_id):
        """Record that a resident is a party member (在职 / 注册 / 离退休), with employer and branch."""
        actor = current_actor()
        person = people.get_visible(db.session, actor, person_id)
        return people.register_party_member(db.session, actor, person, **body)


@blp.route("/people/<int:person_id>/deactivation")
class Deactivation(MethodView):
    @auth(BEARER)
    @write()
    @blp.arguments(DeactivationIn)
    @blp.response(200, PersonOut)
    def post(self, body, person_id):
        """Deactivate a person in the admin's scope: every session ends at once and no login works."""
        return people.set_active(db.session, current_actor(), person_id, active=False, reason=body["reason"])

    @auth(BEARER)
    @write()
    @blp.response(200, PersonOut)
    def delete(self, person_id):
        """Reactivate the person (they log in again)."""
        return people.set_active(db.session, current_actor(), person_id, active=True)
