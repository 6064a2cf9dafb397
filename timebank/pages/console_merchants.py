"""社区工作台: 爱心商户 (merchants in scope, suspend / resume, their rewards: add, put on or off the shelf, restock;
the communities a merchant serves; settling a period) and 对账 (the latest ledger reconciliation run). The
services decide who may do what: `partners.set_merchant_status`, `rewards.create_reward` / `update_reward` /
`set_profile` and `settlement.settle` want an admin over the merchant; reconciliation runs are for auditors and
district admins (`ledger.access.require_reconciliation_reader`)."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, flash, redirect, request, session, url_for
from sqlalchemy import select

from timebank import labels, messages
from timebank.accounts import access as ledger_access
from timebank.clock import DISPLAY_TZ
from timebank.db_base import utcnow
from timebank.errors import DomainError
from timebank.extensions import db
from timebank.ledger.models import ReconciliationRun
from timebank.messages import describe
from timebank.pages import console, page_actor, run_action
from timebank.people import partners
from timebank.people import persons as people
from timebank.people.access import ADMIN_ROLES, READ_ROLES, org_scope_clause
from timebank.people.models import Merchant, MerchantStatus, Org, OrgKind
from timebank.redemption import reconciliation as merchant_reconciliation
from timebank.redemption import rewards, settlement
from timebank.redemption.models import (
    MerchantCommunity,
    MerchantReconciliation,
    Reward,
    RewardStatus,
    Settlement,
    SettlementKind,
)
from timebank.workers.jobs import ledger_maintenance

bp = Blueprint("console_merchants", __name__, url_prefix="/console")
admin_only = console.admin_only


MERCHANT_STATUS = {MerchantStatus.active: "正常", MerchantStatus.suspended: "已暂停"}


@bp.get("/merchants")
@admin_only
def merchants():
    """Merchants registered inside my scope (I may manage them), and those serving my communities (read only)."""
    actor = page_actor()
    managed = list(db.session.scalars(partners.visible(actor, Merchant).order_by(Merchant.id)))
    managed_ids = {m.id for m in managed}
    serving = [m for m in db.session.scalars(
        select(Merchant).join(MerchantCommunity, MerchantCommunity.merchant_id == Merchant.id)
        .join(Org, Org.id == MerchantCommunity.org_id)
        .where(org_scope_clause(actor, READ_ROLES, Org.path)).distinct().order_by(Merchant.id))
        if m.id not in managed_ids]
    can_manage = {m.id for m in managed if actor.has_role_on(ADMIN_ROLES, m.org.path)}
    return console.render("pages/console/merchants.html", managed=managed, serving=serving, can_manage=can_manage,
                          labels=MERCHANT_STATUS)


@bp.post("/merchants/<int:merchant_id>/status")
@admin_only
def merchant_status(merchant_id: int):
    wanted = request.form.get("status")
    if wanted not in {s.value for s in MerchantStatus}:
        flash("请选择暂停或恢复。", "error")
    else:
        status = MerchantStatus(wanted)
        run_action(lambda: partners.set_merchant_status(db.session, page_actor(), merchant_id, status),
                   "商户已恢复兑换。" if status == MerchantStatus.active else "商户已暂停兑换。")
    return redirect(request.form.get("back") or url_for("console_merchants.merchants"))


@bp.get("/merchants/<int:merchant_id>")
@admin_only
def merchant_detail(merchant_id: int):
    actor = page_actor()
    merchant = partners.get_merchant(db.session, actor, merchant_id)
    items = list(db.session.scalars(rewards.catalogue_statement(db.session, actor, merchant_id=merchant_id)
                                    .order_by(Reward.id.desc()).limit(200)))
    served_ids = rewards.served_community_ids(db.session, merchant_id)
    served = list(db.session.scalars(select(Org).where(Org.id.in_(served_ids)).order_by(Org.id))) \
        if served_ids else []
    names = {o.id: o.name for o in served}
    can_manage = actor.has_role_on(ADMIN_ROLES, merchant.org.path)
    # Communities the admin may offer this merchant to: those inside the admin's own scope.
    offerable = list(db.session.scalars(select(Org).where(
        Org.kind == OrgKind.community, org_scope_clause(actor, ADMIN_ROLES, Org.path)).order_by(Org.id))) \
        if can_manage else []
    settled = list(db.session.scalars(settlement.list_statement(db.session, actor, merchant_id)
                                      .order_by(Settlement.id.desc()).limit(12)))
    today = utcnow().astimezone(DISPLAY_TZ).date()  # the default period: last month, on the local calendar
    last_month_end = today.replace(day=1) - timedelta(days=1)
    period = {"start": last_month_end.replace(day=1).isoformat(), "end": last_month_end.isoformat()}
    profile = rewards.profile_of(db.session, merchant_id) if can_manage else None
    uploads = list(db.session.scalars(select(MerchantReconciliation).where(
        MerchantReconciliation.merchant_id == merchant_id).order_by(MerchantReconciliation.id.desc()).limit(5))) \
        if can_manage else []
    return console.render("pages/console/merchant.html", merchant=merchant, rewards=items, served=served,
                          served_ids=set(served_ids), names=names, labels=MERCHANT_STATUS, can_manage=can_manage,
                          offerable=offerable, settled=settled, period=period, kinds=SETTLEMENT_KINDS,
                          one_second=timedelta(seconds=1), form={}, profile=profile, uploads=uploads,
                          new_secret=session.pop("new_webhook_secret", None))


SETTLEMENT_KINDS = {SettlementKind.paid: "社区付款（积分回到社区发行账户）",
                    SettlementKind.donated: "商户捐赠（积分进入社区基金）"}


def _back_to(merchant_id: int):
    return redirect(url_for("console_merchants.merchant_detail", merchant_id=merchant_id))


@bp.post("/merchants/<int:merchant_id>/rewards/<int:reward_id>/shelf")
@admin_only
def reward_shelf(merchant_id: int, reward_id: int):
    """Put a reward on or off the shelf (上架 / 下架); what was redeemed before is not touched."""
    wanted = request.form.get("status")
    if wanted not in {s.value for s in RewardStatus}:
        flash("请选择上架或下架。", "error")
        return _back_to(merchant_id)
    status = RewardStatus(wanted)
    if status == RewardStatus.retired and request.form.get("confirmed") != "1":
        rewards.merchant_for_manage(db.session, page_actor(), merchant_id)
        reward = rewards.get_reward(db.session, page_actor(), reward_id)
        return console.render(
            "pages/console/confirm_action.html", heading=f"下架「{reward.name}」", verb="下架",
            facts=[("所需积分", reward.points_price), ("库存", "不限" if reward.stock is None else reward.stock)],
            warning="下架后志愿者不能再兑换该商品；已兑换未取货的不受影响。",
            action=url_for("console_merchants.reward_shelf", merchant_id=merchant_id, reward_id=reward_id),
            fields=[("status", status.value)], button="确认下架",
            back=url_for("console_merchants.merchant_detail", merchant_id=merchant_id))
    run_action(lambda: rewards.update_reward(db.session, page_actor(), reward_id, changes={"status": status}),
               "商品已重新上架。" if status == RewardStatus.active else "商品已下架。")
    return _back_to(merchant_id)


@bp.post("/merchants/<int:merchant_id>/rewards/<int:reward_id>/stock")
@admin_only
def reward_stock(merchant_id: int, reward_id: int):
    """Restock (or take stock away): the stock moves by a delta, so it never races a redemption in progress."""
    try:
        delta = int(request.form.get("delta", ""))
    except ValueError:
        delta = 0
    if delta == 0:
        flash("请填写增减的数量（正数补货，负数减少）。", "error")
        return _back_to(merchant_id)
    run_action(lambda: rewards.update_reward(db.session, page_actor(), reward_id, changes={}, stock_delta=delta),
               f"库存已{'增加' if delta > 0 else '减少'} {abs(delta)}。")
    return _back_to(merchant_id)


@bp.post("/merchants/<int:merchant_id>/communities")
@admin_only
def merchant_communities(merchant_id: int):
    """The communities whose volunteers may redeem here; the merchant's webhook settings stay as they are."""
    community_ids = [int(c) for c in request.form.getlist("community_id") if c.isdigit()]
    profile = rewards.profile_of(db.session, merchant_id)
    run_action(lambda: rewards.set_profile(db.session, page_actor(), merchant_id,
                                    webhook_url=profile.webhook_url if profile else None,
                                    community_ids=community_ids),
               "服务社区已更新。")
    return _back_to(merchant_id)


