"""Redemption (兑换 / 核销): hold -> notify -> capture or release, never oversold, every change exactly once.

Two ways in:
* pickup: the volunteer picks a reward; points are held and a unit of stock reserved in one transaction;
  the volunteer gets a one-time pickup code (and a QR payload) valid for the reward's `hold_minutes`;
  the merchant enters or scans it at the till (`confirm_code`) and the hold is captured.
* till: the volunteer shows a one-time pay code (付款码, 5 minutes); the merchant enters it with the reward
  (`redeem_at_till`), which opens the same hold; the till then captures it by id (`capture`).
Refusal (merchant), cancellation (volunteer or admin) and timeout (`expire_one`, run by cron) release the
hold and put the stock back.

Exactly once: every transition is a conditional UPDATE on `redemption.status` (held -> captured | released)
in the same transaction as the ledger call, so a repeat or a concurrent twin changes nothing. Lock order
everywhere is redemption row -> reward row -> ledger accounts (the ledger locks accounts in id order), so
the paths cannot deadlock one another; the expiry sweep commits per redemption for the same reason.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import case, func, or_, select, update
from sqlalchemy.orm import Session

from timebank import ledger
from timebank.clock import DISPLAY_TZ
from timebank.db_base import utcnow
from timebank.errors import Conflict, Forbidden, InvalidInput, NotFound, RuleViolation, get_or_404
from timebank.hours import credit
from timebank.ledger.errors import HoldNotPending, InsufficientFunds
from timebank.ops import audit, webhooks
from timebank.ops.models import WebhookDelivery
from timebank.people import orgs
from timebank.people.access import ADMIN_ROLES, READ_ROLES, Actor
from timebank.people.models import Merchant, MerchantStatus, Org, Person
from timebank.redemption import notices, rewards
from timebank.redemption.models import (
    LimitPeriod,
    PayCode,
    Redemption,
    RedemptionOrigin,
    RedemptionStatus,
    ReleaseReason,
    Reward,
    RewardStatus,
)

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read aloud and typed at a till
CODE_LENGTH = 8
QR_PREFIX = "TBR1"
PAY_CODE_TTL = timedelta(minutes=5)
# The ledger hold outlives the pickup code a little: our expiry sweep releases it first, and if the sweep is
# down, the ledger's own timeout still frees the points.
HOLD_GRACE_SECONDS = 15 * 60
HELD_EVENT = "redemption.held"
RELEASED_EVENT = "redemption.released"
ACTIVE_STATUSES = (RedemptionStatus.held, RedemptionStatus.captured)


# --- codes --------------------------------------------------------------------------------------------------


def normalise_code(code: str) -> str:
    """Accept "ab3k-7mpq", "AB3K 7MPQ" or the QR payload "TBR1:<id>:<code>"."""
    text = (code or "").strip()
    if text.upper().startswith(QR_PREFIX + ":"):
        text = text.rsplit(":", 1)[-1]
    return "".join(ch for ch in text.upper() if ch not in " -")


def code_hash(code: str) -> str:
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


def _new_code(session: Session, column) -> tuple[str, str]:
    """A fresh code whose hash is not taken yet (31^8 ≈ 8.5e11 codes; the UNIQUE index is the last word)."""
    for _ in range(8):
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        digest = code_hash(code)
        if session.scalar(select(column).where(column == digest)) is None:
            return code, digest
    raise Conflict("code_exhausted")


def display_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def qr_payload(redemption_id: int, code: str) -> str:
    return f"{QR_PREFIX}:{redemption_id}:{code}"


def period_start(period: LimitPeriod, now: datetime) -> datetime | None:
    """Start of the current limit period in Asia/Shanghai, as UTC; None for "ever"."""
    local = now.astimezone(DISPLAY_TZ)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == LimitPeriod.day:
        start = midnight
    elif period == LimitPeriod.week:
        start = midnight - timedelta(days=local.weekday())
    elif period == LimitPeriod.month:
        start = midnight.replace(day=1)
    elif period == LimitPeriod.year:
        start = midnight.replace(month=1, day=1)
    else:
        return None
    return start.astimezone(now.tzinfo)


# --- opening a hold -----------------------------------------------------------------------------------------


def redeem(session: Session, actor: Actor, *, reward_id: int, now: datetime | None = None) -> tuple[Redemption, str]:
    """A volunteer redeems one unit of a reward: points held, stock reserved, a pickup code returned once."""
    if actor.person_id is None:
        raise Forbidden("volunteer_only")
    return _open(session, person_id=actor.person_id, reward_id=reward_id, origin=RedemptionOrigin.pickup,
                 now=now or utcnow())


def _check_offer(session: Session, reward: Reward, person_id: int, now: datetime) -> tuple[Merchant, Org]:
    """The reward is on offer to this volunteer now: an active merchant, their community, its window."""
    merchant = session.get(Merchant, reward.merchant_id)
    if merchant.status != MerchantStatus.active:
        raise RuleViolation("merchant_suspended")
    community = rewards.volunteer_community(session, person_id)
    if community.id not in reward.community_ids:
        raise Forbidden("not_offered_here")
    if reward.status != RewardStatus.active or (reward.active_from and reward.active_from > now) or (
            reward.active_until and reward.active_until <= now):
        raise RuleViolation("reward_unavailable")
    return merchant, community


def _reserve(session: Session, reward: Reward, person_id: int, now: datetime) -> None:
    """Take one unit of stock and check the per-person limit (a refusal rolls back with the transaction)."""
    # Reserve one unit and take the reward's row lock: concurrent redemptions of this reward queue here,
    # so the stock check and the per-person count below see every earlier redemption. An unlimited reward
    # without a per-person limit has nothing to protect, so it skips the lock and does not serialise.
    if reward.stock is not None or reward.per_person_limit:
        reserved = session.execute(
            update(Reward)
            .where(Reward.id == reward.id, Reward.status == RewardStatus.active,
                   or_(Reward.stock.is_(None), Reward.stock >= 1))
            .values(stock=case((Reward.stock.is_(None), None), else_=Reward.stock - 1),
                    version=Reward.version + 1)
            .execution_options(synchronize_session=False))
        if reserved.rowcount != 1:
            raise RuleViolation("out_of_stock")
    if reward.per_person_limit:
        stmt = select(func.count(Redemption.id)).where(
            Redemption.person_id == person_id, Redemption.reward_id == reward.id,
            Redemption.status.in_(ACTIVE_STATUSES))
        start = period_start(reward.limit_period, now)
        if start is not None:
            stmt = stmt.where(Redemption.created_at >= start)
        if session.scalar(stmt) >= reward.per_person_limit:
            raise RuleViolation("limit_reached", limit=reward.per_person_limit, period=str(reward.limit_period))


def _open(session: Session, *, person_id: int, reward_id: int, origin: RedemptionOrigin,
          now: datetime) -> tuple[Redemption, str | None]:
    reward = get_or_404(session, Reward, reward_id, "reward_not_found")
    merchant, community = _check_offer(session, reward, person_id, now)
    _reserve(session, reward, person_id, now)
    volunteer_account = rewards.volunteer_account(session, person_id, community.id)
    merchant_account = rewards.merchant_account(session, merchant)
    code, digest = _new_code(session, Redemption.code_hash) if origin == RedemptionOrigin.pickup else (None, None)
    red = Redemption(reward_id=reward.id, merchant_id=merchant.id, person_id=person_id, community_id=community.id,
                     org_path=community.path, points=reward.points_price, status=RedemptionStatus.held,
                     origin=origin, code_hash=digest, expires_at=now + timedelta(minutes=reward.hold_minutes),
                     created_at=now)
    session.add(red)
    session.flush()
    _notify(session, red, HELD_EVENT, reward=reward)
    # The hold last: it locks the merchant's account row (every redemption at this merchant touches it), so
    # the less work between it and the commit, the less the merchant's redemptions queue behind each other.
    try:
        hold = ledger.hold(session, key=f"redemption:{red.id}:hold", debit_account_id=volunteer_account.id,
                           credit_account_id=merchant_account.id, amount=reward.points_price,
                           timeout_seconds=reward.hold_minutes * 60 + HOLD_GRACE_SECONDS,
                           metadata={"redemption_id": red.id, "reward_id": reward.id})
    except InsufficientFunds as exc:
        raise InsufficientFunds(variant="reward", needed=reward.points_price) from exc
    red.hold_transfer_id = hold.id
    session.flush()
    notices.changed(session, red, "redemption.held")
    return red, code


def reissue_code(session: Session, actor: Actor, redemption_id: int) -> tuple[Redemption, str]:
    """A new pickup code for one's own held redemption (the old one stops working): codes are stored hashed."""
    red = _get(session, redemption_id)
    actor.require_person(red.person_id)
    if red.origin != RedemptionOrigin.pickup or red.status != RedemptionStatus.held:
        raise Conflict("redemption_not_held")
    code, digest = _new_code(session, Redemption.code_hash)
    red.code_hash = digest
    session.flush()
    return red, code


