"""社区工作台 (/console): 入社审核 (join requests of the communities in scope: approve, or refuse with a reason) and
批量导入 (people from a spreadsheet: preview, mode, import). The same rules as the API."""

from __future__ import annotations

from flask import Blueprint, redirect, request, url_for
from sqlalchemy import select

from timebank import labels
from timebank.extensions import db
from timebank.joining import signup
from timebank.joining.models import ImportBatch, JoinRequest, JoinStatus
from timebank.pages import _imports, login_required, page_actor, run_action
from timebank.pages.console import chosen_community, my_communities, render
from timebank.people.access import ADMIN_ROLES, READ_ROLES

bp = Blueprint("console_joining", __name__, url_prefix="/console")
admin_only = login_required("console.login", roles=READ_ROLES)
importer = login_required("console.login", roles=ADMIN_ROLES)


@bp.get("/join-requests")
@admin_only
def join_requests():
    communities = my_communities()
    community = chosen_community(communities)
    status = request.args.get("status", "pending")
    rows = []
    if community is not None:
        stmt = signup.community_query(page_actor(), community, None if status == "all" else JoinStatus(status)
                                      if status in JoinStatus.__members__ else JoinStatus.pending)
        rows = list(db.session.scalars(stmt.order_by(JoinRequest.id.desc()).limit(200)))
    return render("pages/console/join_requests.html", communities=communities, community=community, rows=rows,
                  status=status, states=labels.JOIN_STATES)


def _back():
    return redirect(url_for("console_joining.join_requests", community_id=request.form.get("community_id", type=int)))


@bp.post("/join-requests/<int:request_id>/approve")
@admin_only
def approve(request_id: int):
    run_action(lambda: signup.approve(db.session, page_actor(), request_id), "已通过，该志愿者已加入社区。")
    return _back()


@bp.post("/join-requests/<int:request_id>/refuse")
@admin_only
def refuse(request_id: int):
    run_action(lambda: signup.refuse(db.session, page_actor(), request_id, reason=request.form.get("reason", "")),
               "已驳回，申请人会收到驳回原因。")
    return _back()


@bp.route("/imports", methods=["GET", "POST"])
@importer
def imports():
    page = _imports.handle()
    batches = list(db.session.scalars(select(ImportBatch).where(ImportBatch.actor == page_actor().label)
                                      .order_by(ImportBatch.id.desc()).limit(10)))
    return render("pages/console/imports.html", batches=batches, modes=labels.IMPORT_MODES,
                  **{k: v for k, v in page.items() if k != "modes"})
