"""社区工作台, the teams (志愿服务队): a community's teams, creating one and naming its leader (by phone), a team's
members with applications to decide, removing a member, handing the team to a new leader, dissolving it, its
claims and hours; the team honour board of a community or of a street.

Every form runs the `teams` rules the API calls (which check the admin's scope), through `pages.run_action`."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from sqlalchemy import select

from timebank import labels, messages
from timebank.errors import DomainError
from timebank.extensions import db
from timebank.hours import tasks as hour_tasks
from timebank.messages import describe
from timebank.pages import console, page_actor, run_action, team_actions
from timebank.pages.app_teams import PERIODS, TEAM_LABELS
from timebank.people import orgs
from timebank.people import persons as people
from timebank.people.access import ADMIN_ROLES, READ_ROLES, org_scope_clause
from timebank.people.models import Org, OrgKind
from timebank.teams import claims as team_claims
from timebank.teams import queries as team_views
from timebank.teams import teams
from timebank.teams.models import Team, TeamClaim, TeamKind, TeamMember

bp = Blueprint("console_teams", __name__, url_prefix="/console")
admin_only = console.admin_only


def render(template: str, **kwargs):
    return console.render(template, team_labels=TEAM_LABELS, **kwargs)


def leader_by_phone(text: str | None) -> int | None:
    """The person a form names by phone as leader; None (and a message shown) when nobody has that number."""
    person = people.find_by_phone(db.session, text)
    if person is None:
        flash(messages.render("team_leader_unknown"), "error")
        return None
    return person.id


def team_form(form) -> dict:
    """The fields of a create form (the console's and the employer portal's)."""
    kind = TeamKind(form.get("kind")) if form.get("kind") in TeamKind.__members__ else TeamKind.general
    return {"name": form.get("name", ""), "kind": kind, "description": form.get("description", ""),
            "profession": (form.get("profession") or None) if kind == TeamKind.professional else None}


def _period_key() -> str:
    wanted = request.args.get("period", "year")
    return wanted if wanted in PERIODS else "year"


@bp.route("/teams", methods=["GET", "POST"])
@admin_only
def teams_page():
    """The community's teams with their members and this year's hours; the form to create one."""
    communities = console.my_communities()
    community = console.chosen_community(communities)
    if request.method == "POST" and community is not None:
        leader_id = leader_by_phone(request.form.get("leader_phone"))
        if leader_id is not None:
            made = run_action(lambda: teams.create(db.session, page_actor(), community_id=community.id,
                                                   leader_id=leader_id, **team_form(request.form)),
                              "服务队已建立。")
            if made is not None:
                return redirect(url_for("console_teams.team_page", team_id=made.id))
        return redirect(url_for("console_teams.teams_page", community_id=community.id))
    rows = []
    if community is not None:
        rows = list(db.session.scalars(teams.list_stmt(community_id=community.id, include_dissolved=True)
                                       .order_by(Team.status, Team.id).limit(200)))
    counts = teams.member_counts(db.session, [t.id for t in rows])
    period = team_views.period_of("year")
    hours = {t.id: team_views.team_hours(db.session, t, period) for t in rows}
    can_create = community is not None and page_actor().has_role_on(ADMIN_ROLES, community.path)
    return render("pages/console/teams.html", communities=communities, community=community, teams=rows,
                  counts=counts, hours=hours, can_create=can_create, professions=labels.PROFESSIONS)


@bp.get("/teams/<int:team_id>")
@admin_only
def team_page(team_id: int):
    """A team for its admins: every member row (applications, refusals, leavers too), claims and hours."""
    team = teams.get(db.session, team_id)
    page_actor().require_on(READ_ROLES, team.org_path)
    period_key = _period_key()
    hours = team_views.team_hours(db.session, team, team_views.period_of(period_key))
    rows = list(db.session.scalars(teams.members_stmt(team, status=None).order_by(TeamMember.status, TeamMember.id)))
    claims = list(db.session.execute(team_claims.team_claims_stmt(team).order_by(TeamClaim.id.desc())
                                     .limit(50)).scalars())
    tasks = {c.task_id: hour_tasks.get(db.session, c.task_id) for c in claims}
    return render("pages/console/team.html", team=team, hours=hours, members=rows, claims=claims, tasks=tasks,
                  period_key=period_key, member_hours={i.person_id: i for i in hours.items},
                  manages=teams.manages(page_actor(), team))


def _back(team_id: int):
    return redirect(url_for("console_teams.team_page", team_id=team_id))


@bp.post("/teams/<int:team_id>/leader")
@admin_only
def change_leader(team_id: int):
    leader_id = leader_by_phone(request.form.get("leader_phone"))
    if leader_id is not None:
        run_action(lambda: teams.update(db.session, page_actor(), team_id, changes={"leader_id": leader_id}),
                   "已更换队长。")
    return _back(team_id)


@bp.post("/teams/<int:team_id>/dissolve")
@admin_only
def dissolve(team_id: int):
    run_action(lambda: teams.dissolve(db.session, page_actor(), team_id), "服务队已解散。")
    return _back(team_id)


@bp.post("/team-members/<int:member_id>/decide")
@admin_only
def decide(member_id: int):
    return _back(team_actions.decide(member_id))


@bp.post("/team-members/<int:member_id>/remove")
@admin_only
def remove(member_id: int):
    return _back(team_actions.remove(member_id))


@bp.get("/teams/honour")
@admin_only
def honour():
    """团队光荣榜 of a community, or of a street's communities for a street admin."""
    places = list(db.session.scalars(select(Org).where(
        Org.kind.in_((OrgKind.street, OrgKind.community)), org_scope_clause(page_actor(), READ_ROLES, Org.path))
        .order_by(Org.path)))
    wanted = request.args.get("org_id", type=int)
    org = orgs.get(db.session, wanted) if wanted else (places[0] if places else None)
    period_key = _period_key()
    rows, problem = [], None
    if org is not None:
        page_actor().require_on(READ_ROLES, org.path)
        try:
            rows = team_views.honour_board(db.session, org, team_views.period_of(period_key), limit=50)
        except DomainError as exc:
            problem = describe(exc)
    return render("pages/console/team_honour.html", places=places, org=org, rows=rows, problem=problem,
                  period_key=period_key)
