"""志愿者 app, the teams (志愿服务队): browse my community's teams and apply, my teams, a team's page (members, hours,
its claims) and the leader's tools there (approve or refuse applications, remove a member, claim a task's slots for
named members, withdraw a team claim); the team honour board (团队光荣榜).

Every form runs the `teams` rules the API calls, through `pages.run_action`."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from sqlalchemy import select

from timebank import labels, messages
from timebank.errors import DomainError
from timebank.extensions import db
from timebank.hours.models import Task
from timebank.messages import describe
from timebank.pages import app as app_pages
from timebank.pages import page_actor, run_action, team_actions
from timebank.people import orgs
from timebank.people.models import Person
from timebank.teams import claims as team_claims
from timebank.teams import queries as team_views
from timebank.teams import teams
from timebank.teams.models import MemberStatus, Team, TeamClaim, TeamClaimStatus, TeamKind

bp = Blueprint("app_teams", __name__, url_prefix="/app")
volunteer = app_pages.volunteer

# The periods the team pages offer: this month and this year.
PERIODS = {"year": "本年", "month": "本月"}
TEAM_LABELS = {"kinds": labels.TEAM_KINDS, "professions": labels.PROFESSIONS, "states": labels.TEAM_MEMBER_STATES,
               "roles": labels.TEAM_ROLES, "claim_states": labels.TEAM_CLAIM_STATES, "hours": labels.TEAM_HOURS,
               "periods": PERIODS}


def render(template: str, **kwargs):
    return app_pages.render(template, team_labels=TEAM_LABELS, **kwargs)


def _me() -> Person:
    return db.session.get(Person, page_actor().person_id)


def _period_key() -> str:
    wanted = request.args.get("period", "year")
    return wanted if wanted in PERIODS else "year"


@bp.get("/teams")
@volunteer
def teams_page():
    """My teams, and the teams of my community to join (filter by kind and profession)."""
    person = _me()
    community = orgs.home_community(db.session, person)
    mine = teams.my_memberships(db.session, person.id)
    kind = request.args.get("kind")
    kind = TeamKind(kind) if kind in TeamKind.__members__ else None
    profession = request.args.get("profession")
    profession = profession if profession in labels.PROFESSIONS else None
    q = (request.args.get("q") or "").strip()[:teams.MAX_NAME] or None
    rows = []
    if community is not None:
        stmt = teams.list_stmt(community_id=community.id, kind=kind, profession=profession, q=q)
        rows = list(db.session.scalars(stmt.order_by(Team.id).limit(100)))
    counts = teams.member_counts(db.session, [t.id for t in rows] + [m.team_id for m in mine])
    my_status = {m.team_id: m for m in mine}
    return render("pages/app/teams.html", community=community, teams=rows, mine=mine, counts=counts,
                  my_status=my_status, filters={"kind": kind, "profession": profession, "q": q})


def _team_claims(team: Team) -> list[tuple[TeamClaim, Task, list[str]]]:
    rows = db.session.execute(select(TeamClaim, Task).join(Task, Task.id == TeamClaim.task_id)
                              .where(TeamClaim.team_id == team.id).order_by(TeamClaim.id.desc()).limit(30)).all()
    out = []
    for row, task in rows:
        ids = team_claims.member_ids(db.session, row, active_only=row.status == TeamClaimStatus.active)
        names = list(db.session.scalars(select(Person.name).where(Person.id.in_(ids)).order_by(Person.id))) \
            if ids else []
        out.append((row, task, names))
    return out


@bp.get("/teams/<int:team_id>")
@volunteer
def team_page(team_id: int):
    """A team: its members and hours; my place in it; for the leader, applications and team claims."""
    team = teams.get(db.session, team_id)
    actor = page_actor()
    period_key = _period_key()
    hours = team_views.team_hours(db.session, team, team_views.period_of(period_key))
    mine = next((m for m in teams.my_memberships(db.session, actor.person_id) if m.team_id == team.id), None)
    is_leader = teams.leads(actor, team)
    members = list(db.session.scalars(teams.members_stmt(team).order_by(teams.TeamMember.id)))
    applications, open_tasks = [], []
    if is_leader:
        applications = list(db.session.scalars(teams.members_stmt(team, status=MemberStatus.applied)
                                               .order_by(teams.TeamMember.id)))
        open_tasks = team_claims.tasks_for_team(db.session, team)
    return render("pages/app/team.html", team=team, hours=hours, mine=mine, is_leader=is_leader, members=members,
                  applications=applications, open_tasks=open_tasks, claims=_team_claims(team),
                  period_key=period_key, me=actor.person_id, member_hours={i.person_id: i for i in hours.items})


def _back(team_id: int):
    return redirect(url_for("app_teams.team_page", team_id=team_id))


@bp.post("/teams/<int:team_id>/apply")
@volunteer
def apply(team_id: int):
    run_action(lambda: teams.apply(db.session, page_actor(), team_id, note=request.form.get("note", "")),
               "申请已提交，请等待队长审核。")
    return _back(team_id)


@bp.post("/teams/<int:team_id>/leave")
@volunteer
def leave(team_id: int):
    run_action(lambda: teams.leave(db.session, page_actor(), team_id), "已退出该服务队。")
    return _back(team_id)


@bp.post("/team-members/<int:member_id>/decide")
@volunteer
def decide(member_id: int):
    return _back(team_actions.decide(member_id))


@bp.post("/team-members/<int:member_id>/remove")
@volunteer
def remove(member_id: int):
    return _back(team_actions.remove(member_id))


@bp.post("/teams/<int:team_id>/claim")
@volunteer
def claim(team_id: int):
    """The leader claims one slot of the chosen task for each ticked member, all or none."""
    task_id = request.form.get("task_id", type=int)
    person_ids = [int(v) for v in request.form.getlist("person_id") if v.isdigit()]
    if task_id is None:
        flash("请选择要认领的任务。", "error")
        return _back(team_id)
    done = run_action(lambda: team_claims.claim_for_team(db.session, page_actor(), team_id, task_id, person_ids))
    if done is not None:
        flash(f"已为 {len(person_ids)} 名队员认领该任务。", "ok")
    return _back(team_id)


@bp.post("/team-claims/<int:team_claim_id>/withdraw")
@volunteer
def withdraw(team_claim_id: int):
    row = team_claims.get(db.session, team_claim_id)
    run_action(lambda: team_claims.withdraw(db.session, page_actor(), team_claim_id), "已撤回团队认领，名额已释放。")
    return _back(row.team_id)


@bp.get("/teams/honour")
@volunteer
def honour():
    """团队光荣榜: my community's teams ranked by their members' hours this year (or this month)."""
    person = _me()
    period_key = _period_key()
    rows, problem, community = [], None, orgs.home_community(db.session, person)
    try:
        if community is None:
            problem = messages.render("home_org_required")
        else:
            rows = team_views.honour_board(db.session, community, team_views.period_of(period_key))
    except DomainError as exc:
        problem = describe(exc)
    return render("pages/app/team_honour.html", rows=rows, problem=problem, community=community,
                  period_key=period_key, my_teams={m.team_id for m in teams.my_memberships(db.session, person.id)})
