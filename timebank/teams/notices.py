"""What teams tell people, through `timebank.notify`: one function per event, called by the rule that causes it, in
its transaction. The texts are in `notify.templates`."""

from __future__ import annotations

from sqlalchemy.orm import Session

from timebank.hours.models import Task
from timebank.notify import notify
from timebank.notify.templates import beijing
from timebank.teams.models import MemberStatus, Team, TeamClaim, TeamMember


def application_decided(session: Session, team: Team, row: TeamMember) -> None:
    """The applicant reads the decision, and the reason of a refusal."""
    approved = row.status == MemberStatus.active
    params = {"team": team.name, "decision": "已通过，欢迎加入" if approved else "未通过",
              "reason": "" if approved else f"原因：{row.reason}"}
    notify(session, row.person_id, "team.decided", params, f"team.decided:{row.id}:{row.decided_at.isoformat()}")


def member_removed(session: Session, team: Team, row: TeamMember) -> None:
    notify(session, row.person_id, "team.removed", {"team": team.name, "reason": row.reason or ""},
           f"team.removed:{row.id}:{row.left_at.isoformat()}")


def members_claimed(session: Session, team: Team, task: Task, team_claim: TeamClaim, person_ids: list[int]) -> None:
    """Each named member learns the team put them on the task."""
    params = {"team": team.name, "task": task.title, "starts_at": beijing(task.starts_at), "place": task.place}
    stamp = team_claim.created_at.isoformat()
    for person_id in person_ids:
        notify(session, person_id, "team.claimed", params, f"team.claimed:{team_claim.id}:{person_id}:{stamp}")


def claim_withdrawn(session: Session, team: Team, task: Task, team_claim: TeamClaim, person_ids: list[int]) -> None:
    params = {"team": team.name, "task": task.title, "starts_at": beijing(task.starts_at)}
    stamp = team_claim.withdrawn_at.isoformat()
    for person_id in person_ids:
        notify(session, person_id, "team.claim_withdrawn", params,
               f"team.claim_withdrawn:{team_claim.id}:{person_id}:{stamp}")
