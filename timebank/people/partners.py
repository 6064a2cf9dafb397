"""Employers (工作单位) and merchants (爱心商户): registration, API keys, and what each may see."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from timebank.db_base import utcnow
from timebank.errors import Conflict, InvalidInput, NotFound
from timebank.ops import audit
from timebank.people import credit_code, orgs, security
from timebank.people.access import ADMIN_ROLES, READ_ROLES, Actor, org_scope_clause
from timebank.people.models import (
    ApiKey,
    ApiKeyOwner,
    Employer,
    Merchant,
    MerchantStatus,
    Org,
    PartyMember,
    Person,
    Role,
)

STREET_OR_ABOVE = {Role.street_admin, Role.district_admin}


def _check_code(code: str) -> str:
    code = code.strip().upper()
    if not credit_code.is_valid(code):
        raise InvalidInput("invalid_credit_code")
    return code


# Each kind's refusals, spelled out so the message table can be checked against every code raised.
_EXISTS = {Employer: lambda: Conflict("employer_exists"), Merchant: lambda: Conflict("merchant_exists")}
_NOT_FOUND = {Employer: lambda: NotFound("employer_not_found"), Merchant: lambda: NotFound("merchant_not_found")}


def _register(session: Session, actor: Actor, model: type[Employer] | type[Merchant], *, roles, name: str,
              credit_code_value: str, org_id: int, **contact) -> Employer | Merchant:
    """An outside party registered on `org_id` by an admin holding one of `roles` there; audited.
    Its 统一社会信用代码 is checked and unique among its kind."""
    kind = model.__tablename__
    org = orgs.get(session, org_id)
    actor.require_on(roles, org.path)
    code = _check_code(credit_code_value)
    if session.scalar(select(model.id).where(model.credit_code == code)):
        raise _EXISTS[model]()
    party = model(name=name, credit_code=code, org_id=org.id, **contact)
    session.add(party)
    session.flush()
    audit.record(session, actor, f"{kind}.create", kind, party.id, org_path=org.path,
                 after={"name": name, "credit_code": code})
    return party


def _get(session: Session, actor: Actor, model: type[Employer] | type[Merchant], party_id: int,
         own_ids: set[int]) -> Employer | Merchant:
    """Admins and auditors read parties registered in their scope; a party reads itself."""
    party = session.get(model, party_id)
    if party is None:
        raise _NOT_FOUND[model]()
    if party_id in own_ids:
        return party
    actor.require_on(READ_ROLES, party.org.path)
    return party


def visible(actor: Actor, model: type[Employer] | type[Merchant]) -> Select:
    """The parties of one kind registered inside the actor's read scope, as a statement to page through."""
    return select(model).join(Org, Org.id == model.org_id).where(org_scope_clause(actor, READ_ROLES, Org.path))


def create_employer(session: Session, actor: Actor, *, name: str, credit_code_value: str, org_id: int,
                    contact_name: str | None = None, contact_email: str | None = None) -> Employer:
    return _register(session, actor, Employer, roles=STREET_OR_ABOVE, name=name, credit_code_value=credit_code_value,
                     org_id=org_id, contact_name=contact_name, contact_email=contact_email)


def get_employer(session: Session, actor: Actor, employer_id: int) -> Employer:
    return _get(session, actor, Employer, employer_id, set(actor.employer_ids()))


def employer_members(session: Session, actor: Actor, employer_id: int) -> list[tuple[PartyMember, Person]]:
    """The employer's own party members, and nothing of anyone else's."""
    actor.require_employer(employer_id)
    rows = session.execute(
        select(PartyMember, Person).join(Person, Person.id == PartyMember.person_id)
        .where(PartyMember.employer_id == employer_id).order_by(Person.id)
    ).all()
    return [(m, p) for m, p in rows]


def create_merchant(session: Session, actor: Actor, *, name: str, credit_code_value: str, org_id: int,
                    contact_name: str | None = None, contact_phone: str | None = None) -> Merchant:
    return _register(session, actor, Merchant, roles=ADMIN_ROLES, name=name, credit_code_value=credit_code_value,
                     org_id=org_id, contact_name=contact_name, contact_phone=contact_phone)


def get_merchant(session: Session, actor: Actor, merchant_id: int) -> Merchant:
    return _get(session, actor, Merchant, merchant_id, set(actor.merchant_ids()))


def set_merchant_status(session: Session, actor: Actor, merchant_id: int, status: MerchantStatus) -> Merchant:
    merchant = get_merchant(session, actor, merchant_id)
    actor.require_on(ADMIN_ROLES, merchant.org.path)
    before = {"status": str(merchant.status)}
    merchant.status = status
    audit.record(session, actor, "merchant.status", "merchant", merchant.id, org_path=merchant.org.path,
                 before=before, after={"status": str(status)})
    return merchant


def issue_api_key(session: Session, actor: Actor, *, merchant_id: int | None = None,
                  employer_id: int | None = None, label: str | None = None) -> tuple[ApiKey, str]:
    """A new key for a merchant or employer, returned in full exactly once."""
    if merchant_id is not None:
        owner = get_merchant(session, actor, merchant_id)
        kind = ApiKeyOwner.merchant
    else:
        owner = get_employer(session, actor, employer_id)
        kind = ApiKeyOwner.employer
    actor.require_on(ADMIN_ROLES, owner.org.path)
    full, prefix, digest = security.new_api_key()
    row = ApiKey(prefix=prefix, key_hash=digest, owner_kind=kind, merchant_id=merchant_id,
                 employer_id=employer_id, label=label)
    session.add(row)
    session.flush()
    audit.record(session, actor, "api_key.issue", kind.value, owner.id, org_path=owner.org.path,
                 after={"prefix": prefix, "label": label})
    return row, full


def _key_owner(session: Session, actor: Actor, merchant_id: int | None, employer_id: int | None):
    if merchant_id is not None:
        owner = get_merchant(session, actor, merchant_id)
    else:
        owner = get_employer(session, actor, employer_id)
    actor.require_on(ADMIN_ROLES, owner.org.path)
    return owner


def api_keys(session: Session, actor: Actor, *, merchant_id: int | None = None,
             employer_id: int | None = None) -> list[ApiKey]:
    """A merchant's or employer's keys, newest first: prefixes and labels only, never the secret."""
    _key_owner(session, actor, merchant_id, employer_id)
    owner_col = ApiKey.merchant_id if merchant_id is not None else ApiKey.employer_id
    return list(session.scalars(select(ApiKey).where(owner_col == (merchant_id if merchant_id is not None
                                                                    else employer_id))
                                .order_by(ApiKey.id.desc())))


def revoke_api_key(session: Session, actor: Actor, key_id: int, *, merchant_id: int | None = None,
                   employer_id: int | None = None) -> ApiKey:
    """Revoke one key of that owner at once; revoking it again is a no-op (the first time stands)."""
    owner = _key_owner(session, actor, merchant_id, employer_id)
    row = session.get(ApiKey, key_id)
    if row is None or (merchant_id is not None and row.merchant_id != merchant_id) or (
            merchant_id is None and row.employer_id != employer_id):
        raise NotFound("api_key_not_found")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(session, actor, "api_key.revoke", row.owner_kind.value, owner.id, org_path=owner.org.path,
                     after={"prefix": row.prefix})
    return row
