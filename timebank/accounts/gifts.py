"""Gifts (赠与): a volunteer gives points to another volunteer (e.g. a relative) or to a community fund."""

from __future__ import annotations

from sqlalchemy.orm import Session

from timebank.accounts import notices
from timebank.errors import Forbidden, InvalidInput, NotFound
from timebank.ledger import Code, Ledger, OwnerKind, Transfer, account_for, transfer
from timebank.people import persons
from timebank.people.access import Actor
from timebank.people.models import Org, OrgKind, Person

MAX_NOTE = 200
MAX_NOTE_PAGE = 100  # the app's form: a line the recipient reads at a glance


def recipient_by_phone(session: Session, actor: Actor, phone: str | None) -> Person:
    """The volunteer a giver names by mobile number (what a giver knows of a relative, unlike an id)."""
    person = persons.by_phone(session, phone)
    if person is None:
        raise NotFound("person_not_found", variant="recipient")
    if person.id == actor.person_id:
        raise InvalidInput("gift_to_self")
    return person


def give(session: Session, actor: Actor, *, key: str, amount: int, to_person_id: int | None = None,
         to_community_id: int | None = None, to_phone: str | None = None, note: str | None = None) -> Transfer:
    """Move `amount` points from the actor's points account to the recipient's (flush only).

    The recipient is a volunteer (by mobile number, or by id) or a community fund. The ledger's key is
    `gift:<person id>:<client key>`: a repeat returns the first gift; a different gift under the same key is a
    409. Overdraft is refused by the ledger (insufficient_funds). The giver and the note travel in the
    transfer's metadata, so the recipient's history can say who gave and why (`label`).
    """
    if actor.person_id is None:
        raise Forbidden("not_a_person", variant="gift")
    if sum(x is not None for x in (to_person_id, to_community_id, to_phone)) != 1:
        raise InvalidInput("one_recipient")
    if to_phone is not None:
        to_person_id = recipient_by_phone(session, actor, to_phone).id
    note = (note or "").strip() or None
    if note is not None and len(note) > MAX_NOTE:
        raise InvalidInput("gift_note_too_long", max_chars=MAX_NOTE)
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
        meta = {"to_person_id": recipient.id, "from_person_id": giver.id}
    else:
        org = session.get(Org, to_community_id)
        if org is None or org.kind != OrgKind.community:
            raise NotFound("community_not_found")
        target = account_for(session, owner_kind=OwnerKind.community_fund, owner_id=org.id, ledger=Ledger.points,
                             org_id=org.id)
        meta = {"to_community_id": org.id, "from_person_id": giver.id}
    if note:
        meta["note"] = note
    gift = transfer(session, key=f"gift:{giver.id}:{key}", debit_account_id=source.id,
                    credit_account_id=target.id, amount=amount, ledger=Ledger.points, code=Code.gift,
                    metadata=meta)
    if to_person_id is not None:
        notices.gift_received(session, gift, giver, to_person_id, note)
    return gift


def label(session: Session, transfer: Transfer, signed_amount: int) -> str | None:
    """How a gift reads in a volunteer's history: who gave it (or to whom it went) and the note; None for
    a transfer that is not a gift."""
    if transfer.code != Code.gift:
        return None
    meta = transfer.meta or {}
    note = meta.get("note")
    if signed_amount > 0:
        giver = session.get(Person, meta["from_person_id"]) if meta.get("from_person_id") else None
        text = f"{giver.name} 赠送" if giver is not None else "他人赠送"
    elif meta.get("to_person_id"):
        recipient = session.get(Person, meta["to_person_id"])
        text = f"赠给 {mask_name(recipient.name)}" if recipient is not None else "赠出"
    else:
        org = session.get(Org, meta.get("to_community_id")) if meta.get("to_community_id") else None
        text = f"赠给{org.name}爱心基金" if org is not None else "赠给社区爱心基金"
    return f"{text}：“{note}”" if note else text


def mask_name(name: str) -> str:
    """What a giver sees of the recipient: the family name."""
    return (name[:1] + "*" * max(len(name) - 1, 1)) if name else "*"


def _community_id(session: Session, person: Person) -> int | None:
    from timebank.people import orgs

    if person.home_org is None:
        return None
    try:
        return orgs.community_of(session, person.home_org).id
    except InvalidInput:
        return None
