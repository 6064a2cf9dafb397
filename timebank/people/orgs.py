"""The governance tree: creating nodes and reading policy that is inherited down the tree."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from timebank.errors import InvalidInput, get_or_404
from timebank.ops import audit
from timebank.people.access import ADMIN_ROLES, READ_ROLES, Actor
from timebank.people.models import ORG_LEVEL, Branch, Org, OrgKind, Role


def get(session: Session, org_id: int) -> Org:
    org = get_or_404(session, Org, org_id, "org_not_found")
    return org


def get_readable(session: Session, actor: Actor, org_id: int) -> Org:
    org = get(session, org_id)
    actor.require_on(READ_ROLES, org.path)
    return org


def create(session: Session, actor: Actor, *, kind: OrgKind, name: str, parent_id: int | None,
           settings: dict | None = None) -> Org:
    """Add a node one level below its parent. A root district needs a district admin at the root ("/")."""
    if parent_id is None:
        if kind != OrgKind.district:
            raise InvalidInput("org_level_mismatch")
        actor.require_on({Role.district_admin}, "/")
        parent_path = "/"
    else:
        parent = get(session, parent_id)
        actor.require_on(ADMIN_ROLES, parent.path)
        if ORG_LEVEL[kind] != ORG_LEVEL[parent.kind] + 1:
            raise InvalidInput("org_level_mismatch", variant="parent")
        parent_path = parent.path
    org = Org(kind=kind, name=name, parent_id=parent_id, settings=settings or {}, path="")
    session.add(org)
    session.flush()
    org.path = f"{parent_path}{org.id}/"
    audit.record(session, actor, "org.create", "org", org.id, org_path=org.path,
                 after={"kind": str(kind), "name": name, "parent_id": parent_id})
    return org


def create_root(session: Session, *, name: str, settings: dict | None = None) -> Org:
    """Bootstrap a district (CLI / demo): nobody can hold a role before the first node exists."""
    org = Org(kind=OrgKind.district, name=name, parent_id=None, settings=settings or {}, path="")
    session.add(org)
    session.flush()
    org.path = f"/{org.id}/"
    return org


def ancestors(session: Session, org: Org) -> list[Org]:
    """The org and its ancestors, nearest first."""
    ids = [int(p) for p in org.path.strip("/").split("/") if p]
    rows = {o.id: o for o in session.scalars(select(Org).where(Org.id.in_(ids)))}
    return [rows[i] for i in reversed(ids) if i in rows]


def setting(session: Session, org: Org, key: str, default=None):
    """A policy value, inherited: the nearest node that sets it wins (community over street over district)."""
    for node in ancestors(session, org):
        if key in (node.settings or {}):
            return node.settings[key]
    return default


def community_of(session: Session, org: Org) -> Org:
    """The community an org belongs to (itself, or the ancestor of kind community)."""
    for node in ancestors(session, org):
        if node.kind == OrgKind.community:
            return node
    raise InvalidInput("not_in_community", variant="org")


def home_community(session: Session, person) -> Org | None:
    """The community a person lives in (that of their home org), or None when they have none."""
    if person is None or person.home_org is None:
        return None
    try:
        return community_of(session, person.home_org)
    except InvalidInput:
        return None


def create_branch(session: Session, actor: Actor, *, name: str, org_id: int) -> Branch:
    org = get(session, org_id)
    actor.require_on(ADMIN_ROLES, org.path)
    branch = Branch(name=name, org_id=org.id)
    session.add(branch)
    session.flush()
    audit.record(session, actor, "branch.create", "branch", branch.id, org_path=org.path, after={"name": name})
    return branch
