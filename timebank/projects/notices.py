"""What projects tell people, through `timebank.notify`: the admin who made a project learns who claimed it; the
one who claimed it learns it was accepted and how satisfied the residents were. The texts are in
`notify.templates`; the residents hear about their needs through the needs' own notices."""

from __future__ import annotations

from sqlalchemy.orm import Session

from timebank.notify import notify
from timebank.projects.models import Project, ProjectClaim


def claimed(session: Session, project: Project, claim: ProjectClaim) -> None:
    notify(session, project.created_by_id, "project.claimed",
           {"project": project.title, "claimant": claim.claimant}, f"project.claimed:{claim.id}")


def accepted(session: Session, project: Project, claim: ProjectClaim | None) -> None:
    if claim is None:
        return
    notify(session, claim.person_id, "project.accepted",
           {"project": project.title, "satisfaction": project.satisfaction}, f"project.accepted:{project.id}")