@bp.post("/merchants/<int:merchant_id>/settlements")
@admin_only
def merchant_settle(merchant_id: int):
    """Settle a period's captured redemptions (结算): one ledger transfer per community, all or none."""
    form = request.form
    try:
        start, end = (date.fromisoformat(form.get("period_start") or form.get("start", "")),
                      date.fromisoformat(form.get("period_end") or form.get("end", "")))
        kind = SettlementKind(form.get("kind", ""))
    except ValueError:
        flash("请填写结算起止日期并选择结算方式。", "error")
        return _back_to(merchant_id)
    if end < start:
        flash("结束日期不能早于开始日期。", "error")
        return _back_to(merchant_id)
    if form.get("confirmed") != "1":
        merchant = partners.get_merchant(db.session, page_actor(), merchant_id)
        return console.render(
            "pages/console/confirm_action.html", heading=f"结算「{merchant.name}」", verb="结算",
            facts=[("期间", f"{start.isoformat()} 至 {end.isoformat()}"), ("结算方式", SETTLEMENT_KINDS[kind]),
                   ("备注", form.get("note", "").strip() or "无")],
            warning="结算后积分即按所选方式转出，不能撤销。",
            action=url_for("console_merchants.merchant_settle", merchant_id=merchant_id),
            fields=[("start", start.isoformat()), ("end", end.isoformat()), ("kind", kind.value),
                    ("note", form.get("note", "").strip())],
            button="确认结算", back=url_for("console_merchants.merchant_detail", merchant_id=merchant_id))
    done = run_action(lambda: settlement.settle(db.session, page_actor(), merchant_id, start=start, end=end, kind=kind,
                                         note=form.get("note", "").strip() or None))
    if done is not None:
        flash(f"已结算 {done.redemption_count} 笔兑换，共 {done.points} 积分。", "ok")
    return _back_to(merchant_id)


