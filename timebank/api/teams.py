"""Volunteer teams (志愿服务队): browse and create teams, apply, decide, leave, remove, a team's claim of task slots
for named members (all or none) and its withdrawal, team hours and the team honour board."""

from __future__ import annotations

from flask.views import MethodView

from timebank.api.auth import BEARER, auth, current_actor
from timebank.api.base import Blueprint
from timebank.api.pagination import CursorArgs, page_schema, paginate_by_id
from timebank.api.schemas.teams import (
    ApplyIn,
    BoardOut,
    BoardQuery,
    DecisionIn,
    MemberOut,
    MemberQuery,
    MyMembershipList,
    PeriodQuery,
    RemovalIn,
    TeamClaimIn,
    TeamClaimOut,
    TeamEditIn,
    TeamHoursOut,
    TeamIn,
    TeamOut,
    TeamQuery,
)
from timebank.api.transaction import write
from timebank.extensions import db
from timebank.people import orgs
from timebank.teams import claims as team_claims
from timebank.teams import queries as team_views
from timebank.teams import teams
from timebank.teams.models import Team as TeamRow
from timebank.teams.models import TeamClaim, TeamMember

blp = Blueprint("teams", __name__, url_prefix="/api", description="Volunteer teams (志愿服务队) and team claims")
TeamPage = page_schema(TeamOut, "TeamPage")
MemberPage = page_schema(MemberOut, "TeamMemberPage")
TeamClaimPage = page_schema(TeamClaimOut, "TeamClaimPage")


def _claim_out(row: TeamClaim) -> dict:
    """A team claim with the members it holds slots for (all of them once withdrawn)."""
    active = row.status == "active"
    return {**{k: getattr(row, k) for k in ("id", "team_id", "task_id", "size", "status", "claimed_by_id",
                                            "created_at", "withdrawn_at")},
            "person_ids": team_claims.member_ids(db.session, row, active_only=active)}


@blp.route("/teams")
class Teams(MethodView):
    @auth(BEARER)
    @blp.arguments(TeamQuery, location="query")
    @blp.arguments(CursorArgs, location="query", as_kwargs=True)
    @blp.response(200, TeamPage)
    def get(self, query, **page):
        """Active teams, by community, unit, kind, profession or a word of the name."""
        current_actor()
        return paginate_by_id(db.session, teams.list_stmt(**query), TeamRow.id, page)

    @auth(BEARER)
    @write(idempotent=True)
    @blp.arguments(TeamIn)
    @blp.response(201, TeamOut)
    def post(self, body):
        """Create a team in a community and name its leader (a community admin; a unit's contact for the unit's
        own team)."""
        return teams.create(db.session, current_actor(), **body)


@blp.route("/teams/<int:team_id>")
class TeamItem(MethodView):
    @auth(BEARER)
    @blp.response(200, TeamOut)
    def get(self, team_id):
        current_actor()
        return teams.get(db.session, team_id)

    @auth(BEARER)
    @write()
    @blp.arguments(TeamEditIn)
    @blp.response(200, TeamOut)
    def patch(self, body, team_id):
        """Rename, describe, or hand the team to a new leader (whoever manages the team)."""
        return teams.update(db.session, current_actor(), team_id, changes=body)


@blp.route("/teams/<int:team_id>/dissolution")
class TeamDissolution(MethodView):
    @auth(BEARER)
    @write()
    @blp.response(200, TeamOut)
    def post(self, team_id):
        """Dissolve the team (its history and hours stay)."""
        return teams.dissolve(db.session, current_actor(), team_id)


@blp.route("/teams/<int:team_id>/members")
class TeamMembers(MethodView):
    @auth(BEARER)
    @blp.arguments(MemberQuery, location="query")
    @blp.arguments(CursorArgs, location="query", as_kwargs=True)
    @blp.response(200, MemberPage)
    def get(self, query, team_id, **page):
        """The team's members; applications and former members for the leader and managers only."""
        team = teams.get(db.session, team_id)
        stmt = teams.visible_members_stmt(current_actor(), team, status=query["status"])
        return paginate_by_id(db.session, stmt, TeamMember.id, page)


@blp.route("/teams/<int:team_id>/applications")
class TeamApplications(MethodView):
    @auth(BEARER)
    @write(idempotent=True)
    @blp.arguments(ApplyIn, required=False)
    @blp.response(201, MemberOut)
    def post(self, body, team_id):
        """Apply to join the team; the leader decides."""
        return teams.apply(db.session, current_actor(), team_id, note=(body or {}).get("note", ""))


