"""单位党组织, the unit's teams (志愿服务队): the teams this unit formed in communities, their members and hours this
month or this year, and the form to form a new one and name its leader. The `teams` rules check that the contact
works for the unit."""

from __future__ import annotations

from flask import Blueprint, redirect, request, url_for
from sqlalchemy import func, select

from timebank import labels
from timebank.extensions import db
from timebank.pages import employer, page_actor, run_action
from timebank.pages.app_teams import PERIODS, TEAM_LABELS
from timebank.pages.console_teams import leader_by_phone, team_form
from timebank.people.models import Org, OrgKind
from timebank.teams import queries as team_views
from timebank.teams import teams
from timebank.teams.models import MemberStatus, Team, TeamMember

bp = Blueprint("employer_teams", __name__, url_prefix="/employer")
contact_only = employer.contact_only


@bp.route("/teams", methods=["GET", "POST"])
@contact_only
def teams_page():
    """Our unit's teams with their members and hours; a new team in a community."""
    unit = employer._employer_or_403()
    if request.method == "POST":
        leader_id = leader_by_phone(request.form.get("leader_phone"))
        community_id = request.form.get("community_id", type=int)
        if leader_id is not None and community_id is not None:
            run_action(lambda: teams.create(db.session, page_actor(), community_id=community_id, leader_id=leader_id,
                                            employer_id=unit.id, **team_form(request.form)), "服务队已建立。")
        return redirect(url_for("employer_teams.teams_page"))
    period_key = request.args.get("period", "year")
    period_key = period_key if period_key in PERIODS else "year"
    period = team_views.period_of(period_key)
    rows = list(db.session.scalars(teams.list_stmt(employer_id=unit.id).order_by(Team.id).limit(200)))
    hours = {t.id: team_views.team_hours(db.session, t, period) for t in rows}
    communities = list(db.session.scalars(select(Org).where(Org.kind == OrgKind.community).order_by(Org.path)))
    return employer.render("pages/employer/teams.html", teams=rows, hours=hours, communities=communities,
                           period_key=period_key, team_labels=TEAM_LABELS, professions=labels.PROFESSIONS,
                           applied=_applied_counts([t.id for t in rows]))


def _applied_counts(team_ids: list[int]) -> dict[int, int]:
    if not team_ids:
        return {}
    return dict(db.session.execute(select(TeamMember.team_id, func.count()).where(
        TeamMember.team_id.in_(team_ids), TeamMember.status == MemberStatus.applied)
        .group_by(TeamMember.team_id)).all())
