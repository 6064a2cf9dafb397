"""People: registration, roles on the tree, party membership."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from timebank.errors import Conflict, Forbidden, InvalidInput, Unauthorized, get_or_404
from timebank.ops import audit
from timebank.people import orgs, security
from timebank.people.access import ADMIN_ROLES, READ_ROLES, Actor
from timebank.people.models import Branch, Employer, Merchant, PartyMember, PartyMemberStatus, Person, Role, RoleGrant

# Which roles a holder of each admin role may grant, on orgs inside their own subtree.
GRANTABLE = {
    Role.community_admin: {Role.volunteer, Role.grid_worker, Role.community_admin},
    Role.street_admin: {Role.volunteer, Role.grid_worker, Role.community_admin, Role.street_admin},
    Role.district_admin: {Role.volunteer, Role.grid_worker, Role.community_admin, Role.street_admin,
                          Role.district_admin, Role.auditor},
}


def mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "****"


def phone_digits(text: str | None) -> str:
    """A mainland mobile number as typed: spaces, dashes and a leading +86 / 86 are dropped."""
    digits = "".join(ch for ch in (text or "") if ch.isdigit())
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return digits


def by_phone(session: Session, text: str | None) -> Person | None:
    """The active person with this mobile number (typed any common way), or None."""
    phone = phone_digits(text)
    if len(phone) != 11:
        return None
    person = session.scalar(select(Person).where(Person.phone == phone))
    return person if person is not None and person.is_active else None


def authenticate(session: Session, phone: str, password: str) -> Person:
    person = session.scalar(select(Person).where(Person.phone == phone))
    ok = security.verify_password(person.password_hash if person else None, password)
    if person is None or not ok or not person.is_active:
        raise Unauthorized("invalid_credentials")
    return person


def get(session: Session, person_id: int) -> Person:
    person = get_or_404(session, Person, person_id, "person_not_found")
    return person


def get_visible(session: Session, actor: Actor, person_id: int) -> Person:
    """Oneself, or someone whose home is inside the actor's admin/auditor scope."""
    person = get(session, person_id)
    if actor.person_id == person.id:
        return person
    if person.home_org is None or not actor.has_role_on(READ_ROLES, person.home_org.path):
        raise Forbidden("out_of_scope", variant="person")
    return person


def register(session: Session, actor: Actor | None, *, name: str, phone: str, password: str | None,
             home_org_id: int | None, id_number: str | None = None, id_number_key: str = "") -> Person:
    """Register a resident. An admin registers within their scope; every person is a volunteer there."""
    home = orgs.get(session, home_org_id) if home_org_id else None
    if actor is not None:
        if home is None:
            raise InvalidInput("home_org_required")
        actor.require_on(ADMIN_ROLES | {Role.grid_worker}, home.path)
    if session.scalar(select(Person.id).where(Person.phone == phone)) is not None:
        raise Conflict("phone_taken")
    person = Person(name=name, phone=phone, password_hash=security.hash_password(password) if password else None,
                    home_org_id=home.id if home else None)
    if id_number:
        person.id_number_hash = security.id_number_hash(id_number_key, id_number)
    session.add(person)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict("person_exists") from exc
    if home is not None:
        session.add(RoleGrant(person_id=person.id, role=Role.volunteer, org_id=home.id,
                              granted_by_id=actor.person_id if actor else None))
        session.flush()
    if actor is not None:
        audit.record(session, actor, "person.register", "person", person.id, org_path=home.path if home else None,
                     after={"name": name, "phone": mask_phone(phone)})
    return person


def grant(session: Session, actor: Actor | None, person: Person, role: Role, *, org_id: int | None = None,
          merchant_id: int | None = None, employer_id: int | None = None) -> RoleGrant:
    """Grant a role. `actor=None` is the bootstrap path (CLI, demo)."""
    targets = [t for t in (org_id, merchant_id, employer_id) if t is not None]
    if len(targets) != 1:
        raise InvalidInput("grant_target")
    if role == Role.merchant_staff:
        if merchant_id is None:
            raise InvalidInput("grant_target", variant="merchant")
        merchant = get_or_404(session, Merchant, merchant_id, "merchant_not_found")
        scope_path = merchant.org.path
        allowed = ADMIN_ROLES
    elif role == Role.employer_contact:
        if employer_id is None:
            raise InvalidInput("grant_target", variant="employer")
        employer = get_or_404(session, Employer, employer_id, "employer_not_found")
        scope_path = employer.org.path
        allowed = ADMIN_ROLES
    else:
        if org_id is None:
            raise InvalidInput("grant_target", variant="org")
        scope_path = orgs.get(session, org_id).path
        allowed = {held for held, grantable in GRANTABLE.items() if role in grantable}
    if actor is not None:
        actor.require_on(allowed, scope_path)
    existing = session.scalar(select(RoleGrant).where(
        RoleGrant.person_id == person.id, RoleGrant.role == role,
        RoleGrant.org_id.is_(None) if org_id is None else RoleGrant.org_id == org_id,
        RoleGrant.merchant_id.is_(None) if merchant_id is None else RoleGrant.merchant_id == merchant_id,
        RoleGrant.employer_id.is_(None) if employer_id is None else RoleGrant.employer_id == employer_id))
    if existing is not None:
        return existing
    row = RoleGrant(person_id=person.id, role=role, org_id=org_id, merchant_id=merchant_id,
                    employer_id=employer_id, granted_by_id=actor.person_id if actor else None)
    session.add(row)
    session.flush()
    if actor is not None:
        audit.record(session, actor, "role.grant", "person", person.id, org_path=scope_path,
                     after={"role": str(role), "org_id": org_id, "merchant_id": merchant_id,
                            "employer_id": employer_id})
    return row


def register_party_member(session: Session, actor: Actor | None, person: Person, *, status: PartyMemberStatus,
                          employer_id: int | None, branch_id: int | None) -> PartyMember:
    if actor is not None:
        if person.home_org is None:
            raise InvalidInput("home_org_required")
        actor.require_on(ADMIN_ROLES, person.home_org.path)
    if employer_id is not None:
        get_or_404(session, Employer, employer_id, "employer_not_found")
    if branch_id is not None:
        get_or_404(session, Branch, branch_id, "branch_not_found")
    if status == PartyMemberStatus.in_service and employer_id is None:
        raise InvalidInput("employer_required")
    member = person.party_member
    before = None
    if member is None:
        member = PartyMember(person_id=person.id, status=status, employer_id=employer_id, branch_id=branch_id)
        session.add(member)
    else:
        before = {"status": str(member.status), "employer_id": member.employer_id, "branch_id": member.branch_id}
        member.status, member.employer_id, member.branch_id = status, employer_id, branch_id
    session.flush()
    if actor is not None:
        audit.record(session, actor, "party_member.set", "person", person.id, org_path=person.home_org.path,
                     before=before, after={"status": str(status), "employer_id": employer_id,
                                           "branch_id": branch_id})
    return member

