"""The audit log: every admin write records who, what, before/after and the request id."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.orm import Session

from timebank.logs import request_id_var
from timebank.ops.models import AuditEntry


class Labelled(Protocol):
    """Whoever acts (a person, an API key, the system): the audit log keeps only its label."""

    label: str


def record(session: Session, actor: Labelled, action: str, entity: str, entity_id, *, org_path: str | None = None,
           before: dict | None = None, after: dict | None = None, request_id: str | None = None) -> AuditEntry:
    entry = AuditEntry(
        actor=actor.label, action=action, entity=entity, entity_id=None if entity_id is None else str(entity_id),
        org_path=org_path, before=before, after=after, request_id=request_id or current_request_id(),
    )
    session.add(entry)
    return entry


def current_request_id() -> str | None:
    """The request id of the HTTP request or job in progress, set by the API / worker wrappers."""
    return request_id_var.get()
