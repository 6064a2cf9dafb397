"""商户收银台 (/merchant): a shop assistant (a person holding `merchant_staff` on a merchant) types or scans a
volunteer's pickup code, sees the reward and the volunteer's masked name, confirms (capture) or refuses
(release); or takes a volunteer's pay code (付款码) with a reward from the shelf, sees whose it is and the
points, and confirms (hold and capture at once); today's redemptions; the settlement statement as CSV.
Machines keep using the API key.

Capture, refusal and the statement are the redemption and settlement services; every one of them checks
`actor.require_merchant`, so another merchant's code is refused there as well as here.
"""

from __future__ import annotations

from datetime import date, datetime

from flask import Blueprint, Response, flash, redirect, render_template, request, session, url_for
from sqlalchemy import or_, select

from timebank.clock import DISPLAY_TZ
from timebank.db_base import utcnow
from timebank.errors import DomainError, Forbidden
from timebank.extensions import db
from timebank.messages import describe
from timebank.pages import login_required, nav, page_actor, run_action, shanghai
from timebank.pages._login import add_login_routes
from timebank.pages.app_rewards import mask_name, status_label
from timebank.people.models import Merchant, Person, Role
from timebank.redemption import redemptions as redemption
from timebank.redemption import settlement
from timebank.redemption.models import Redemption, RedemptionStatus, Reward, RewardStatus

bp = Blueprint("merchant", __name__, url_prefix="/merchant")



def _context() -> dict:
    return {"area_title": "爱心商户收银台", "nav": nav.tabs("merchant"), "logout_endpoint": "merchant.logout"}


def render(template: str, **kwargs):
    return render_template(template, **_context(), merchant=current_merchant(), merchants=_my_merchants(),
                           status_label=status_label, **kwargs)


add_login_routes(bp, title="爱心商户收银台", home_endpoint="merchant.till", template_context=_context)
staff_only = login_required("merchant.login", roles={Role.merchant_staff})


def _my_merchants() -> list[Merchant]:
    actor = page_actor()
    ids = sorted(actor.merchant_ids()) if actor else []
    return list(db.session.scalars(select(Merchant).where(Merchant.id.in_(ids)).order_by(Merchant.id))) if ids else []


def current_merchant() -> Merchant | None:
    """The shop this assistant works for now (an assistant of two shops picks one; the choice is kept)."""
    actor = page_actor()
    if actor is None:
        return None
    ids = actor.merchant_ids()
    chosen = session.get("merchant_id")
    if chosen not in ids:
        chosen = min(ids) if ids else None
    return db.session.get(Merchant, chosen) if chosen else None


@bp.post("/switch")
@staff_only
def switch():
    wanted = request.form.get("merchant_id", type=int)
    if wanted not in page_actor().merchant_ids():
        raise Forbidden("not_merchant_staff")
    session["merchant_id"] = wanted
    return redirect(url_for("merchant.till"))


def _shelf() -> list[Reward]:
    """This shop's rewards on the shelf, for the pay-code form."""
    merchant = current_merchant()
    if merchant is None:
        return []
    return list(db.session.scalars(select(Reward).where(Reward.merchant_id == merchant.id,
                                                        Reward.status == RewardStatus.active)
                                   .order_by(Reward.points_price, Reward.id)))


@bp.get("")
@bp.get("/")
@staff_only
def till():
    return render("pages/merchant/till.html", found=None, shelf=_shelf(), paying=None)


@bp.post("/pay/lookup")
@staff_only
def pay_lookup():
    """付款码: the assistant types or scans the volunteer's pay code and picks the reward; the page shows whose
    code it is, the reward and the points before anything moves."""
    code, reward_id = request.form.get("pay_code", ""), request.form.get("reward_id", type=int)
    shelf = _shelf()
    if reward_id is None:
        flash("请选择要兑换的商品。", "error")
        return render("pages/merchant/till.html", found=None, shelf=shelf, paying=None, pay_code=code), 422
    try:
        person, reward, available = redemption.peek_pay_code(db.session, page_actor(), pay_code=code,
                                                             reward_id=reward_id)
    except DomainError as exc:
        flash(describe(exc), "error")
        return render("pages/merchant/till.html", found=None, shelf=shelf, paying=None, pay_code=code,
                      reward_id=reward_id), exc.status
    paying = {"code": redemption.normalise_code(code), "reward": reward, "volunteer": mask_name(person.name),
              "available": available}
    return render("pages/merchant/till.html", found=None, shelf=shelf, paying=paying)


@bp.post("/pay/confirm")
@staff_only
def pay_confirm():
    """The pay code is used up, the points held and captured in one step: the volunteer is at the counter."""
    code, reward_id = request.form.get("pay_code", ""), request.form.get("reward_id", type=int) or 0

    def pay():
        red = redemption.redeem_at_till(db.session, page_actor(), pay_code=code, reward_id=reward_id)
        return redemption.capture(db.session, page_actor(), red.id)

    done = run_action(pay)
    if done is not None:
        reward = db.session.get(Reward, done.reward_id)
        flash(f"收款成功：{reward.name}，{done.points} 积分。", "ok")
    return redirect(url_for("merchant.till"))


