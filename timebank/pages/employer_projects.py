"""单位党组织, 项目认领 (/employer/projects): the open projects of the communities the unit is reported in to (an
active report-in), claimed for the unit (党组织认领); the unit's own projects with their progress, given back
while no task was published under them.

The claim and its withdrawal are the `projects` rules the API calls; they check that the person is a contact of
the unit and that the unit's report-in to the project's community is active."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, url_for
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from timebank import labels
from timebank.cobuilding.models import UnitReportIn, UnitReportInStatus
from timebank.errors import Forbidden
from timebank.extensions import db
from timebank.pages import employer, page_actor, run_action
from timebank.projects import projects, queries
from timebank.projects.models import ClaimantKind, Project, ProjectStatus

bp = Blueprint("employer_projects", __name__, url_prefix="/employer")
OPEN_SHOWN = 50


@bp.get("/projects")
@employer.contact_only
def projects_page():
    unit = employer.current_employer()
    open_cards, own_cards = [], []
    if unit is not None:
        reported = select(UnitReportIn.community_id).where(UnitReportIn.employer_id == unit.id,
                                                           UnitReportIn.status == UnitReportInStatus.active)
        rows = list(db.session.scalars(
            select(Project).options(joinedload(Project.community))
            .where(Project.status == ProjectStatus.open, Project.community_id.in_(reported))
            .order_by(Project.id.desc()).limit(OPEN_SHOWN)))
        open_cards = queries.cards(db.session, rows)
        own_cards = queries.cards(db.session, queries.claimed_by(db.session, employer_ids={unit.id}))
    return employer.render("pages/employer/projects.html", open_cards=open_cards, own_cards=own_cards,
                           L=labels, S=ProjectStatus)


@bp.post("/projects/<int:project_id>/claim")
@employer.contact_only
def claim(project_id: int):
    unit = employer.current_employer()
    if unit is None:
        raise Forbidden("not_employer_contact", variant="any")
    run_action(lambda: projects.claim(db.session, page_actor(), project_id, kind=ClaimantKind.unit,
                                      employer_id=unit.id),
               f"已以{unit.name}的名义认领该项目，社区会在项目中发布任务。")
    return redirect(url_for("employer_projects.projects_page"))


@bp.post("/projects/<int:project_id>/withdraw")
@employer.contact_only
def withdraw(project_id: int):
    if run_action(lambda: projects.withdraw_claim(db.session, page_actor(), project_id), None) is not None:
        flash("已撤回认领，项目回到社区的项目清单。", "ok")
    return redirect(url_for("employer_projects.projects_page"))
