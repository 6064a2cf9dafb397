"""Data for the page tests, built through the services the app uses: a merchant that serves communities, its
rewards, people with logins and roles, and points credited from the community's issuer through the ledger."""

from __future__ import annotations

import itertools

from timebank import ledger
from timebank.people import credit_code, partners
from timebank.people import persons as people
from timebank.people.access import SYSTEM
from timebank.people.models import Person, Role
from timebank.redemption import rewards

PASSWORD = "browser-pass-1"
_codes = itertools.count(5000)
_credits = itertools.count(1)


def person(session, name: str, phone: str, home, role: Role | None = None, **target) -> Person:
    """A person who can log in; `role` with `org_id=` / `merchant_id=` grants it."""
    p = people.register(session, None, name=name, phone=phone, password=PASSWORD, home_org_id=home.id)
    if role is not None:
        people.grant(session, None, p, role, **target)
    session.commit()
    return p


def merchant(session, name: str, org, communities):
    """A merchant registered on `org`, serving `communities`."""
    m = partners.create_merchant(session, SYSTEM, name=name, org_id=org.id,
                                 credit_code_value=credit_code.make(f"9233010{next(_codes):010d}"))
    rewards.set_profile(session, SYSTEM, m.id, webhook_url=None, community_ids=[c.id for c in communities])
    session.commit()
    return m


def reward(session, shop, name: str, price: int, communities, stock: int | None = 5):
    r = rewards.create_reward(session, SYSTEM, merchant_id=shop.id, name=name, points_price=price, stock=stock,
                              community_ids=[c.id for c in communities])
    session.commit()
    return r


def give_points(session, who: Person, amount: int) -> None:
    """Credit points the way a verified attendance does: issuer -> volunteer on the points ledger."""
    community = rewards.volunteer_community(session, who.id)
    issuer = ledger.account_for(session, owner_kind=ledger.OwnerKind.issuer, owner_id=community.id,
                                ledger=ledger.Ledger.points, org_id=community.id)
    account = rewards.volunteer_account(session, who.id, community.id)
    ledger.transfer(session, key=f"test:page-credit:{who.id}:{next(_credits)}", debit_account_id=issuer.id,
                    credit_account_id=account.id, amount=amount, ledger=ledger.Ledger.points,
                    code=ledger.Code.credit)
    session.commit()


def points(session, who: Person) -> ledger.Balance:
    """The volunteer's points balance as the ledger computes it (the read is ended at once)."""
    try:
        account = rewards.volunteer_account(session, who.id)
        return ledger.balance(session, account.id)
    finally:
        session.rollback()
