"""Service projects (服务项目) and the lists around them: the needs list grouped for a project, the published
project list, claims by organisations (党组织认领), tasks under a project, acceptance with the residents'
satisfaction, closing, cancelling, and the resources units offer for what a project asks."""

from __future__ import annotations

from flask.views import MethodView
from sqlalchemy.orm import selectinload

from timebank.api.auth import BEARER, auth, current_actor
from timebank.api.base import Blueprint
from timebank.api.pagination import CursorArgs, page_schema, paginate_by_id
from timebank.api.schemas.hours import TaskOut
from timebank.api.schemas.projects import (
    AcceptanceIn,
    ArrangeIn,
    CancelIn,
    ClaimedQuery,
    NeedGroupsOut,
    NeedGroupsQuery,
    ProjectClaimIn,
    ProjectClaimOut,
    ProjectDetailOut,
    ProjectIn,
    ProjectListItem,
    ProjectOut,
    ProjectQuery,
    ProjectTaskIn,
    ResourceLineOut,
    SuggestionsOut,
)
from timebank.api.transaction import write
from timebank.errors import InvalidInput
from timebank.extensions import db
from timebank.people import orgs
from timebank.people.access import FIELD_ROLES, READ_ROLES
from timebank.people.models import Person
from timebank.projects import projects, queries
from timebank.projects.models import Project
from timebank.teams import teams as team_rules

blp = Blueprint("projects", __name__, url_prefix="/api/projects",
                description="Service projects from needs, claimed by organisations (项目清单、党组织认领)")
ProjectPage = page_schema(ProjectListItem, "ProjectPage")


def _home_path() -> str:
    actor = current_actor()
    home = orgs.home_community(db.session, db.session.get(Person, actor.person_id or 0))
    if home is None:
        raise InvalidInput("not_in_community", variant="need")
    return home.path


@blp.route("")
class Projects(MethodView):
    @auth(BEARER)
    @blp.arguments(ProjectQuery, location="query")
    @blp.arguments(CursorArgs, location="query", as_kwargs=True)
    @blp.response(200, ProjectPage)
    def get(self, query, **page):
        """The published project list of a community, street or district (default: my community), newest first."""
        path = orgs.get(db.session, query["org_id"]).path if query["org_id"] is not None else _home_path()
        stmt = (queries.list_stmt(path, status=query["status"], published_only=True).order_by(None)
                .options(selectinload(Project.resources)))  # one query for the page's resource lines
        result = paginate_by_id(db.session, stmt, Project.id, page, descending=True)
        result["items"] = queries.cards(db.session, result["items"])
        return result

    @auth(BEARER)
    @write(idempotent=True)
    @blp.arguments(ProjectIn)
    @blp.response(201, ProjectOut)
    def post(self, body):
        """Make a project from open needs of one community and publish it (the community's admins)."""
        return projects.create(db.session, current_actor(), **body)


@blp.route("/need-groups")
class NeedGroups(MethodView):
    @auth(BEARER)
    @blp.arguments(NeedGroupsQuery, location="query")
    @blp.response(200, NeedGroupsOut)
    def get(self, query):
        """需求清单: the community's open needs not in a project, grouped by category and place, largest first."""
        community = orgs.get(db.session, query["community_id"])
        current_actor().require_on(READ_ROLES | FIELD_ROLES, community.path)
        return {"items": queries.need_groups(db.session, community.id)}


@blp.route("/claimed")
class ClaimedProjects(MethodView):
    @auth(BEARER)
    @blp.arguments(ClaimedQuery, location="query")
    @blp.response(200, ProjectPage)
    def get(self, query):
        """The projects a unit (its contacts) or a team (its leader) holds now, newest first."""
        actor = current_actor()
        if query["employer_id"] is not None:
            actor.require_employer(query["employer_id"])
            rows = queries.claimed_by(db.session, employer_ids={query["employer_id"]})
        elif query["team_id"] is not None:
            team_rules.require_leads(actor, team_rules.get(db.session, query["team_id"]))
            rows = queries.claimed_by(db.session, team_ids={query["team_id"]})
        else:
            raise InvalidInput("filter_required")
        return {"items": queries.cards(db.session, rows), "next_cursor": None}


