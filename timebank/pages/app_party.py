"""志愿者 app, the in-service party member's screens: 报到 (report in to the community where I live, naming my
employer and branch; my report-ins with their status; renew, move) and 我的考评 (my own figures once a run has
published them, with my employer's grade).

Every action is the `report_in` / `appraisal` service the API calls; this module only chooses labels (refusals
read as the message table words them, `timebank.messages`).
"""

from __future__ import annotations

from flask import Blueprint, redirect, request, url_for
from sqlalchemy import select

from timebank.appraisal import report_in
from timebank.appraisal import reports as appraisal
from timebank.appraisal.models import ACTIVE_REPORT_IN, ReportInStatus
from timebank.extensions import db
from timebank.pages import app as app_pages
from timebank.pages import page_actor, run_action
from timebank.people import orgs
from timebank.people.models import Branch, Org, OrgKind, PartyMemberStatus, Person

bp = Blueprint("app_party", __name__, url_prefix="/app/party")
volunteer = app_pages.volunteer


REPORT_IN_LABELS = {ReportInStatus.pending: "待社区确认", ReportInStatus.accepted: "已报到",
                    ReportInStatus.rejected: "未通过", ReportInStatus.moved: "已迁出",
                    ReportInStatus.expired: "已过期", "not_reported": "未报到"}


# --- 报到 ----------------------------------------------------------------------------------------------------


def _me() -> Person:
    return db.session.get(Person, page_actor().person_id)


def _in_service(person: Person) -> bool:
    member = person.party_member
    return member is not None and member.status == PartyMemberStatus.in_service


def _all_communities() -> list[Org]:
    return list(db.session.scalars(select(Org).where(Org.kind == OrgKind.community).order_by(Org.path).limit(500)))


@bp.get("/report-in")
@volunteer
def report_in_page():
    person = _me()
    if not _in_service(person):
        return app_pages.render("pages/app/party_report_in.html", member=None)
    member = person.party_member
    rows = report_in.mine(db.session, page_actor())
    live = next((r for r in rows if r.status in ACTIVE_REPORT_IN), None)
    branches = []
    if member.employer is not None:
        branches = list(db.session.scalars(select(Branch).where(Branch.org_id == member.employer.org_id)
                                           .order_by(Branch.id).limit(200)))
    if member.branch is not None and member.branch not in branches:
        branches.insert(0, member.branch)
    return app_pages.render("pages/app/party_report_in.html", member=member, rows=rows, live=live,
                            home=orgs.home_community(db.session, person), communities=_all_communities(),
                            branches=branches, labels=REPORT_IN_LABELS, statuses=ReportInStatus)


@bp.post("/report-in")
@volunteer
def submit():
    form = request.form
    run_action(lambda: report_in.submit(
        db.session, page_actor(), community_id=form.get("community_id", type=int) or 0,
        branch_id=form.get("branch_id", type=int) or None, note=form.get("note", "").strip()[:500] or None),
        "报到已提交，请等待社区确认。")
    return redirect(url_for("app_party.report_in_page"))


@bp.post("/report-in/<int:report_in_id>/renew")
@volunteer
def renew(report_in_id: int):
    def renew_mine():
        _own(report_in_id)
        return report_in.renew(db.session, page_actor(), report_in_id)

    run_action(renew_mine, "报到已续期。")
    return redirect(url_for("app_party.report_in_page"))


def _own(report_in_id: int):
    """The app renews and moves the member's own report-ins only (admins renew from the console)."""
    row = report_in.get(db.session, report_in_id)
    page_actor().require_person(row.person_id)
    return row


@bp.post("/report-in/<int:report_in_id>/move")
@volunteer
def move(report_in_id: int):
    form = request.form
    run_action(lambda: report_in.move(db.session, page_actor(), report_in_id,
                                     community_id=form.get("community_id", type=int) or 0,
                                     note=form.get("note", "").strip()[:500] or None),
               "已迁移报到，请等待新社区确认。")
    return redirect(url_for("app_party.report_in_page"))


# --- 我的考评 ------------------------------------------------------------------------------------------------


@bp.get("/appraisal")
@volunteer
def my_appraisal():
    """My figures in each run, once the run has computed them (pending entries are not yet published)."""
    person = _me()
    entries = appraisal.my_entries(db.session, page_actor())
    return app_pages.render("pages/app/party_appraisal.html", entries=entries,
                            is_member=person.party_member is not None, labels=REPORT_IN_LABELS)