@blp.route("/teams/<int:team_id>/leave")
class TeamLeave(MethodView):
    @auth(BEARER)
    @write()
    @blp.response(200, MemberOut)
    def post(self, team_id):
        """Leave the team (or take back an application)."""
        return teams.leave(db.session, current_actor(), team_id)


@blp.route("/team-members/<int:member_id>/decision")
class MemberDecision(MethodView):
    @auth(BEARER)
    @write()
    @blp.arguments(DecisionIn)
    @blp.response(200, MemberOut)
    def post(self, body, member_id):
        """Approve an application, or refuse it with a reason the applicant reads (the leader, or an admin)."""
        return teams.decide(db.session, current_actor(), member_id, approve=body["approve"], reason=body["reason"])


@blp.route("/team-members/<int:member_id>/removal")
class MemberRemoval(MethodView):
    @auth(BEARER)
    @write()
    @blp.arguments(RemovalIn)
    @blp.response(200, MemberOut)
    def post(self, body, member_id):
        """Remove a member, with a reason the member reads (the leader, or an admin)."""
        return teams.remove(db.session, current_actor(), member_id, reason=body["reason"])


@blp.route("/me/teams")
class MyTeams(MethodView):
    @auth(BEARER)
    @blp.response(200, MyMembershipList)
    def get(self):
        """The teams I am in or have applied to, newest first."""
        actor = current_actor()
        return {"items": teams.my_memberships(db.session, actor.person_id) if actor.person_id else []}


@blp.route("/teams/<int:team_id>/claims")
class TeamClaims(MethodView):
    @auth(BEARER)
    @blp.arguments(CursorArgs, location="query", as_kwargs=True)
    @blp.response(200, TeamClaimPage)
    def get(self, team_id, **page):
        """The team's claims, newest first."""
        current_actor()
        team = teams.get(db.session, team_id)
        result = paginate_by_id(db.session, team_claims.team_claims_stmt(team), TeamClaim.id, page, descending=True)
        return {**result, "items": [_claim_out(row) for row in result["items"]]}

    @auth(BEARER)
    @write(idempotent=True)
    @blp.arguments(TeamClaimIn)
    @blp.response(201, TeamClaimOut)
    def post(self, body, team_id):
        """Take one slot of a task for each named active member, all or none (409 `not_enough_slots`)."""
        row = team_claims.claim_for_team(db.session, current_actor(), team_id, body["task_id"], body["person_ids"])
        return _claim_out(row)


@blp.route("/team-claims/<int:team_claim_id>")
class TeamClaimItem(MethodView):
    @auth(BEARER)
    @blp.response(200, TeamClaimOut)
    def get(self, team_claim_id):
        current_actor()
        return _claim_out(team_claims.get(db.session, team_claim_id))


@blp.route("/team-claims/<int:team_claim_id>/withdraw")
class TeamClaimWithdraw(MethodView):
    @auth(BEARER)
    @write()
    @blp.response(200, TeamClaimOut)
    def post(self, team_claim_id):
        """Give the team's slots back before the task starts: its members' claims are withdrawn."""
        return _claim_out(team_claims.withdraw(db.session, current_actor(), team_claim_id))


@blp.route("/teams/<int:team_id>/hours")
class TeamHours(MethodView):
    @auth(BEARER)
    @blp.arguments(PeriodQuery, location="query")
    @blp.response(200, TeamHoursOut)
    def get(self, query, team_id):
        """Team hours in a period: all credited minutes of its active members, and those on the team's claims."""
        current_actor()
        team = teams.get(db.session, team_id)
        return team_views.team_hours(db.session, team, team_views.period_of(query["period"]))


@blp.route("/orgs/<int:org_id>/team-honour-board")
class TeamHonourBoard(MethodView):
    @auth(BEARER)
    @blp.arguments(BoardQuery, location="query")
    @blp.response(200, BoardOut)
    def get(self, query, org_id):
        """团队光荣榜: teams of a community (or of a street's communities) ranked by hours in a period."""
        current_actor()
        org = orgs.get(db.session, org_id)
        period = team_views.period_of(query["period"])
        return {"org_id": org.id, "period": period.label,
                "items": team_views.honour_board(db.session, org, period, limit=query["limit"])}