def _int(text: str | None, *, minimum: int, optional: bool = False) -> int | None:
    if optional and not (text or "").strip():
        return None
    value = int(text)  # ValueError is reported by the caller
    if value < minimum:
        raise ValueError(text)
    return value


@bp.post("/merchants/<int:merchant_id>/rewards")
@admin_only
def reward_new(merchant_id: int):
    form = request.form
    try:
        price = _int(form.get("points_price"), minimum=1)
        stock = _int(form.get("stock"), minimum=0, optional=True)
        limit = _int(form.get("per_person_limit"), minimum=1, optional=True)
        hold_hours = _int(form.get("hold_hours") or "24", minimum=1)
    except (TypeError, ValueError):
        flash("积分、库存、限兑和有效小时须为正整数（库存、限兑可留空表示不限）。", "error")
        return redirect(url_for("console_merchants.merchant_detail", merchant_id=merchant_id))
    name = form.get("name", "").strip()
    if not name or len(name) > 120:
        flash("请填写商品名称（120 字以内）。", "error")
        return redirect(url_for("console_merchants.merchant_detail", merchant_id=merchant_id))
    community_ids = [int(c) for c in form.getlist("community_id") if c.isdigit()]
    run_action(lambda: rewards.create_reward(db.session, page_actor(), merchant_id=merchant_id, name=name,
                                      points_price=price, community_ids=community_ids, stock=stock,
                                      description=form.get("description", "").strip() or None,
                                      per_person_limit=limit, hold_minutes=hold_hours * 60),
               f"已上架「{name}」。")
    return redirect(url_for("console_merchants.merchant_detail", merchant_id=merchant_id))


@bp.get("/reconciliation")
@admin_only
def reconciliation():
    """The latest ledger reconciliation and the few before it (auditors and district admins)."""
    actor = page_actor()
    allowed = True
    try:
        ledger_access.require_reconciliation_reader(actor)
    except DomainError:
        allowed = False
    runs = list(db.session.scalars(select(ReconciliationRun).order_by(ReconciliationRun.id.desc()).limit(10))) \
        if allowed else []
    names = people.actor_names(db.session, [r.triggered_by for r in runs])
    return console.render("pages/console/reconciliation.html", allowed=allowed, latest=runs[0] if runs else None,
                          runs=runs, names=names, discrepancies=labels.DISCREPANCIES), (200 if allowed else 403)


@bp.post("/reconciliation")
@admin_only
def reconciliation_start():
    """Queue a reconciliation now, as `POST /api/ledger/reconciliations` does."""
    actor = page_actor()
    try:
        ledger_access.require_reconciliation_reader(actor)
    except DomainError as exc:
        flash(describe(exc), "error")
        return redirect(url_for("console_merchants.reconciliation"))
    ledger_maintenance.start_reconciliation(actor.label)
    flash("已开始对账，完成后刷新本页查看结果。", "ok")
    return redirect(url_for("console_merchants.reconciliation"))



# --- webhook settings, reconciliation uploads, editing a reward ---------------------------------------------


