"""Self-registration with a real name (实名注册) and the join request a community decides.

A person signs up with their phone (proved by a one-time code), name, 居民身份证号 (checked, then only its keyed
hash kept), a password and the community where they live. That makes a person with a volunteer number but no home
community, and a pending join request. The community's admin approves it (the person's home becomes the
community, where they are a volunteer) or refuses it with a reason; a community whose setting `auto_approve_join`
is true approves at once. Until approved, the person can log in and read their request, but not claim tasks
(`hours.claims` asks for a home community).

The code check counts a wrong try even though it fails, so `sign_up` hands a refusal back instead of raising it
(`SignUp.refusal`): the translator commits, then raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from timebank.db_base import utcnow
from timebank.errors import Conflict, Forbidden, InvalidInput, TimebankError, get_or_404
from timebank.joining import notices
from timebank.joining.models import JoinRequest, JoinStatus
from timebank.notify import codes
from timebank.ops import audit
from timebank.people import id_numbers, orgs
from timebank.people import persons as people
from timebank.people.access import ADMIN_ROLES, READ_ROLES, SYSTEM, Actor
from timebank.people.models import Org, OrgKind, Person, Role, RoleGrant

AUTO_APPROVE = "auto_approve_join"  # community setting (Org.settings), inherited down the tree
SIGNUP = "signup"  # the one-time code's purpose
REASON_MAX = 200


@dataclass(frozen=True)
class SignUp:
    person: Person | None = None
    join_request: JoinRequest | None = None
    refusal: TimebankError | None = None  # a wrong code: commit (the try counts), then raise this


def community(session: Session, community_id: int) -> Org:
    org = orgs.get(session, community_id)
    if org.kind != OrgKind.community:
        raise InvalidInput("not_a_community")
    return org


def sign_up(session: Session, *, phone: str, code: str, name: str, id_number: str, community_id: int,
            password: str, id_number_key: str, today: date | None = None) -> SignUp:
    """Register oneself and ask to join a community. Everything that needs no secret is checked before the code
    (a typo does not burn it); whether the phone or ID number is already registered only after it (nobody learns
    that without the phone in hand)."""
    phone = people.normalise_phone(phone)
    if not people.is_mobile(phone):
        raise InvalidInput("phone_invalid")
    name = " ".join((name or "").split())
    if not 1 <= len(name) <= 60:
        raise InvalidInput("name_required")
    number = id_numbers.check(id_number, today=today or utcnow().date())
    home = community(session, community_id)
    if not people.MIN_PASSWORD_LENGTH <= len(password or "") <= 200:
        raise InvalidInput("password_length", min_length=people.MIN_PASSWORD_LENGTH)
    check = codes.check_code(session, phone, SIGNUP, code)
    if not check.ok:
        return SignUp(refusal=check.refusal)
    person = people.register(session, None, name=name, phone=phone, password=password, home_org_id=None,
                             id_number=number, id_number_key=id_number_key)
    me = Actor(kind="person", id=person.id)
    audit.record(session, me, "person.sign_up", "person", person.id, org_path=home.path,
                 after={"name": name, "phone": people.mask_phone(phone), "volunteer_no": person.volunteer_no})
    return SignUp(person=person, join_request=ask_to_join(session, me, home.id))


def ask_to_join(session: Session, actor: Actor, community_id: int) -> JoinRequest:
    """A person without a home community asks to join one (again, after a refusal)."""
    person = people.get(session, actor.person_id or 0)
    home = community(session, community_id)
    if person.home_org_id is not None:
        raise Conflict("already_joined")
    row = JoinRequest(person_id=person.id, community_id=home.id, community_path=home.path,
                      status=JoinStatus.pending)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError as exc:  # the partial UNIQUE index: a pending request exists
        if session.scalar(select(JoinRequest.id).where(JoinRequest.person_id == person.id,
                                                      JoinRequest.status == JoinStatus.pending)) is None:
            raise
        raise Conflict("join_request_pending") from exc
    audit.record(session, actor, "join_request.submit", "join_request", row.id, org_path=home.path,
                 after={"community_id": home.id})
    if auto_approves(session, home):
        _approve(session, SYSTEM, row)
    session.flush()
    return row


def auto_approves(session: Session, home: Org) -> bool:
    """The community's `auto_approve_join` setting (inherited down the tree; off unless set to true)."""
    return orgs.setting(session, home, AUTO_APPROVE, False) is True


