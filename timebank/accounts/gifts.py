"""Gifts (赠与): a volunteer gives points to another volunteer (e.g. a relative) or to a community fund."""

from __future__ import annotations

from sqlalchemy.orm import Session

from timebank.accounts import notices
from timebank.errors import Forbidden, InvalidInput, NotFound
from timebank.ledger import Code, Ledger, OwnerKind, Transfer, account_for, transfer
from timebank.people.access import Actor
from timebank.people.models import Org, OrgKind, Person


def give(session: Session, actor: Actor, *, key: str, amount: int, to_person_id: int | None = None,
         to_community_id: int | None = None, note: str | None = None) -> Transfer:
    """Move `amount` points from the actor's points account to the recipient's (flush only).

    The ledger's key is `gift:<person id>:<client key>`: a repeat returns the first gift; a different gift
    under the same key is a 409. Overdraft is refused by the ledger (insufficient_funds).
    """
    if actor.person_id is None:
        raise Forbidden("not_a_person", variant="gift")
    if (to_person_id is None) == (to_community_id is None):
        raise InvalidInput("one_recipient")
    giver = session.get(Person, actor.person_id)
    community_id = _community_id(session, giver)
    source = account_for(session, owner_kind=OwnerKind.volunteer, owner_id=giver.id, ledger=Ledger.points,
                         org_id=community_id)
    if to_person_id is not None:
        if to_person_id == giver.id:
            raise InvalidInput("gift_to_self")
        recipient = session.get(Person, to_person_id)
        if recipient is None or not recipient.is_active:
            raise NotFound("person_not_found", variant="recipient")
        target = account_for(session, owner_kind=OwnerKind.volunteer, owner_id=recipient.id,
                             ledger=Ledger.points, org_id=_community_id(session, recipient))
        meta = {"to_person_id": recipient.id}
    else:
        org = session.get(Org, to_community_id)
        if org is None or org.kind != OrgKind.community:
            raise NotFound("community_not_found")
        target = account_for(session, owner_kind=OwnerKind.community_fund, owner_id=org.id, ledger=Ledger.points,
                             org_id=org.id)
        meta = {"to_community_id": org.id}
    if note:
        meta["note"] = note
    gift = transfer(session, key=f"gift:{giver.id}:{key}", debit_account_id=source.id,
                    credit_account_id=target.id, amount=amount, ledger=Ledger.points, code=Code.gift,
                    metadata=meta)
    if to_person_id is not None:
        notices.gift_received(session, gift, giver, to_person_id, note)
    return gift


def _community_id(session: Session, person: Person) -> int | None:
    from timebank.people import orgs

    if person.home_org is None:
        return None
    try:
        return orgs.community_of(session, person.home_org).id
    except InvalidInput:
        return None
