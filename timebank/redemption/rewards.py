"""Merchant profiles (webhook, served communities) and the rewards catalogue (兑换商品).

A merchant keeps its own catalogue (API key or merchant_staff login); admins whose scope covers the merchant
may do the same, and alone may set where a merchant is notified and which communities it serves.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.orm import Session

from timebank import ledger
from timebank.db_base import utcnow
from timebank.errors import Forbidden, InvalidInput, RuleViolation, get_or_404
from timebank.ops import audit, webhooks
from timebank.people import orgs, partners
from timebank.people.access import ADMIN_ROLES, READ_ROLES, Actor
from timebank.people.models import Merchant, MerchantStatus, Org, OrgKind, Person
from timebank.redemption.models import (
    LimitPeriod,
    MerchantCommunity,
    MerchantProfile,
    Reward,
    RewardCommunity,
    RewardStatus,
)

# --- access -------------------------------------------------------------------------------------------------


def merchant_for_admin(session: Session, actor: Actor, merchant_id: int) -> Merchant:
    merchant = _merchant(session, merchant_id)
    actor.require_on(ADMIN_ROLES, merchant.org.path)
    return merchant


def merchant_for_manage(session: Session, actor: Actor, merchant_id: int) -> Merchant:
    """The merchant itself (API key / staff) or an admin whose scope covers it."""
    merchant = _merchant(session, merchant_id)
    if merchant_id not in actor.merchant_ids():
        actor.require_on(ADMIN_ROLES, merchant.org.path)
    return merchant


def merchant_for_read(session: Session, actor: Actor, merchant_id: int) -> Merchant:
    return partners.get_merchant(session, actor, merchant_id)


def _merchant(session: Session, merchant_id: int) -> Merchant:
    merchant = get_or_404(session, Merchant, merchant_id, "merchant_not_found")
    return merchant


# --- profiles -----------------------------------------------------------------------------------------------


def profile_of(session: Session, merchant_id: int) -> MerchantProfile | None:
    return session.get(MerchantProfile, merchant_id)


def served_community_ids(session: Session, merchant_id: int) -> list[int]:
    return list(session.scalars(select(MerchantCommunity.org_id).where(
        MerchantCommunity.merchant_id == merchant_id).order_by(MerchantCommunity.org_id)))


def _communities(session: Session, actor: Actor, community_ids: list[int]) -> list[Org]:
    found = []
    for org_id in sorted(set(community_ids)):
        org = orgs.get(session, org_id)
        if org.kind != OrgKind.community:
            raise InvalidInput("not_a_community")
        actor.require_on(ADMIN_ROLES, org.path)
        found.append(org)
    return found


def set_profile(session: Session, actor: Actor, merchant_id: int, *, webhook_url: str | None,
                community_ids: list[int]) -> tuple[MerchantProfile, str | None]:
    """Set the webhook URL and the communities served. A secret is made on first use and returned once."""
    merchant = merchant_for_admin(session, actor, merchant_id)
    communities = _communities(session, actor, community_ids)
    profile = profile_of(session, merchant_id)
    before = None
    if profile is None:
        profile = MerchantProfile(merchant_id=merchant_id)
        session.add(profile)
    else:
        before = {"webhook_url": profile.webhook_url, "community_ids": served_community_ids(session, merchant_id)}
    profile.webhook_url = webhook_url
    new_secret = None
    if webhook_url and not profile.webhook_secret:
        new_secret = webhooks.new_secret()
        profile.webhook_secret = new_secret
        profile.secret_rotated_at = utcnow()
    session.execute(delete(MerchantCommunity).where(MerchantCommunity.merchant_id == merchant_id))
    for org in communities:
        session.add(MerchantCommunity(merchant_id=merchant_id, org_id=org.id))
    profile.updated_at = utcnow()
    session.flush()
    audit.record(session, actor, "merchant.profile", "merchant", merchant_id, org_path=merchant.org.path,
                 before=before, after={"webhook_url": webhook_url, "community_ids": [o.id for o in communities]})
    return profile, new_secret


def set_shop(session: Session, actor: Actor, merchant_id: int, *, address: str | None,
             opening_hours: str | None) -> MerchantProfile:
    """Where the shop is and when it opens (the merchant itself or an admin over it); volunteers see both."""
    merchant = merchant_for_manage(session, actor, merchant_id)
    profile = profile_of(session, merchant_id)
    if profile is None:
        profile = MerchantProfile(merchant_id=merchant_id)
        session.add(profile)
    before = {"address": profile.address, "opening_hours": profile.opening_hours}
    profile.address = (address or "").strip()[:200] or None
    profile.opening_hours = (opening_hours or "").strip()[:100] or None
    profile.updated_at = utcnow()
    session.flush()
    audit.record(session, actor, "merchant.shop", "merchant", merchant_id, org_path=merchant.org.path,
                 before=before, after={"address": profile.address, "opening_hours": profile.opening_hours})
    return profile


def shops(session: Session, merchant_ids: list[int]) -> dict[int, tuple[Merchant, MerchantProfile | None]]:
    """Each merchant with its profile (address, opening hours), for showing rewards by shop."""
    if not merchant_ids:
        return {}
    rows = session.execute(select(Merchant, MerchantProfile).outerjoin(
        MerchantProfile, MerchantProfile.merchant_id == Merchant.id).where(Merchant.id.in_(merchant_ids)))
    return {m.id: (m, p) for m, p in rows}


def rotate_secret(session: Session, actor: Actor, merchant_id: int) -> tuple[MerchantProfile, str]:
    """A new webhook secret, returned in full exactly once; the old one stops working at once."""
    merchant = merchant_for_manage(session, actor, merchant_id)
    profile = profile_of(session, merchant_id)
    if profile is None:
        profile = MerchantProfile(merchant_id=merchant_id)
        session.add(profile)
    secret = webhooks.new_secret()
    profile.webhook_secret = secret
    profile.secret_rotated_at = utcnow()
    session.flush()
    audit.record(session, actor, "merchant.webhook_secret.rotate", "merchant", merchant_id,
                 org_path=merchant.org.path)
    return profile, secret


def merchant_webhook_target(session: Session, merchant_id: int) -> tuple[str, str] | None:
    profile = profile_of(session, merchant_id)
    if profile is None or not profile.webhook_url or not profile.webhook_secret:
        return None
    return profile.webhook_url, profile.webhook_secret



# --- rewards ------------------------------------------------------------------------------------------------


def _check_window(active_from: datetime | None, active_until: datetime | None) -> None:
    if active_from and active_until and active_until <= active_from:
        raise InvalidInput("invalid_window")


def create_reward(session: Session, actor: Actor, *, merchant_id: int, name: str, points_price: int,
                  community_ids: list[int], stock: int | None = None, description: str | None = None,
                  active_from: datetime | None = None, active_until: datetime | None = None,
                  per_person_limit: int | None = None, limit_period: LimitPeriod = LimitPeriod.month,
                  hold_minutes: int = 60 * 24) -> Reward:
    merchant = merchant_for_manage(session, actor, merchant_id)
    _check_window(active_from, active_until)
    served = set(served_community_ids(session, merchant_id))
    wanted = set(community_ids)
    if not wanted:
        raise InvalidInput("communities_required")
    if not wanted <= served:
        raise RuleViolation("community_not_served", community_ids=sorted(wanted - served))
    reward = Reward(merchant_id=merchant_id, name=name, description=description, points_price=points_price,
                    stock=stock, active_from=active_from, active_until=active_until,
                    per_person_limit=per_person_limit, limit_period=limit_period, hold_minutes=hold_minutes,
                    status=RewardStatus.active, version=0)
    reward.communities = [RewardCommunity(org_id=c) for c in sorted(wanted)]
    session.add(reward)
    session.flush()
    audit.record(session, actor, "reward.create", "reward", reward.id, org_path=merchant.org.path,
                 after={"name": name, "points_price": points_price, "stock": stock})
    return reward


_EDITABLE = ("name", "description", "points_price", "active_from", "active_until", "per_person_limit",
             "limit_period", "hold_minutes", "status")


def update_reward(session: Session, actor: Actor, reward_id: int, *, changes: dict,
                  stock_delta: int | None = None, unlimited: bool | None = None) -> Reward:
    """Edit a reward. Stock moves by a delta (conditional UPDATE), so it never races reservations."""
    reward = _reward(session, reward_id)
    merchant = merchant_for_manage(session, actor, reward.merchant_id)
    before = {k: _plain(getattr(reward, k)) for k in _EDITABLE} | {"stock": reward.stock}
    for key, value in changes.items():
        if key not in _EDITABLE:
            raise InvalidInput("not_editable")
        setattr(reward, key, value)
    _check_window(reward.active_from, reward.active_until)
    session.flush()
    if unlimited is True:
        session.execute(update(Reward).where(Reward.id == reward_id).values(stock=None)
                        .execution_options(synchronize_session=False))
    elif unlimited is False and reward.stock is None:
        session.execute(update(Reward).where(Reward.id == reward_id).values(stock=max(stock_delta or 0, 0))
                        .execution_options(synchronize_session=False))
        stock_delta = None
    if stock_delta:
        result = session.execute(
            update(Reward).where(Reward.id == reward_id, Reward.stock.is_not(None),
                                 Reward.stock + stock_delta >= 0)
            .values(stock=Reward.stock + stock_delta).execution_options(synchronize_session=False))
        if result.rowcount != 1:
            raise RuleViolation("invalid_stock")
    session.refresh(reward)
    audit.record(session, actor, "reward.update", "reward", reward.id, org_path=merchant.org.path,
                 before=before, after={k: _plain(getattr(reward, k)) for k in _EDITABLE} | {"stock": reward.stock})
    return reward


def _plain(value):
    return value.isoformat() if isinstance(value, datetime) else (str(value) if value is not None else None)


def _reward(session: Session, reward_id: int) -> Reward:
    reward = get_or_404(session, Reward, reward_id, "reward_not_found")
    return reward


def volunteer_community(session: Session, person_id: int) -> Org:
    person = session.get(Person, person_id)
    if person is None or person.home_org is None:
        raise RuleViolation("home_org_required", variant="redeem")
    return orgs.community_of(session, person.home_org)


def get_reward(session: Session, actor: Actor, reward_id: int) -> Reward:
    """The merchant and admins over it see any reward; a volunteer sees those offered in their community."""
    reward = _reward(session, reward_id)
    if reward.merchant_id in actor.merchant_ids():
        return reward
    merchant = _merchant(session, reward.merchant_id)
    if actor.has_role_on(READ_ROLES, merchant.org.path):
        return reward
    if actor.person_id is not None:
        community = volunteer_community(session, actor.person_id)
        if community.id in reward.community_ids:
            return reward
    raise Forbidden("out_of_scope", variant="reward")


def offered_clause(community_id: int, now: datetime):
    """Rewards a volunteer of `community_id` can redeem right now (stock left, window open, merchant active)."""
    return and_(
        Reward.status == RewardStatus.active,
        Reward.id.in_(select(RewardCommunity.reward_id).where(RewardCommunity.org_id == community_id)),
        or_(Reward.active_from.is_(None), Reward.active_from <= now),
        or_(Reward.active_until.is_(None), Reward.active_until > now),
        or_(Reward.stock.is_(None), Reward.stock > 0),
        Reward.merchant_id.in_(select(Merchant.id).where(Merchant.status == MerchantStatus.active)),
    )


def catalogue_statement(session: Session, actor: Actor, *, merchant_id: int | None = None,
                        affordable: bool = False):
    """The SELECT behind GET /rewards: a merchant's whole catalogue, or what a volunteer may redeem now."""
    if merchant_id is not None:
        merchant_for_read(session, actor, merchant_id)
        return select(Reward).where(Reward.merchant_id == merchant_id)
    if actor.person_id is None:
        raise InvalidInput("merchant_id_required")
    community = volunteer_community(session, actor.person_id)
    stmt = select(Reward).where(offered_clause(community.id, utcnow()))
    if affordable:
        stmt = stmt.where(Reward.points_price <= available_points(session, actor.person_id, community.id))
    return stmt


def volunteer_account(session: Session, person_id: int, community_id: int | None = None):
    return ledger.account_for(session, owner_kind=ledger.OwnerKind.volunteer, owner_id=person_id,
                              ledger=ledger.Ledger.points, org_id=community_id)


def merchant_account(session: Session, merchant: Merchant):
    return ledger.account_for(session, owner_kind=ledger.OwnerKind.merchant, owner_id=merchant.id,
                              ledger=ledger.Ledger.points, org_id=merchant.org_id)


def available_points(session: Session, person_id: int, community_id: int | None = None) -> int:
    account = volunteer_account(session, person_id, community_id)
    return ledger.balance(session, account.id).available
