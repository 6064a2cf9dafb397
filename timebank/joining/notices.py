"""What a person joining is told, through `timebank.notify`, from the rule that decides their request."""

from __future__ import annotations

from sqlalchemy.orm import Session

from timebank.joining.models import JoinRequest, JoinStatus
from timebank.notify import rules


def join_decided(session: Session, row: JoinRequest) -> None:
    """The inbox message (and SMS) for a decided join request; one per request."""
    rules.join_decided(session, row.person_id, request_id=row.id, org_name=row.community.name,
                       approved=row.status == JoinStatus.approved, reason=row.reason)
