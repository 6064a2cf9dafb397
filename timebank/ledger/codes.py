"""The ledger's enums. `Code` is append-only: a number, once used, keeps its meaning forever."""

from __future__ import annotations

import enum


class Ledger(enum.StrEnum):
    """A unit of value; transfers never cross ledgers (TigerBeetle's `ledger`)."""

    minutes = "minutes"  # verified service time: permanent, never spent
    points = "points"  # spendable credits earned by verified service


class Code(enum.IntEnum):
    """Why a transfer happened. Append-only: add new numbers at the end, never renumber."""

    credit = 1
    reversal = 2
    hold = 3
    capture = 4
    release = 5
    gift = 6
    expiry = 7
    adjustment = 8
    settlement = 9
    recovery = 10  # points owed after an upheld complaint, repaid from what the volunteer receives next


class OwnerKind(enum.StrEnum):
    volunteer = "volunteer"  # owner_id = person.id
    issuer = "issuer"  # a community's issuing account; owner_id = community org id
    community_fund = "community_fund"  # owner_id = community org id
    merchant = "merchant"  # owner_id = merchant.id
    expiry_sink = "expiry_sink"  # where expired points go; owner_id = community org id
    clearing = "clearing"  # settlement clearing; owner_id = community org id (or 0)
    # What a volunteer owes back (owner_id = person.id): debited when an upheld complaint reverses more points than
    # are left to take, credited as the debt is repaid; its credits can never exceed its debits.
    recovery = "recovery"


class Phase(enum.StrEnum):
    """A transfer row's effect on balances (TigerBeetle's pending / post_pending / void_pending flags)."""

    posted = "posted"  # moves value now (plain transfers and captures)
    pending = "pending"  # a hold: reserves value until captured, released or timed out
    voided = "voided"  # a release: the hold's reservation ends, nothing moves


class AccountFlag(enum.IntFlag):
    """Account flags, checked by CHECK constraints in the database (see models.Account)."""

    none = 0
    debits_must_not_exceed_credits = 1
    credits_must_not_exceed_debits = 2


LIMIT_FLAGS = AccountFlag.debits_must_not_exceed_credits | AccountFlag.credits_must_not_exceed_debits

# Accounts whose owners hold value of their own; these are opened with a balance limit.
LIMITED_OWNERS = {OwnerKind.volunteer, OwnerKind.merchant, OwnerKind.community_fund}
DEBIT_BALANCE_OWNERS = {OwnerKind.recovery}


def flags_for(kind: OwnerKind | str) -> AccountFlag:
    """Spendable accounts may not go below zero; a recovery account may not be repaid beyond what is owed."""
    if kind in LIMITED_OWNERS:
        return AccountFlag.debits_must_not_exceed_credits
    if kind in DEBIT_BALANCE_OWNERS:
        return AccountFlag.credits_must_not_exceed_debits
    return AccountFlag.none