def approve_automatically(session: Session, row: JoinRequest) -> None:
    """A request to a community that approves at once (sign-up, or an employer's import)."""
    _approve(session, SYSTEM, row)


def get(session: Session, request_id: int) -> JoinRequest:
    return get_or_404(session, JoinRequest, request_id, "join_request_not_found")


def get_visible(session: Session, actor: Actor, request_id: int) -> JoinRequest:
    """The person's own, or a request to a community the actor administers or audits."""
    row = get(session, request_id)
    if actor.person_id == row.person_id:
        return row
    if not actor.has_role_on(READ_ROLES, row.community_path):
        raise Forbidden("out_of_scope", variant="join_request")
    return row


def _approve(session: Session, actor: Actor, row: JoinRequest) -> None:
    person = people.get(session, row.person_id)
    row.status, row.decided_by_id, row.decided_at = JoinStatus.approved, actor.person_id, utcnow()
    person.home_org_id = row.community_id
    if session.scalar(select(RoleGrant.id).where(RoleGrant.person_id == person.id, RoleGrant.role == Role.volunteer,
                                                 RoleGrant.org_id == row.community_id)) is None:
        session.add(RoleGrant(person_id=person.id, role=Role.volunteer, org_id=row.community_id,
                              granted_by_id=actor.person_id))
    session.flush()
    audit.record(session, actor, "join_request.approve", "join_request", row.id, org_path=row.community_path,
                 after={"person_id": person.id, "community_id": row.community_id})
    notices.join_decided(session, row)


def _pending(session: Session, actor: Actor, request_id: int) -> JoinRequest:
    row = get(session, request_id)
    actor.require_on(ADMIN_ROLES, row.community_path)
    # Lock the row: two admins deciding at once must not both act.
    session.refresh(row, with_for_update=True)
    if row.status != JoinStatus.pending:
        raise Conflict("join_request_decided")
    return row


def approve(session: Session, actor: Actor, request_id: int) -> JoinRequest:
    """The community accepts the person: their home becomes the community, where they are a volunteer."""
    row = _pending(session, actor, request_id)
    _approve(session, actor, row)
    return row


def refuse(session: Session, actor: Actor, request_id: int, *, reason: str) -> JoinRequest:
    """The community refuses, with a reason the person reads; they may ask again (elsewhere, or later)."""
    reason = " ".join((reason or "").split())
    if not 1 <= len(reason) <= REASON_MAX:
        raise InvalidInput("refusal_reason_required", max_length=REASON_MAX)
    row = _pending(session, actor, request_id)
    row.status, row.decided_by_id, row.decided_at, row.reason = JoinStatus.refused, actor.person_id, utcnow(), reason
    session.flush()
    audit.record(session, actor, "join_request.refuse", "join_request", row.id, org_path=row.community_path,
                 after={"person_id": row.person_id, "reason": reason})
    notices.join_decided(session, row)
    return row


def mine(session: Session, actor: Actor) -> list[JoinRequest]:
    """The caller's own requests, newest first."""
    if actor.person_id is None:
        raise Forbidden("people_only")
    return list(session.scalars(select(JoinRequest).where(JoinRequest.person_id == actor.person_id)
                                .order_by(JoinRequest.id.desc())))


def community_query(actor: Actor, org: Org, status: JoinStatus | None):
    """Requests to communities in an org's subtree, for its admins and auditors."""
    actor.require_on(READ_ROLES, org.path)
    stmt = select(JoinRequest).where(JoinRequest.community_path.startswith(org.path, autoescape=True))
    if status is not None:
        stmt = stmt.where(JoinRequest.status == status)
    return stmt


def community_tree(session: Session) -> list[Org]:
    """Districts, streets and communities — what an anonymous person picks their community from. Names only."""
    kinds = (OrgKind.district, OrgKind.street, OrgKind.community)
    return list(session.scalars(select(Org).where(Org.kind.in_(kinds)).order_by(Org.path)))