def issue_pay_code(session: Session, actor: Actor, *, now: datetime | None = None) -> tuple[PayCode, str]:
    """A volunteer's one-time pay code for the till, valid for five minutes."""
    if actor.person_id is None:
        raise Forbidden("volunteer_only")
    now = now or utcnow()
    rewards.volunteer_community(session, actor.person_id)
    code, digest = _new_code(session, PayCode.code_hash)
    row = PayCode(person_id=actor.person_id, code_hash=digest, expires_at=now + PAY_CODE_TTL, created_at=now)
    session.add(row)
    session.flush()
    return row, code


def _live_pay_code(session: Session, pay_code: str, now: datetime) -> PayCode:
    if not normalise_code(pay_code):
        raise InvalidInput("code_required", variant="pay_code")
    row = session.scalar(select(PayCode).where(PayCode.code_hash == code_hash(pay_code)))
    if row is None:
        raise NotFound("pay_code_invalid")
    if row.used_at is not None or row.expires_at <= now:
        raise Conflict("pay_code_used_or_expired")
    return row


def peek_pay_code(session: Session, actor: Actor, *, pay_code: str, reward_id: int,
                  now: datetime | None = None) -> tuple[Person, Reward, int]:
    """What the till shows before the assistant confirms: whose pay code it is, the reward and the volunteer's
    available points; every refusal `redeem_at_till` would give for the offer is given here, nothing is
    written and the code stays unused."""
    now = now or utcnow()
    reward = get_or_404(session, Reward, reward_id, "reward_not_found")
    actor.require_merchant(reward.merchant_id)
    row = _live_pay_code(session, pay_code, now)
    _check_offer(session, reward, row.person_id, now)
    available = rewards.available_points(session, row.person_id)
    if available < reward.points_price:
        raise InsufficientFunds(variant="reward", needed=reward.points_price)
    return session.get(Person, row.person_id), reward, available