@blp.route("/<int:project_id>")
class ProjectItem(MethodView):
    @auth(BEARER)
    @blp.response(200, ProjectDetailOut)
    def get(self, project_id):
        """A project with its claim, progress, needs (titles only for those outside the community's staff) and tasks."""
        actor = current_actor()
        project = projects.get(db.session, project_id)
        card = queries.cards(db.session, [project])[0]
        staff = actor.has_role_on(READ_ROLES | FIELD_ROLES, project.community_path)
        card.needs = queries.project_needs(db.session, project.id) if staff else []
        card.tasks = queries.project_tasks(db.session, project.id)
        return card


@blp.route("/<int:project_id>/claim")
class ProjectClaim(MethodView):
    @auth(BEARER)
    @write(idempotent=True)
    @blp.arguments(ProjectClaimIn)
    @blp.response(201, ProjectClaimOut)
    def post(self, body, project_id):
        """Claim an open project for a unit, a party branch or a team. One claim wins; the others get 409."""
        return projects.claim(db.session, current_actor(), project_id, **body)


@blp.route("/<int:project_id>/claim/withdraw")
class ProjectClaimWithdraw(MethodView):
    @auth(BEARER)
    @write()
    @blp.response(200, ProjectClaimOut)
    def post(self, project_id):
        """The organisation gives the project back before any task was published under it."""
        return projects.withdraw_claim(db.session, current_actor(), project_id)


@blp.route("/<int:project_id>/tasks")
class ProjectTasks(MethodView):
    @auth(BEARER)
    @write(idempotent=True)
    @blp.arguments(ProjectTaskIn)
    @blp.response(201, TaskOut)
    def post(self, body, project_id):
        """Publish a task under a claimed project, for the claiming organisation's people, within its budget."""
        return projects.publish_task(db.session, current_actor(), project_id, **body)


@blp.route("/<int:project_id>/acceptance")
class ProjectAcceptance(MethodView):
    @auth(BEARER)
    @write()
    @blp.arguments(AcceptanceIn)
    @blp.response(200, ProjectOut)
    def post(self, body, project_id):
        """Accept the work once its tasks have ended, with the residents' satisfaction (1–5)."""
        return projects.accept(db.session, current_actor(), project_id, **body)


@blp.route("/<int:project_id>/close")
class ProjectClose(MethodView):
    @auth(BEARER)
    @write()
    @blp.response(200, ProjectOut)
    def post(self, project_id):
        return projects.close(db.session, current_actor(), project_id)


@blp.route("/<int:project_id>/cancel")
class ProjectCancel(MethodView):
    @auth(BEARER)
    @write()
    @blp.arguments(CancelIn)
    @blp.response(200, ProjectOut)
    def post(self, body, project_id):
        """Withdraw a project before any task; its needs go back on the needs list."""
        return projects.cancel(db.session, current_actor(), project_id, reason=body["reason"])


@blp.route("/<int:project_id>/suggestions")
class ProjectSuggestions(MethodView):
    @auth(BEARER)
    @blp.response(200, SuggestionsOut)
    def get(self, project_id):
        """资源清单 for this project: per line it asks for, units' offers by kind, place and shared words."""
        project = projects.get(db.session, project_id)
        current_actor().require_on(READ_ROLES | FIELD_ROLES, project.community_path)
        return {"items": [{"line": line, "suggestions": queries.suggestions(db.session, project, line)}
                          for line in project.resources]}


@blp.route("/<int:project_id>/resources/<int:line_id>")
class ProjectResourceLine(MethodView):
    @auth(BEARER)
    @write()
    @blp.arguments(ArrangeIn)
    @blp.response(200, ResourceLineOut)
    def put(self, body, project_id, line_id):
        """Match a line the project asks for with a unit's resource (null undoes it)."""
        return projects.arrange_resource(db.session, current_actor(), project_id, line_id, body["unit_resource_id"])



