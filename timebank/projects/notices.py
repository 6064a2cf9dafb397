"""What projects tell people, through `timebank.notify`: the admin who made a project learns who claimed it; the
people of the claiming organisation (the unit's in-service party members, the branch's members, the team's
members) learn of each task published for them; the one who claimed it learns it was accepted and how satisfied
the residents were. The texts are in `notify.templates`; the residents hear about their needs through the needs'
own notices."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from timebank.hours.models import Task
from timebank.notify import Event, notify, notify_many
from timebank.notify.templates import beijing
from timebank.people.models import PartyMember
from timebank.projects.models import Project, ProjectClaim
from timebank.teams.models import MemberStatus, TeamMember


def claimed(session: Session, project: Project, claim: ProjectClaim) -> None:
    notify(session, project.created_by_id, "project.claimed",
           {"project": project.title, "claimant": claim.claimant}, f"project.claimed:{claim.id}")


def accepted(session: Session, project: Project, claim: ProjectClaim | None) -> None:
    if claim is None:
        return
    notify(session, claim.person_id, "project.accepted",
           {"project": project.title, "satisfaction": project.satisfaction}, f"project.accepted:{project.id}")


def people_of(session: Session, claim: ProjectClaim) -> list[int]:
    """Who acts for the claiming organisation: its in-service party members, its branch members, its team."""
    if claim.employer_id is not None:
        stmt = select(PartyMember.person_id).where(PartyMember.employer_id == claim.employer_id)
    elif claim.branch_id is not None:
        stmt = select(PartyMember.person_id).where(PartyMember.branch_id == claim.branch_id)
    else:
        stmt = select(TeamMember.person_id).where(TeamMember.team_id == claim.team_id,
                                                  TeamMember.status == MemberStatus.active)
    return sorted(set(session.scalars(stmt)))


def task_published(session: Session, project: Project, claim: ProjectClaim, task: Task) -> None:
    params = {"project": project.title, "task": task.title, "starts_at": beijing(task.starts_at),
              "place": task.place}
    notify_many(session, "project.task", [Event(pid, params, f"project.task:{task.id}")
                                           for pid in people_of(session, claim)])
