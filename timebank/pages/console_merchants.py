"""社区工作台: 爱心商户 (merchants in scope, suspend / resume, their rewards, add a reward) and 对账 (the latest
ledger reconciliation run). The services decide who may do what: `partners.set_merchant_status` and
`rewards.create_reward` want an admin over the merchant; reconciliation runs are for auditors and district
admins (`ledger.access.require_reconciliation_reader`)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from sqlalchemy import select

from timebank.errors import TimebankError
from timebank.extensions import db
from timebank.ledger import access as ledger_access
from timebank.ledger.models import ReconciliationRun
from timebank.models.org import Org
from timebank.models.partners import Merchant, MerchantStatus
from timebank.models.redemption import MerchantCommunity, Reward
from timebank.pages import console, page_actor
from timebank.pages.app_rewards import act, chinese_refusals, in_chinese
from timebank.services import partners, rewards
from timebank.services.access import ADMIN_ROLES, READ_ROLES, org_scope_clause

bp = Blueprint("console_merchants", __name__, url_prefix="/console")
admin_only = console.admin_only

def _reads_reconciliation() -> bool:
    from timebank.models.people import Role

    actor = page_actor()
    return actor is not None and any(gr.role in (Role.auditor, Role.district_admin) for gr in actor.grants)


console.EXTRA_NAV.extend([("console_merchants.merchants", "爱心商户"),
                          ("console_merchants.reconciliation", "对账", _reads_reconciliation)])

MERCHANT_STATUS = {MerchantStatus.active: "正常", MerchantStatus.suspended: "已暂停"}


@bp.get("/merchants")
@admin_only
def merchants():
    """Merchants registered inside my scope (I may manage them), and those serving my communities (read only)."""
    actor = page_actor()
    managed = list(db.session.scalars(select(Merchant).join(Org, Org.id == Merchant.org_id).where(
        org_scope_clause(actor, READ_ROLES, Org.path)).order_by(Merchant.id)))
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
        act(lambda: partners.set_merchant_status(db.session, page_actor(), merchant_id, status),
            "商户已恢复兑换。" if status == MerchantStatus.active else "商户已暂停兑换。")
    return redirect(request.form.get("back") or url_for("console_merchants.merchants"))


@bp.get("/merchants/<int:merchant_id>")
@admin_only
def merchant_detail(merchant_id: int):
    actor = page_actor()
    with chinese_refusals():
        merchant = partners.get_merchant(db.session, actor, merchant_id)
        items = list(db.session.scalars(rewards.catalogue_statement(db.session, actor, merchant_id=merchant_id)
                                        .order_by(Reward.id.desc()).limit(200)))
    served_ids = rewards.served_community_ids(db.session, merchant_id)
    served = list(db.session.scalars(select(Org).where(Org.id.in_(served_ids)).order_by(Org.id))) \
        if served_ids else []
    names = {o.id: o.name for o in served}
    return console.render("pages/console/merchant.html", merchant=merchant, rewards=items, served=served,
                          names=names, labels=MERCHANT_STATUS,
                          can_manage=actor.has_role_on(ADMIN_ROLES, merchant.org.path), form={})


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
    act(lambda: rewards.create_reward(db.session, page_actor(), merchant_id=merchant_id, name=name,
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
    except TimebankError:
        allowed = False
    runs = list(db.session.scalars(select(ReconciliationRun).order_by(ReconciliationRun.id.desc()).limit(10))) \
        if allowed else []
    return console.render("pages/console/reconciliation.html", allowed=allowed, latest=runs[0] if runs else None,
                          runs=runs), (200 if allowed else 403)


@bp.post("/reconciliation")
@admin_only
def reconciliation_start():
    """Queue a reconciliation now, as `POST /api/ledger/reconciliations` does."""
    from timebank.workers.jobs.ledger_maintenance import reconcile
    from timebank.workers.queues import LEDGER, queue

    actor = page_actor()
    try:
        ledger_access.require_reconciliation_reader(actor)
    except TimebankError as exc:
        flash(in_chinese(exc).detail, "error")
        return redirect(url_for("console_merchants.reconciliation"))
    queue(LEDGER).enqueue(reconcile, actor.label, job_timeout=3600, result_ttl=3600)
    flash("已开始对账，完成后刷新本页查看结果。", "ok")
    return redirect(url_for("console_merchants.reconciliation"))