def redeem_at_till(session: Session, actor: Actor, *, pay_code: str, reward_id: int,
                   now: datetime | None = None) -> Redemption:
    """The merchant enters the volunteer's pay code with one of its rewards: the pay code is used up and a
    hold opens exactly as for a pickup; the till captures it by id."""
    now = now or utcnow()
    reward = get_or_404(session, Reward, reward_id, "reward_not_found")
    actor.require_merchant(reward.merchant_id)
    row = session.scalar(select(PayCode).where(PayCode.code_hash == code_hash(pay_code)))
    if row is None:
        raise NotFound("pay_code_invalid")
    used = session.execute(
        update(PayCode).where(PayCode.id == row.id, PayCode.used_at.is_(None), PayCode.expires_at > now)
        .values(used_at=now).execution_options(synchronize_session=False))
    if used.rowcount != 1:
        raise Conflict("pay_code_used_or_expired")
    red, _ = _open(session, person_id=row.person_id, reward_id=reward_id, origin=RedemptionOrigin.till, now=now)
    session.execute(update(PayCode).where(PayCode.id == row.id).values(redemption_id=red.id)
                    .execution_options(synchronize_session=False))
    return red


# --- capture and release ------------------------------------------------------------------------------------


def _get(session: Session, redemption_id: int) -> Redemption:
    red = get_or_404(session, Redemption, redemption_id, "redemption_not_found")
    return red


def _require_merchant_of(session: Session, actor: Actor, red: Redemption) -> None:
    actor.require_merchant(red.merchant_id)
    if session.get(Merchant, red.merchant_id).status != MerchantStatus.active:
        raise RuleViolation("merchant_suspended")


def confirm_code(session: Session, actor: Actor, *, code: str, now: datetime | None = None) -> Redemption:
    """The merchant confirms a volunteer's pickup code (typed or scanned): the hold is captured."""
    if not normalise_code(code):
        raise InvalidInput("code_required")
    red = session.scalar(select(Redemption).where(Redemption.code_hash == code_hash(code)))
    if red is None:
        raise NotFound("code_not_found")
    _require_merchant_of(session, actor, red)
    return _capture(session, red, now or utcnow())


