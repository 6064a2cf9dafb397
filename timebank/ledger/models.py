"""Ledger tables: accounts (with cached balances), transfers (the immutable journal), seals, reconciliation runs.

Modelled on TigerBeetle: one transfer row debits one account and credits another by the same positive
amount on the same ledger, so every ledger sums to zero by construction. What the database guarantees:

* `ledger_transfer` rows cannot be updated or deleted (triggers, see migration 0002_ledger);
* a transfer's accounts exist and sit on the transfer's ledger: composite foreign keys on (id, ledger) on
  SQLite; on PostgreSQL one statement-level trigger checks a whole INSERT's rows at once, and accounts are
  permanent (a trigger refuses DELETE and any change of an account's id or ledger), so no row lock is needed
  to keep an account from vanishing under a transfer;
* amounts are positive; debit and credit accounts differ; a hold has a timeout;
* a hold is resolved at most once (`pending_id` UNIQUE) and a transfer is reversed at most once
  (`corrects_id` UNIQUE);
* an account flagged "debits must not exceed credits" can never be overdrawn: a CHECK on its cached
  columns (posted debits + pending debits <= posted credits), so no code path, concurrent or not, can
  commit an overdraft.

Cached balances and the hot issuer: only accounts with a balance limit (volunteers, merchants, community
funds) keep cached balance columns, updated under a row lock in the transfer's transaction. Unlimited
accounts (a community's issuer, the expiry sink, clearing) keep their cached columns at zero (a CHECK says
so) and their balance is summed from the journal (indexed by account). Every credit in a community debits
its issuer: with a cached balance every credit would queue on that one row lock; without one, credits to
different volunteers proceed in parallel and do not lock the issuer row at all (on PostgreSQL the account
check is a trigger, not a foreign key's KEY SHARE lock; see above).
Nothing is lost: no limit can be breached on an unlimited account, so no up-to-date figure is needed to
decide a transfer, and reconciliation proves the journal sums to zero per ledger. bench/ledger_bench.py
measures it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from timebank.db_base import ENFORCED_BY_TRIGGER_ON_POSTGRESQL, Base, BigId, utcnow
from timebank.ledger.codes import AccountFlag, Code, Ledger, OwnerKind, Phase

Amount = BigInteger().with_variant(Integer(), "sqlite")


class Account(Base):
    __tablename__ = "ledger_account"
    __table_args__ = (
        UniqueConstraint("owner_kind", "owner_id", "ledger"),
        UniqueConstraint("id", "ledger", name="uq_ledger_account_id_ledger"),
        CheckConstraint("debits_posted >= 0 AND credits_posted >= 0 AND debits_pending >= 0 "
                        "AND credits_pending >= 0", name="non_negative"),
        CheckConstraint("(flags & 1) = 0 OR debits_posted + debits_pending <= credits_posted",
                        name="debits_within_credits"),
        CheckConstraint("(flags & 2) = 0 OR credits_posted + credits_pending <= debits_posted",
                        name="credits_within_debits"),
        CheckConstraint("(flags & 3) <> 0 OR (debits_posted = 0 AND credits_posted = 0 "
                        "AND debits_pending = 0 AND credits_pending = 0)", name="unlimited_uncached"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ledger: Mapped[str] = mapped_column(String(16))
    owner_kind: Mapped[str] = mapped_column(String(20))
    owner_id: Mapped[int] = mapped_column(BigInteger)
    # The community (or other org) the account belongs to, for scoping and expiry policy.
    org_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    flags: Mapped[int] = mapped_column(Integer, default=0)
    debits_posted: Mapped[int] = mapped_column(Amount, default=0)
    credits_posted: Mapped[int] = mapped_column(Amount, default=0)
    debits_pending: Mapped[int] = mapped_column(Amount, default=0)
    credits_pending: Mapped[int] = mapped_column(Amount, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def cached(self) -> bool:
        """Accounts with a balance limit keep cached balances; unlimited ones are summed from the journal."""
        return bool(self.flags & (AccountFlag.debits_must_not_exceed_credits
                                  | AccountFlag.credits_must_not_exceed_debits))

    @property
    def ledger_enum(self) -> Ledger:
        return Ledger(self.ledger)

    @property
    def owner(self) -> OwnerKind:
        return OwnerKind(self.owner_kind)


class Transfer(Base):
    __tablename__ = "ledger_transfer"
    __table_args__ = (
        # On PostgreSQL these two are one statement-level trigger instead (migration 0007_ledger_account_check):
        # a foreign key checks each row on its own and takes a KEY SHARE lock on the account row, which for a
        # batch of 1,000 cost more than inserting the rows, and put every credit's lock on the issuer's row.
        ForeignKeyConstraint(["debit_account_id", "ledger"], ["ledger_account.id", "ledger_account.ledger"],
                             name="fk_ledger_transfer_debit_account",
                             info={ENFORCED_BY_TRIGGER_ON_POSTGRESQL: True}),
        ForeignKeyConstraint(["credit_account_id", "ledger"], ["ledger_account.id", "ledger_account.ledger"],
                             name="fk_ledger_transfer_credit_account",
                             info={ENFORCED_BY_TRIGGER_ON_POSTGRESQL: True}),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("debit_account_id <> credit_account_id", name="distinct_accounts"),
        CheckConstraint("(phase = 'pending') = (timeout_at IS NOT NULL)", name="hold_has_timeout"),
        CheckConstraint("phase <> 'voided' OR pending_id IS NOT NULL", name="void_names_hold"),
        CheckConstraint("phase IN ('posted', 'pending', 'voided')", name="phase_known"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # The client's idempotency key (TigerBeetle's transfer id): a repeat returns this row.
    key: Mapped[str] = mapped_column(String(200), unique=True)
    ledger: Mapped[str] = mapped_column(String(16))
    debit_account_id: Mapped[int] = mapped_column(BigId)
    credit_account_id: Mapped[int] = mapped_column(BigId)
    amount: Mapped[int] = mapped_column(Amount)
    code: Mapped[int] = mapped_column(SmallInteger)
    phase: Mapped[str] = mapped_column(String(8), default=Phase.posted)
    # A capture or release names its hold; UNIQUE: a hold ends exactly once.
    pending_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transfer.id"), unique=True)
    # A reversal names what it corrects; UNIQUE: a transfer is reversed at most once.
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transfer.id"), unique=True)
    timeout_at: Mapped[datetime | None] = mapped_column()
    meta: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # SHA-256 of the row's own fields (see chain.row_hash); seals chain these hashes together.
    row_hash: Mapped[str] = mapped_column(String(64))

    @property
    def code_enum(self) -> Code:
        return Code(self.code)

    @property
    def ledger_enum(self) -> Ledger:
        return Ledger(self.ledger)

    @property
    def phase_enum(self) -> Phase:
        return Phase(self.phase)


Index("ix_ledger_transfer_debit", Transfer.debit_account_id, Transfer.id)
Index("ix_ledger_transfer_credit", Transfer.credit_account_id, Transfer.id)
Index("ix_ledger_transfer_open_holds", Transfer.timeout_at,
      postgresql_where=Transfer.phase == "pending", sqlite_where=Transfer.phase == "pending")


class Seal(Base):
    """A block of consecutive transfers (by id) sealed with a running hash: the tamper-evidence chain.

    hash = SHA-256(prev_hash || for each transfer in id order: id || row_hash). See chain.py for why
    blocks sealed by a worker rather than a chain written by every transfer.
    """

    __tablename__ = "ledger_seal"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    first_transfer_id: Mapped[int] = mapped_column(BigInteger)
    last_transfer_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    entry_count: Mapped[int] = mapped_column(Integer)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)  # the chain cannot fork
    hash: Mapped[str] = mapped_column(String(64))
    sealed_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReconciliationRun(Base):
    """One reconciliation: what was checked, what was wrong. Read by auditors."""

    __tablename__ = "ledger_reconciliation_run"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column()
    ok: Mapped[bool] = mapped_column(default=False)
    triggered_by: Mapped[str] = mapped_column(String(40))
    entries_checked: Mapped[int] = mapped_column(BigInteger, default=0)
    accounts_checked: Mapped[int] = mapped_column(BigInteger, default=0)
    seals_checked: Mapped[int] = mapped_column(Integer, default=0)
    holds_released: Mapped[int] = mapped_column(Integer, default=0)
    discrepancy_count: Mapped[int] = mapped_column(Integer, default=0)
    # The first discrepancies found (capped), each {"kind", ...details}.
    discrepancies: Mapped[list] = mapped_column(JSON, default=list)
    summary: Mapped[str | None] = mapped_column(Text)
