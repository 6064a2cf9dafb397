"""People: registration, roles on the tree, party membership."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from timebank.db_base import utcnow
from timebank.errors import Conflict, Forbidden, InvalidInput, Unauthorized, get_or_404
from timebank.ops import audit
from timebank.people import id_numbers, orgs, security
from timebank.people.access import ADMIN_ROLES, READ_ROLES, Actor
from timebank.people.login_limits import LoginLimits
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


_PHONE_NOISE = str.maketrans("", "", " -()（）.\t\u3000\u00a0\u2010\u2011\u2012\u2013\u2014")


def normalise_phone(text: str | None) -> str:
    """A mainland mobile number as people type it — spaces, dashes, brackets, full-width digits, a +86, 0086 or
    86 in front — as the 11 digits we keep. Anything else comes back cleaned, for the caller to refuse."""
    cleaned = unicodedata.normalize("NFKC", text or "").strip().translate(_PHONE_NOISE)
    for prefix in ("+86", "0086", "86"):
        if cleaned.startswith(prefix) and len(cleaned) == len(prefix) + 11:
            return cleaned[len(prefix):]
    return cleaned


def is_mobile(phone: str) -> bool:
    return len(phone) == 11 and phone.isascii() and phone.isdigit() and phone.startswith("1")


def find_by_phone(session: Session, text: str | None) -> Person | None:
    """The person with this number, however it was typed."""
    phone = normalise_phone(text)
    return session.scalar(select(Person).where(Person.phone == phone)) if is_mobile(phone) else None


def by_phone(session: Session, text: str | None) -> Person | None:
    """The active person with this number, however it was typed, or None."""
    person = find_by_phone(session, text)
    return person if person is not None and person.is_active else None


def authenticate(session: Session, phone: str, password: str, limits: LoginLimits | None = None) -> Person:
    """The person behind a phone (typed any way) and password. With `limits`, a phone or address that failed too
    often is refused before the (deliberately slow) hash, and each failure counts."""
    phone = normalise_phone(phone)
    if limits is not None:
        limits.check(phone)
    person = session.scalar(select(Person).where(Person.phone == phone)) if is_mobile(phone) else None
    ok = security.verify_password(person.password_hash if person else None, password)
    if person is None or not ok or not person.is_active:
        if limits is not None:
            limits.failed(phone)
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


def volunteer_no_for(person_id: int) -> str:
    """志愿者编号: "V" + the id, zero-padded to 8 digits. Community-independent, stable, never reused."""
    return f"V{person_id:08d}"


def _duplicate(session: Session, phone: str, id_hash: str | None) -> Conflict:
    """Which unique key a refused insert hit: the ID number first (it names the person), then the phone."""
    if id_hash and session.scalar(select(Person.id).where(Person.id_number_hash == id_hash)) is not None:
        return Conflict("id_number_taken")
    if session.scalar(select(Person.id).where(Person.phone == phone)) is not None:
        return Conflict("phone_taken")
    return Conflict("person_exists")


def register(session: Session, actor: Actor | None, *, name: str, phone: str, password: str | None,
             home_org_id: int | None, id_number: str | None = None, id_number_key: str = "") -> Person:
    """Register a resident. An admin registers within their scope; every person is a volunteer there. The same
    phone or ID number twice — even from two requests at once — is refused on the UNIQUE keys (409), inside a
    SAVEPOINT so the caller's transaction stays usable."""
    home = orgs.get(session, home_org_id) if home_org_id else None
    if actor is not None:
        if home is None:
            raise InvalidInput("home_org_required")
        actor.require_on(ADMIN_ROLES | {Role.grid_worker}, home.path)
    phone = normalise_phone(phone)
    if id_number:  # checked the same way wherever a number comes in (admin, sign-up, import)
        id_number = id_numbers.check(id_number, today=utcnow().date())
    id_hash = security.id_number_hash(id_number_key, id_number) if id_number else None
    if session.scalar(select(Person.id).where(Person.phone == phone)) is not None:
        raise Conflict("phone_taken")
    if id_hash and session.scalar(select(Person.id).where(Person.id_number_hash == id_hash)) is not None:
        raise Conflict("id_number_taken")
    person = Person(name=name, phone=phone, password_hash=security.hash_password(password) if password else None,
                    home_org_id=home.id if home else None, id_number_hash=id_hash)
    try:
        with session.begin_nested():
            session.add(person)
    except IntegrityError as exc:  # a twin request won the insert
        raise _duplicate(session, phone, id_hash) from exc
    person.volunteer_no = volunteer_no_for(person.id)
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