def _find(code: str) -> Redemption | None:
    if not redemption.normalise_code(code):
        return None
    return db.session.scalar(select(Redemption).where(Redemption.code_hash == redemption.code_hash(code)))


@bp.post("/lookup")
@staff_only
def lookup():
    """Show what a code is for before confirming it; only this shop's codes are shown at all."""
    code = request.form.get("code", "")
    red = _find(code)
    merchant = current_merchant()
    if red is None:
        flash("兑换码无效，请核对后重新输入。", "error")
        return render("pages/merchant/till.html", found=None, code=code, shelf=_shelf(), paying=None), 404
    if merchant is None or red.merchant_id != merchant.id:
        flash("该兑换码不属于本店，不能核销。", "error")
        return render("pages/merchant/till.html", found=None, code=code, shelf=_shelf(), paying=None), 403
    red = redemption.get_visible(db.session, page_actor(), red.id)
    reward = db.session.get(Reward, red.reward_id)
    person = db.session.get(Person, red.person_id)
    return render("pages/merchant/till.html", found=red, reward=reward, volunteer=mask_name(person.name),
                  shelf=_shelf(), paying=None,
                  code=redemption.normalise_code(code), live=red.status == RedemptionStatus.held
                  and red.expires_at > utcnow())


@bp.post("/confirm")
@staff_only
def confirm():
    code = request.form.get("code", "")
    red = _find(code)
    merchant = current_merchant()
    if red is not None and merchant is not None and red.merchant_id != merchant.id:
        flash("该兑换码不属于本店，不能核销。", "error")
        return redirect(url_for("merchant.till"))
    done = run_action(lambda: redemption.confirm_code(db.session, page_actor(), code=code))
    if done is not None:
        reward = db.session.get(Reward, done.reward_id)
        if getattr(done, "just_changed", True):
            flash(f"核销成功：{reward.name}，{done.points} 积分。", "ok")
        else:
            flash(f"该兑换已于 {done.captured_at.astimezone(DISPLAY_TZ):%H:%M} 核销过，未重复扣分。", "ok")
    return redirect(url_for("merchant.till"))


@bp.post("/redemptions/<int:redemption_id>/refuse")
@staff_only
def refuse(redemption_id: int):
    reason = request.form.get("reason", "").strip()[:200] or None
    run_action(lambda: redemption.refuse(db.session, page_actor(), redemption_id, reason=reason),
               "已拒绝该兑换，积分已退回志愿者。")
    return redirect(url_for("merchant.till"))


def _today_start() -> datetime:
    local = utcnow().astimezone(DISPLAY_TZ).replace(hour=0, minute=0, second=0, microsecond=0)
    return local.astimezone(utcnow().tzinfo)


@bp.get("/today")
@staff_only
def today():
    merchant = current_merchant()
    rows = []
    if merchant is not None:
        start = _today_start()
        stmt = redemption.list_statement(db.session, page_actor(), merchant_id=merchant.id)
        stmt = stmt.where(or_(Redemption.created_at >= start, Redemption.captured_at >= start,
                              Redemption.released_at >= start))
        rows = db.session.execute(stmt.add_columns(Reward.name, Person.name)
                                  .join(Reward, Reward.id == Redemption.reward_id)
                                  .join(Person, Person.id == Redemption.person_id)
                                  .order_by(Redemption.id.desc()).limit(200)).all()
    captured = [r for r, _n, _p in rows if r.status == RedemptionStatus.captured]
    return render("pages/merchant/today.html", rows=[(r, n, mask_name(p)) for r, n, p in rows],
                  total_points=sum(r.points for r in captured), captured_count=len(captured))


def _date(text: str | None, default: date) -> date:
    try:
        return date.fromisoformat(text) if text else default
    except ValueError:
        return default


@bp.get("/statement")
@staff_only
def statement():
    """The period's captured redemptions; `format=csv` downloads the same statement the API gives."""
    merchant = current_merchant()
    if merchant is None:
        raise Forbidden("not_merchant_staff", variant="any")
    local_today = utcnow().astimezone(DISPLAY_TZ).date()
    # One name for a statement's period everywhere (the API's); the older start / end still work.
    start = _date(request.args.get("period_start") or request.args.get("start"), local_today.replace(day=1))
    end = _date(request.args.get("period_end") or request.args.get("end"), local_today)
    try:
        data = settlement.statement(db.session, page_actor(), merchant.id, start=start, end=end)
    except DomainError as exc:
        flash(describe(exc), "error")
        data = None
    if data is not None and request.args.get("format") == "csv":
        name = f"statement-{merchant.id}-{start:%Y%m%d}-{end:%Y%m%d}.csv"
        return Response(settlement.statement_csv(data), mimetype="text/csv",
                        headers={"Content-Disposition": f"attachment; filename={name}"})
    if data is not None:
        for item in data["redemptions"]:
            item["captured_local"] = shanghai(datetime.fromisoformat(item["captured_at"]))
    return render("pages/merchant/statement.html", data=data, start=start, end=end)
