"""Employers (工作单位) and merchants (爱心商户): registration, API keys, and what each may see."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from timebank.db_base import utcnow
from timebank.errors import Conflict, InvalidInput, get_or_404
from timebank.ops import audit
from timebank.people import credit_code, orgs, security
from timebank.people.access import ADMIN_ROLES, READ_ROLES, Actor
from timebank.people.models import ApiKey, ApiKeyOwner, Employer, Merchant, MerchantStatus, PartyMember, Person, Role

STREET_OR_ABOVE = {Role.street_admin, Role.district_admin}


def _check_code(code: str) -> str:
    code = code.strip().upper()
    if not credit_code.is_valid(code):
        raise InvalidInput("invalid_credit_code")
    return code


def create_employer(session: Session, actor: Actor, *, name: str, credit_code_value: str, org_id: int,
                    contact_name: str | None = None, contact_email: str | None = None) -> Employer:
    org = orgs.get(session, org_id)
    actor.require_on(STREET_OR_ABOVE, org.path)
    code = _check_code(credit_code_value)
    if session.scalar(select(Employer.id).where(Employer.credit_code == code)):
        raise Conflict("employer_exists")
    employer = Employer(name=name, credit_code=code, org_id=org.id, contact_name=contact_name,
                        contact_email=contact_email)
    session.add(employer)
    session.flush()
    audit.record(session, actor, "employer.create", "employer", employer.id, org_path=org.path,
                 after={"name": name, "credit_code": code})
    return employer


def get_employer(session: Session, actor: Actor, employer_id: int) -> Employer:
    """Admins and auditors read employers registered in their scope; an employer reads itself."""
    employer = get_or_404(session, Employer, employer_id, "employer_not_found")
    if employer_id in actor.employer_ids():
        return employer
    actor.require_on(READ_ROLES, employer.org.path)
    return employer


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
    org = orgs.get(session, org_id)
    actor.require_on(ADMIN_ROLES, org.path)
    code = _check_code(credit_code_value)
    if session.scalar(select(Merchant.id).where(Merchant.credit_code == code)):
        raise Conflict("merchant_exists")
    merchant = Merchant(name=name, credit_code=code, org_id=org.id, contact_name=contact_name,
                        contact_phone=contact_phone)
    session.add(merchant)
    session.flush()
    audit.record(session, actor, "merchant.create", "merchant", merchant.id, org_path=org.path,
                 after={"name": name, "credit_code": code})
    return merchant


def get_merchant(session: Session, actor: Actor, merchant_id: int) -> Merchant:
    merchant = get_or_404(session, Merchant, merchant_id, "merchant_not_found")
    if merchant_id in actor.merchant_ids():
        return merchant
    actor.require_on(READ_ROLES, merchant.org.path)
    return merchant


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


def revoke_api_key(session: Session, actor: Actor, key_id: int) -> ApiKey:
    row = get_or_404(session, ApiKey, key_id, "api_key_not_found")
    owner = session.get(Merchant, row.merchant_id) if row.merchant_id else session.get(Employer, row.employer_id)
    actor.require_on(ADMIN_ROLES, owner.org.path)
    row.revoked_at = utcnow()
    audit.record(session, actor, "api_key.revoke", row.owner_kind.value, owner.id, org_path=owner.org.path,
                 after={"prefix": row.prefix})
    return row
