"""The leader's and the admin's same acts on a team's members, shared by `/app/teams` and `/console/teams` (each
area checks who may open it; the rule checks who may act on this team)."""

from __future__ import annotations

from flask import request

from timebank.extensions import db
from timebank.pages import page_actor, run_action
from timebank.teams import teams


def decide(member_id: int) -> int:
    """Approve or refuse an application (a refusal carries its reason). Returns the team's id."""
    row = teams.get_member(db.session, member_id)
    approve = request.form.get("action") == "approve"
    run_action(lambda: teams.decide(db.session, page_actor(), member_id, approve=approve,
                                    reason=request.form.get("reason")),
               "已同意入队。" if approve else "已拒绝该申请。")
    return row.team_id


def remove(member_id: int) -> int:
    """Take a member off the team, with the reason they are told. Returns the team's id."""
    row = teams.get_member(db.session, member_id)
    run_action(lambda: teams.remove(db.session, page_actor(), member_id, reason=request.form.get("reason", "")),
               "已将该队员移出服务队。")
    return row.team_id
