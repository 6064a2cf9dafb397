"""Who is asking, and what they may touch: roles held on org subtrees, merchants or employers.

Every check takes a role set *and* a scope; API views, pages and jobs all use these functions.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import bindparam, false, or_, select
from sqlalchemy.orm import Session

from timebank.errors import Forbidden
from timebank.people.models import Org, Person, Role, RoleGrant

ADMIN_ROLES = frozenset({Role.community_admin, Role.street_admin, Role.district_admin})
READ_ROLES = ADMIN_ROLES | {Role.auditor}
FIELD_ROLES = ADMIN_ROLES | {Role.grid_worker}


@dataclass(frozen=True)
class Grant:
    role: Role
    org_id: int | None = None
    org_path: str | None = None
    merchant_id: int | None = None
    employer_id: int | None = None


@dataclass(frozen=True)
class Actor:
    kind: str  # "person", "merchant" (API key), "employer" (API key), "system"
    id: int
    grants: tuple[Grant, ...] = field(default_factory=tuple)

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.id}"

    @property
    def person_id(self) -> int | None:
        return self.id if self.kind == "person" else None

    def paths_for(self, roles: Iterable[Role]) -> list[str]:
        roles = set(roles)
        return [g.org_path for g in self.grants if g.role in roles and g.org_path]

    def has_role_on(self, roles: Iterable[Role], org_path: str) -> bool:
        return any(org_path.startswith(p) for p in self.paths_for(roles))

    def require_on(self, roles: Iterable[Role], org_path: str) -> None:
        if not self.has_role_on(roles, org_path):
            raise Forbidden("out_of_scope")

    def merchant_ids(self) -> set[int]:
        ids = {g.merchant_id for g in self.grants if g.role == Role.merchant_staff and g.merchant_id}
        if self.kind == "merchant":
            ids.add(self.id)
        return ids

    def employer_ids(self) -> set[int]:
        ids = {g.employer_id for g in self.grants if g.role == Role.employer_contact and g.employer_id}
        if self.kind == "employer":
            ids.add(self.id)
        return ids

    def require_merchant(self, merchant_id: int) -> None:
        if merchant_id not in self.merchant_ids():
            raise Forbidden("out_of_scope", variant="other_merchant")

    def require_employer(self, employer_id: int) -> None:
        if employer_id not in self.employer_ids():
            raise Forbidden("out_of_scope", variant="other_employer")

    def require_person(self, person_id: int) -> None:
        if self.person_id != person_id:
            raise Forbidden("not_owner")


SYSTEM = Actor(kind="system", id=0, grants=(Grant(role=Role.district_admin, org_path="/"),))


def load_person_actor(session: Session, person: Person) -> Actor:
    rows = session.execute(
        select(RoleGrant, Org.path).outerjoin(Org, Org.id == RoleGrant.org_id).where(
            RoleGrant.person_id == person.id
        )
    ).all()
    grants = tuple(
        Grant(role=g.role, org_id=g.org_id, org_path=path, merchant_id=g.merchant_id, employer_id=g.employer_id)
        for g, path in rows
    )
    return Actor(kind="person", id=person.id, grants=grants)


@functools.cache
def _actor_query():
    """Core, built once: this runs on every authenticated request, and building the statement (and its
    cache key) cost more than running it."""
    p, g, o = Person.__table__, RoleGrant.__table__, Org.__table__
    return (select(p.c.is_active, p.c.token_version, g.c.role, g.c.org_id, o.c.path, g.c.merchant_id,
                   g.c.employer_id)
            .select_from(p.outerjoin(g, g.c.person_id == p.c.id).outerjoin(o, o.c.id == g.c.org_id))
            .where(p.c.id == bindparam("person_id")))


def load_actor_for_token(session: Session, person_id: int, token_version: int) -> Actor | None:
    """The actor behind a bearer token in one query (the person's state and grants joined), or None when the
    person is unknown, inactive or the token was revoked (its version is stale). Same grants as
    `load_person_actor`; one round trip instead of two on every authenticated request."""
    rows = session.connection().execute(_actor_query(), {"person_id": person_id}).all()
    if not rows or not rows[0].is_active or rows[0].token_version != token_version:
        return None
    grants = tuple(Grant(role=r.role, org_id=r.org_id, org_path=r.path, merchant_id=r.merchant_id,
                         employer_id=r.employer_id) for r in rows if r.role is not None)
    return Actor(kind="person", id=person_id, grants=grants)


def org_scope_clause(actor: Actor, roles: Iterable[Role], path_column):
    """A WHERE clause limiting rows to the subtrees where the actor holds one of `roles`."""
    paths = actor.paths_for(roles)
    if not paths:
        return false()
    return or_(*[path_column.startswith(p, autoescape=True) for p in paths])