@bp.post("/merchants/<int:merchant_id>/webhook")
@admin_only
def merchant_webhook(merchant_id: int):
    """The merchant's webhook address (empty: no webhooks); the communities served stay as they are. A signing
    secret made now is shown once, on the next page."""
    url = request.form.get("webhook_url", "").strip() or None
    if url is not None and (len(url) > 500 or not url.startswith(("https://", "http://"))):
        flash(messages.render("webhook_url_invalid"), "error")
        return _back_to(merchant_id)
    result = run_action(lambda: rewards.set_profile(
        db.session, page_actor(), merchant_id, webhook_url=url,
        community_ids=rewards.served_community_ids(db.session, merchant_id)),
        "推送地址已保存。" if url else "已停用推送。")
    if result is not None and result[1]:
        session["new_webhook_secret"] = result[1]
    return _back_to(merchant_id)


@bp.post("/merchants/<int:merchant_id>/webhook/secret")
@admin_only
def merchant_webhook_secret(merchant_id: int):
    """A new signing secret: shown once; the old one stops working at once."""
    result = run_action(lambda: rewards.rotate_secret(db.session, page_actor(), merchant_id),
                        "已生成新的签名密钥，旧密钥已失效。")
    if result is not None:
        session["new_webhook_secret"] = result[1]
    return _back_to(merchant_id)


@bp.post("/merchants/<int:merchant_id>/reconciliations")
@admin_only
def merchant_reconciliation_upload(merchant_id: int):
    """The merchant's own CSV for a period; a worker matches it (`redemption.reconciliation`)."""
    form = request.form
    try:
        start, end = date.fromisoformat(form.get("start", "")), date.fromisoformat(form.get("end", ""))
    except ValueError:
        flash("请填写对账的起止日期。", "error")
        return _back_to(merchant_id)
    upload = request.files.get("csv_file")
    raw = upload.read(merchant_reconciliation.MAX_CSV_BYTES + 1) if upload else b""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        flash(messages.render("csv_not_utf8"), "error")
        return _back_to(merchant_id)
    if len(raw) > merchant_reconciliation.MAX_CSV_BYTES:
        flash(messages.render("csv_too_large"), "error")
        return _back_to(merchant_id)
    run_action(lambda: merchant_reconciliation.submit(db.session, page_actor(), merchant_id, start=start, end=end,
                                                      csv_text=text),
               "对账文件已上传，核对完成后刷新本页查看结果。")
    return _back_to(merchant_id)


def _parse_reward_form(form) -> dict:
    """The edit form's values; ValueError names nothing, the caller shows one message."""
    name = form.get("name", "").strip()
    if not name or len(name) > 120:
        raise ValueError("name")
    return {"name": name, "description": form.get("description", "").strip()[:500] or None,
            "points_price": _int(form.get("points_price"), minimum=1),
            "per_person_limit": _int(form.get("per_person_limit"), minimum=1, optional=True),
            "hold_minutes": _int(form.get("hold_hours"), minimum=1) * 60}


@bp.route("/merchants/<int:merchant_id>/rewards/<int:reward_id>/edit", methods=["GET", "POST"])
@admin_only
def reward_edit(merchant_id: int, reward_id: int):
    """Edit a reward's name, description, price, per-person limit and pickup hours (`rewards.update_reward`)."""
    reward = rewards.get_reward(db.session, page_actor(), reward_id)
    rewards.merchant_for_manage(db.session, page_actor(), reward.merchant_id)
    if reward.merchant_id != merchant_id:
        return redirect(url_for("console_merchants.reward_edit", merchant_id=reward.merchant_id,
                                reward_id=reward_id))
    form = request.form
    if request.method == "POST":
        try:
            changes = _parse_reward_form(form)
        except (TypeError, ValueError):
            flash("请填写商品名称（120 字以内）；积分、限兑和有效小时须为正整数（限兑可留空表示不限）。", "error")
        else:
            if run_action(lambda: rewards.update_reward(db.session, page_actor(), reward_id, changes=changes),
                          f"已保存「{changes['name']}」。") is not None:
                return _back_to(merchant_id)
        return console.render("pages/console/reward_edit.html", reward=reward, form=form), 422
    values = {"name": reward.name, "description": reward.description or "", "points_price": reward.points_price,
              "per_person_limit": reward.per_person_limit or "", "hold_hours": reward.hold_minutes // 60 or 1}
    return console.render("pages/console/reward_edit.html", reward=reward, form=values)


RECONCILIATION_LABELS = {"queued": "核对中", "done": "已完成"}
