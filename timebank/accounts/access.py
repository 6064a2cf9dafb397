"""Who may read or adjust which ledger accounts. Plain functions over a session and an `Actor` (no Flask).

* a volunteer reads their own accounts;
* admins (community / street / district) read accounts of people homed inside their subtree, and of the
  communities (issuer, fund, sink) and merchants inside it; auditors the same within their grant's subtree;
* merchant staff and merchant API keys read their merchant's account only;
* adjustments need an admin role over the person's home.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from timebank.errors import Forbidden, InvalidInput, get_or_404
from timebank.ledger.codes import Code, Ledger, OwnerKind
from timebank.ledger.models import Account, Transfer
from timebank.ledger.post import account_for, transfer
from timebank.ops import audit
from timebank.people import persons as people
from timebank.people.access import ADMIN_ROLES, READ_ROLES, Actor
from timebank.people.models import Merchant, Org, Role

RECONCILIATION_ROLES = frozenset({Role.auditor, Role.district_admin})


def require_account_readable(session: Session, actor: Actor, account_id: int) -> Account:
    account = get_or_404(session, Account, account_id, "account_not_found")
    kind = OwnerKind(account.owner_kind)
    if kind == OwnerKind.volunteer:
        people.get_visible(session, actor, account.owner_id)
    elif kind == OwnerKind.merchant:
        merchant = session.get(Merchant, account.owner_id)
        if account.owner_id not in actor.merchant_ids() and not (
                merchant is not None and actor.has_role_on(READ_ROLES, merchant.org.path)):
            raise Forbidden("out_of_scope", variant="merchant_account")
    else:
        org = session.get(Org, account.owner_id)
        if org is None or not actor.has_role_on(READ_ROLES, org.path):
            raise Forbidden("out_of_scope", variant="community_account")
    return account


def require_reconciliation_reader(actor: Actor) -> None:
    if not any(g.role in RECONCILIATION_ROLES for g in actor.grants):
        raise Forbidden("out_of_scope", variant="auditor_only")


def adjust(session: Session, actor: Actor, *, key: str, person_id: int, ledger: Ledger, amount: int,
           reason: str) -> Transfer:
    """An admin's correction of a volunteer's balance: + credits from, - debits to the community's issuer.

    Audited; keyed by the admin's Idempotency-Key. Refused outside the admin's scope.
    """
    from timebank.people import orgs

    p = people.get(session, person_id)
    if p.home_org is None:
        raise InvalidInput("not_in_community")
    actor.require_on(ADMIN_ROLES, p.home_org.path)
    if not isinstance(amount, int) or isinstance(amount, bool) or amount == 0:
        raise InvalidInput("invalid_amount", variant="adjustment")
    community = orgs.community_of(session, p.home_org)
    issuer = account_for(session, owner_kind=OwnerKind.issuer, owner_id=community.id, ledger=ledger,
                         org_id=community.id)
    own = account_for(session, owner_kind=OwnerKind.volunteer, owner_id=p.id, ledger=ledger, org_id=community.id)
    debit, credit = (issuer.id, own.id) if amount > 0 else (own.id, issuer.id)
    t = transfer(session, key=f"adjustment:{actor.label}:{key}", debit_account_id=debit, credit_account_id=credit,
                 amount=abs(amount), ledger=ledger, code=Code.adjustment,
                 metadata={"reason": reason, "by": actor.label, "person_id": p.id})
    audit.record(session, actor, "ledger.adjust", "ledger_transfer", t.id, org_path=p.home_org.path,
                 after={"person_id": p.id, "ledger": str(ledger), "amount": amount, "reason": reason})
    return t
