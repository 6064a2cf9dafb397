"""Settlement (结算): per merchant and period, a statement of captured redemptions, and the ledger transfers that
clear the merchant's points when the community pays for the goods or the merchant donates them.

Periods are calendar dates in Asia/Shanghai, both ends inclusive: [start 00:00, end + 1 day 00:00) local.
A redemption is settled at most once (`redemption.settlement_id`, set by a conditional UPDATE), so
overlapping periods cannot clear the same points twice.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from timebank import csvfile, labels, ledger
from timebank.clock import DISPLAY_TZ
from timebank.db_base import utcnow
from timebank.errors import Conflict, InvalidInput, RuleViolation
from timebank.ops import audit
from timebank.people.access import Actor
from timebank.people.models import Org
from timebank.redemption import rewards
from timebank.redemption.models import Redemption, RedemptionStatus, Reward, Settlement, SettlementKind

MAX_PERIOD_DAYS = 366


def period_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    if end < start:
        raise InvalidInput("invalid_period", variant="ends_before_start")
    if (end - start).days >= MAX_PERIOD_DAYS:
        raise InvalidInput("invalid_period", variant="too_long")
    lo = datetime.combine(start, time.min, tzinfo=DISPLAY_TZ)
    hi = datetime.combine(end + timedelta(days=1), time.min, tzinfo=DISPLAY_TZ)
    return lo.astimezone(utcnow().tzinfo), hi.astimezone(utcnow().tzinfo)


def _captured(merchant_id: int, lo: datetime, hi: datetime):
    return select(Redemption).where(
        Redemption.merchant_id == merchant_id, Redemption.status == RedemptionStatus.captured,
        Redemption.captured_at >= lo, Redemption.captured_at < hi)


def statement(session: Session, actor: Actor, merchant_id: int, *, start: date, end: date) -> dict:
    """Captured redemptions of the period with totals per community; readable by the merchant and admins."""
    merchant = rewards.merchant_for_read(session, actor, merchant_id)
    lo, hi = period_bounds(start, end)
    rows = session.execute(
        _captured(merchant_id, lo, hi).add_columns(Reward.name).join(Reward, Reward.id == Redemption.reward_id)
        .order_by(Redemption.captured_at, Redemption.id)).all()
    items, by_community = [], defaultdict(lambda: {"count": 0, "points": 0})
    unsettled = 0
    for red, reward_name in rows:
        items.append({
            "redemption_id": red.id, "reward_id": red.reward_id, "reward_name": reward_name, "points": red.points,
            "captured_at": red.captured_at.isoformat(), "community_id": red.community_id,
            "origin": str(red.origin), "settlement_id": red.settlement_id,
        })
        by_community[red.community_id]["count"] += 1
        by_community[red.community_id]["points"] += red.points
        if red.settlement_id is None:
            unsettled += red.points
    ids = sorted(by_community)
    community_names = dict(session.execute(select(Org.id, Org.name).where(Org.id.in_(ids))).all()) if ids else {}
    return {
        "merchant_id": merchant.id, "merchant_name": merchant.name, "community_names": community_names,
        "period_start": start.isoformat(), "period_end": end.isoformat(),
        "redemptions": items,
        "totals": {
            "count": len(items), "points": sum(i["points"] for i in items), "unsettled_points": unsettled,
            "by_community": [{"community_id": k, **v} for k, v in sorted(by_community.items())],
        },
    }


CSV_HEADERS = ("兑换编号", "商品", "积分", "核销时间（北京时间）", "社区", "来源", "结算状态")


def statement_csv(data: dict) -> bytes:
    """The statement through the one CSV writer (Chinese headers, Beijing time to the minute, statuses in
    Chinese, formula-safe cells, UTF-8 with BOM), the total last."""
    names = data.get("community_names", {})
    rows = [[item["redemption_id"], item["reward_name"], item["points"], datetime.fromisoformat(item["captured_at"]),
             names.get(item["community_id"], ""), labels.label(labels.REDEMPTION_ORIGINS, item["origin"]),
             "已结算" if item["settlement_id"] else "未结算"] for item in data["redemptions"]]
    rows.append(["合计", "", data["totals"]["points"], "", "", "", ""])
    return csvfile.write(CSV_HEADERS, rows)


def settle(session: Session, actor: Actor, merchant_id: int, *, start: date, end: date, kind: SettlementKind,
           note: str | None = None) -> Settlement:
    """Clear the merchant's unsettled captured points of the period: one `Code.settlement` transfer per
    community, all posted or none (a linked batch). Admins over the merchant only."""
    merchant = rewards.merchant_for_admin(session, actor, merchant_id)
    lo, hi = period_bounds(start, end)
    existing = session.scalar(select(Settlement).where(
        Settlement.merchant_id == merchant_id, Settlement.period_start == lo, Settlement.period_end == hi))
    if existing is not None:
        if existing.kind != kind:
            raise Conflict("settlement_exists")
        return existing
    reds = list(session.scalars(_captured(merchant_id, lo, hi).where(Redemption.settlement_id.is_(None))
                                .order_by(Redemption.id).with_for_update()))
    if not reds:
        raise RuleViolation("nothing_to_settle")
    row = Settlement(merchant_id=merchant_id, period_start=lo, period_end=hi, kind=kind,
                     points=sum(r.points for r in reds), redemption_count=len(reds), note=note,
                     created_by=actor.label, transfer_ids=[])
    session.add(row)
    session.flush()
    marked = session.execute(
        update(Redemption).where(Redemption.id.in_([r.id for r in reds]), Redemption.settlement_id.is_(None))
        .values(settlement_id=row.id).execution_options(synchronize_session=False))
    if marked.rowcount != len(reds):
        raise Conflict("settlement_race")
    per_community: dict[int, int] = defaultdict(int)
    for red in reds:
        per_community[red.community_id] += red.points
    owner = ledger.OwnerKind.issuer if kind == SettlementKind.paid else ledger.OwnerKind.community_fund
    merchant_account = rewards.merchant_account(session, merchant)
    specs = []
    for community_id, points in sorted(per_community.items()):
        target = ledger.account_for(session, owner_kind=owner, owner_id=community_id, ledger=ledger.Ledger.points,
                                    org_id=community_id)
        specs.append(ledger.TransferSpec(
            key=f"settlement:{row.id}:{community_id}", debit_account_id=merchant_account.id,
            credit_account_id=target.id, amount=points, ledger=ledger.Ledger.points, code=ledger.Code.settlement,
            metadata={"settlement_id": row.id, "merchant_id": merchant_id, "kind": str(kind)}))
    transfers = ledger.linked(session, specs)
    row.transfer_ids = [t.id for t in transfers]
    session.flush()
    audit.record(session, actor, "settlement.create", "settlement", row.id, org_path=merchant.org.path,
                 after={"merchant_id": merchant_id, "kind": str(kind), "points": row.points,
                        "period": [start.isoformat(), end.isoformat()]})
    return row


def list_statement(session: Session, actor: Actor, merchant_id: int):
    rewards.merchant_for_read(session, actor, merchant_id)
    return select(Settlement).where(Settlement.merchant_id == merchant_id)
