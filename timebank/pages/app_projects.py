"""志愿者 app, 服务项目: the published project list of my community and a project's page with its tasks. A team's
leader claims a project for the team, a party member for their branch (党组织认领), and gives it back while no task
was published under it.

The claim and its withdrawal are the `projects` rules the API calls; they check who speaks for the organisation
(the leader, a member of the branch), so this module only offers the buttons that can succeed."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from sqlalchemy import select

from timebank import labels
from timebank.errors import Forbidden, NotFound
from timebank.extensions import db
from timebank.pages import app as app_pages
from timebank.pages import page_actor, run_action
from timebank.pages.console_projects import form_id
from timebank.people import orgs
from timebank.people.models import Branch, Person
from timebank.projects import projects, queries
from timebank.projects.models import ClaimantKind, Project, ProjectClaim, ProjectStatus
from timebank.teams.models import Team, TeamStatus

bp = Blueprint("app_projects", __name__, url_prefix="/app")
volunteer = app_pages.volunteer
PAGE = 50


def _me() -> Person:
    return db.session.get(Person, page_actor().person_id)


def _teams_led(person: Person) -> list[Team]:
    return list(db.session.scalars(select(Team).where(Team.leader_id == person.id,
                                                      Team.status == TeamStatus.active).order_by(Team.id)))


def _branch(person: Person) -> Branch | None:
    member = person.party_member
    return member.branch if member is not None else None


def _mine(claim: ProjectClaim | None, teams: list[Team], branch: Branch | None) -> bool:
    """Whether the claim is held by an organisation I speak for here (a team I lead, my branch)."""
    if claim is None:
        return False
    return (claim.team_id is not None and claim.team_id in {t.id for t in teams}) or \
        (branch is not None and claim.branch_id == branch.id)


@bp.get("/projects")
@volunteer
def projects_page():
    """My community's published projects, newest first (cancelled ones left out)."""
    person = _me()
    community = orgs.home_community(db.session, person)
    cards, more = [], None
    if community is not None:
        stmt = queries.list_stmt(community.path, published_only=True)
        before = request.args.get("before", type=int)
        if before is not None and 0 < before < 2**63:
            stmt = stmt.where(Project.id < before)
        rows = list(db.session.scalars(stmt.limit(PAGE)))
        cards = queries.cards(db.session, rows)
        more = url_for("app_projects.projects_page", before=rows[-1].id) if len(rows) == PAGE else None
    return app_pages.render("pages/app/projects.html", community=community, cards=cards, more=more, L=labels)


@bp.get("/projects/<int:project_id>")
@volunteer
def project_page(project_id: int):
    """A project with its goal, claim, progress and tasks; the claim or withdraw buttons I may use."""
    person = _me()
    project = projects.get(db.session, project_id)
    if project.status == ProjectStatus.cancelled:
        raise NotFound("project_not_found")
    card = queries.cards(db.session, [project])[0]
    community = orgs.home_community(db.session, person)
    teams, branch = _teams_led(person), _branch(person)
    mine = _mine(card.claim, teams, branch)
    if (community is None or community.id != project.community_id) and not mine:
        raise Forbidden("out_of_scope")
    may_claim = []
    if project.status == ProjectStatus.open:
        may_claim = [("team", t.id, t.name) for t in teams if t.org_id == project.community_id]
        if branch is not None and (project.community_path.startswith(branch.org.path)
                                   or branch.org.path.startswith(project.community_path)):
            may_claim.append(("branch", branch.id, branch.name))
    tasks = queries.project_tasks(db.session, project.id)
    return app_pages.render("pages/app/project.html", p=project, card=card, tasks=tasks, may_claim=may_claim,
                            can_withdraw=mine and project.status == ProjectStatus.claimed, L=labels)


@bp.post("/projects/<int:project_id>/claim")
@volunteer
def claim(project_id: int):
    """认领 for a team I lead or my branch: the rule checks that I speak for it and that it may claim here."""
    kind = request.form.get("kind")
    org_id = form_id(request.form.get("org_id"))
    if kind not in (ClaimantKind.team, ClaimantKind.branch) or org_id is None:
        raise Forbidden("page_forbidden")
    field = "team_id" if kind == ClaimantKind.team else "branch_id"
    done = run_action(lambda: projects.claim(db.session, page_actor(), project_id, kind=ClaimantKind(kind),
                                             **{field: org_id}), None)
    if done is not None:
        flash(f"已以「{done.claimant}」的名义认领该项目，社区会安排项目任务。", "ok")
    return redirect(url_for("app_projects.project_page", project_id=project_id))


@bp.post("/projects/<int:project_id>/withdraw")
@volunteer
def withdraw(project_id: int):
    run_action(lambda: projects.withdraw_claim(db.session, page_actor(), project_id),
               "已撤回认领，项目回到项目清单，其他组织可以认领。")
    return redirect(url_for("app_projects.project_page", project_id=project_id))