def actor_names(session: Session, actor_labels: Iterable[str]) -> dict[str, str]:
    """What people read for the actors recorded as "person:12", "merchant:3", "employer:1" or "system": the
    person's, merchant's or unit's name (never the internal id)."""
    from timebank.people.models import Employer, Merchant

    wanted: dict[str, set[int]] = {"person": set(), "merchant": set(), "employer": set()}
    for text in set(actor_labels):
        kind, _, ident = (text or "").partition(":")
        if kind in wanted and ident.isdigit():
            wanted[kind].add(int(ident))
    names: dict[str, str] = {}
    for kind, model in (("person", Person), ("merchant", Merchant), ("employer", Employer)):
        if wanted[kind]:
            for ident, name in session.execute(select(model.id, model.name).where(model.id.in_(wanted[kind]))):
                names[f"{kind}:{ident}"] = name
    for text in actor_labels:
        if text not in names:
            kind = (text or "").partition(":")[0]
            names[text] = {"system": "系统", "cron": "系统定时任务", "schedule": "系统定时任务",
                           "person": "已注销的人员", "merchant": "商户", "employer": "单位"}.get(kind, "系统")
    return names


# --- ending sessions ------------------------------------------------------------------------------------------
# Bearer tokens and page sessions carry the person's `token_version`; raising it ends every one of them at once
# (their next request is a 401 / the login page). That is how logout, a password change and a deactivation take
# effect on every device, a copied cookie or token included.

MIN_PASSWORD_LENGTH = 8


def _end_sessions(person: Person) -> None:
    person.token_version = (person.token_version or 0) + 1


def set_new_password(session: Session, person: Person, new: str) -> Person:
    """A new password without the current one (the caller proved the phone another way, e.g. by a one-time code);
    every session of the person ends."""
    if not (MIN_PASSWORD_LENGTH <= len(new) <= 200):
        raise InvalidInput("password_length", min_length=MIN_PASSWORD_LENGTH)
    person.password_hash = security.hash_password(new)
    _end_sessions(person)
    session.flush()
    return person


def log_out_everywhere(session: Session, actor: Actor) -> Person:
    """退出: the caller's tokens and page sessions, on every device, stop working."""
    person = get(session, actor.person_id or 0)
    _end_sessions(person)
    audit.record(session, actor, "person.logout", "person", person.id,
                 org_path=person.home_org.path if person.home_org else None)
    session.flush()
    return person


def change_password(session: Session, actor: Actor, *, current: str, new: str,
                    limits: LoginLimits | None = None) -> Person:
    """A new password, given the current one (braked like a login); every other session ends."""
    person = get(session, actor.person_id or 0)
    authenticate(session, person.phone, current, limits)
    if not (MIN_PASSWORD_LENGTH <= len(new) <= 200):
        raise InvalidInput("password_length", min_length=MIN_PASSWORD_LENGTH)
    if new == current:
        raise InvalidInput("password_unchanged")
    person.password_hash = security.hash_password(new)
    _end_sessions(person)
    audit.record(session, actor, "person.password_change", "person", person.id,
                 org_path=person.home_org.path if person.home_org else None)
    session.flush()
    return person


def set_active(session: Session, actor: Actor, person_id: int, *, active: bool, reason: str | None = None) -> Person:
    """An admin deactivates a person in their scope (every session ends, no login works) or reactivates them."""
    person = get(session, person_id)
    if person.home_org is None:
        raise Forbidden("out_of_scope", variant="person")
    actor.require_on(ADMIN_ROLES, person.home_org.path)
    if person.id == actor.person_id:
        raise Conflict("cannot_deactivate_self")
    if person.is_active != active:
        before = {"is_active": person.is_active}
        person.is_active = active
        if not active:
            _end_sessions(person)
        audit.record(session, actor, "person.activate" if active else "person.deactivate", "person", person.id,
                     org_path=person.home_org.path, before=before, after={"is_active": active, "reason": reason})
    session.flush()
    return person


def find_in_scope(session: Session, actor: Actor, phone: str) -> Person | None:
    """An admin's lookup by phone: the person, if their home lies in the admin's read scope; else None (whether the
    number exists elsewhere is not the admin's to learn)."""
    person = session.scalar(select(Person).where(Person.phone == phone.strip()))
    if person is None or person.home_org is None or not actor.has_role_on(READ_ROLES, person.home_org.path):
        return None
    return person