def capture(session: Session, actor: Actor, redemption_id: int, *, now: datetime | None = None) -> Redemption:
    """Capture a till redemption by id (the volunteer's presence was proven by the pay code)."""
    red = _get(session, redemption_id)
    _require_merchant_of(session, actor, red)
    if red.origin != RedemptionOrigin.till:
        raise RuleViolation("code_required", variant="pickup")
    return _capture(session, red, now or utcnow())


def _capture(session: Session, red: Redemption, now: datetime) -> Redemption:
    changed = session.execute(
        update(Redemption)
        .where(Redemption.id == red.id, Redemption.status == RedemptionStatus.held, Redemption.expires_at > now)
        .values(status=RedemptionStatus.captured, captured_at=now)
        .execution_options(synchronize_session=False))
    if changed.rowcount == 1:
        posted = ledger.capture(session, key=f"redemption:{red.id}:capture", pending_id=red.hold_transfer_id)
        session.execute(update(Redemption).where(Redemption.id == red.id)
                        .values(capture_transfer_id=posted.id).execution_options(synchronize_session=False))
        session.refresh(red)
        red.just_changed = True
        notices.changed(session, red, "redemption.confirmed")
        return red
    session.refresh(red)
    if red.status == RedemptionStatus.captured:
        red.just_changed = False  # a repeat: the first confirmation stands, nothing moves again
        return red
    if red.status == RedemptionStatus.released:
        raise Conflict("redemption_released", reason=str(red.release_reason))
    raise Conflict("redemption_expired")


def _release(session: Session, red: Redemption, reason: ReleaseReason, *, now: datetime,
             note: str | None = None, only_if_expired: bool = False) -> bool:
    """held -> released exactly once: stock back, hold voided. False if it was no longer held."""
    stmt = update(Redemption).where(Redemption.id == red.id, Redemption.status == RedemptionStatus.held)
    if only_if_expired:
        stmt = stmt.where(Redemption.expires_at <= now)
    changed = session.execute(stmt.values(status=RedemptionStatus.released, release_reason=reason,
                                          released_at=now, note=note)
                              .execution_options(synchronize_session=False))
    if changed.rowcount != 1:
        session.refresh(red)
        return False
    # The reward row before the ledger's account rows: the same order as _open.
    session.execute(update(Reward).where(Reward.id == red.reward_id, Reward.stock.is_not(None))
                    .values(stock=Reward.stock + 1).execution_options(synchronize_session=False))
    try:
        voided = ledger.release(session, key=f"redemption:{red.id}:release", pending_id=red.hold_transfer_id)
        release_id = voided.id
    except HoldNotPending:  # the ledger already ended it on its own timeout: nothing is held any more
        release_id = None
    session.execute(update(Redemption).where(Redemption.id == red.id).values(release_transfer_id=release_id)
                    .execution_options(synchronize_session=False))
    # Points given back by the hold repay a debt from an upheld complaint before they can be spent again.
    credit.recover_owed(session, red.person_id, key=f"recover:redemption:{red.id}")
    session.refresh(red)
    red.just_changed = True
    notices.released(session, red)
    return True


def refuse(session: Session, actor: Actor, redemption_id: int, *, reason: str | None = None,
           now: datetime | None = None) -> Redemption:
    """The merchant refuses (out of stock on the shelf, ...): points and stock go back."""
    red = _get(session, redemption_id)
    actor.require_merchant(red.merchant_id)
    if not _release(session, red, ReleaseReason.refused, now=now or utcnow(), note=reason):
        _settled_already(red)
    return red


def cancel(session: Session, actor: Actor, redemption_id: int, *, now: datetime | None = None) -> Redemption:
    """The volunteer (or an admin over their community) cancels a held redemption."""
    red = _get(session, redemption_id)
    if actor.person_id != red.person_id:
        actor.require_on(ADMIN_ROLES, red.org_path)
    if _release(session, red, ReleaseReason.cancelled, now=now or utcnow()):
        _notify(session, red, RELEASED_EVENT)
        if actor.person_id != red.person_id:
            audit.record(session, actor, "redemption.cancel", "redemption", red.id, org_path=red.org_path)
    else:
        _settled_already(red)
    return red


def _settled_already(red: Redemption) -> None:
    """A repeat of a release is fine; releasing what was captured is not."""
    if red.status == RedemptionStatus.captured:
        raise Conflict("redemption_captured")
    red.just_changed = False


def expired_ids(session: Session, *, now: datetime | None = None, limit: int = 200) -> list[int]:
    return list(session.scalars(
        select(Redemption.id).where(Redemption.status == RedemptionStatus.held,
                                    Redemption.expires_at <= (now or utcnow()))
        .order_by(Redemption.expires_at).limit(limit)))


def expire_one(session: Session, redemption_id: int, *, now: datetime | None = None) -> bool:
    """Release one timed-out hold (cron). The caller commits after each, keeping the lock order simple."""
    red = session.get(Redemption, redemption_id)
    if red is None:
        return False
    if _release(session, red, ReleaseReason.expired, now=now or utcnow(), only_if_expired=True):
        _notify(session, red, RELEASED_EVENT)
        return True
    return False


# --- notification -------------------------------------------------------------------------------------------


def _mask_name(name: str) -> str:
    return name[:1] + "*" * max(len(name) - 1, 1)


def _notify(session: Session, red: Redemption, event: str, *, reward: Reward | None = None) -> None:
    """Promise a signed webhook to the merchant, if it has one configured (same transaction)."""
    profile = rewards.profile_of(session, red.merchant_id)
    if profile is None or not profile.webhook_url:
        return
    reward = reward or session.get(Reward, red.reward_id)
    person = session.get(Person, red.person_id)
    payload = {
        "redemption_id": red.id, "status": str(red.status), "origin": str(red.origin),
        "reward": {"id": reward.id, "name": reward.name}, "points": red.points,
        "merchant_id": red.merchant_id, "community_id": red.community_id,
        "volunteer": {"name": _mask_name(person.name)},
        "expires_at": red.expires_at.isoformat(),
    }
    if red.release_reason:
        payload["release_reason"] = str(red.release_reason)
    webhooks.enqueue(session, target_kind="merchant", target_id=red.merchant_id, event_type=event,
                     payload=payload, subject=f"redemption:{red.id}", dedupe_key=f"{event}:{red.id}")


def on_merchant_answer(session: Session, delivery: WebhookDelivery, answer: dict | None) -> None:
    """The merchant's 2xx answer to `redemption.held`: {"decision": "refuse"} releases, anything else accepts."""
    red = session.get(Redemption, delivery.payload.get("redemption_id"))
    if red is None:
        return
    now = utcnow()
    if answer and str(answer.get("decision", "")).lower() == "refuse":
        reason = str(answer.get("reason") or "")[:200] or None
        _release(session, red, ReleaseReason.refused, now=now, note=reason)
        return
    session.execute(update(Redemption).where(Redemption.id == red.id, Redemption.merchant_ack_at.is_(None))
                    .values(merchant_ack_at=now).execution_options(synchronize_session=False))



# --- reading ------------------------------------------------------------------------------------------------


def get_visible(session: Session, actor: Actor, redemption_id: int) -> Redemption:
    """The volunteer, the merchant, and admins/auditors over the volunteer's community."""
    red = _get(session, redemption_id)
    if actor.person_id == red.person_id or red.merchant_id in actor.merchant_ids():
        return red
    actor.require_on(READ_ROLES, red.org_path)
    return red


def list_statement(session: Session, actor: Actor, *, merchant_id: int | None = None, org_id: int | None = None,
                   status: RedemptionStatus | None = None):
    """Own redemptions by default; a merchant's with `merchant_id`; a subtree's with `org_id` (admins)."""
    if merchant_id is not None:
        rewards.merchant_for_read(session, actor, merchant_id)
        stmt = select(Redemption).where(Redemption.merchant_id == merchant_id)
    elif org_id is not None:
        org: Org = orgs.get_readable(session, actor, org_id)
        stmt = select(Redemption).where(Redemption.org_path.startswith(org.path, autoescape=True))
    elif actor.person_id is not None:
        stmt = select(Redemption).where(Redemption.person_id == actor.person_id)
    else:
        raise InvalidInput("scope_required")
    if status is not None:
        stmt = stmt.where(Redemption.status == status)
    return stmt
