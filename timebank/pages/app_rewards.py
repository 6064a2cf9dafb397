"""志愿者 app, the screens that spend or give: 兑换 (rewards, pickup code with QR and countdown, my redemptions),
转赠 (gift points with a confirmation step) and 微心愿 (post a wish, follow it, rate the service).

Every screen calls the same service functions as the API (`redemption`, `rewards`, `gifts`, `needs`,
`ratings`); the only logic here is presentation: labels, which code to show, where to go next.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from datetime import datetime

import segno
from flask import Blueprint, flash, redirect, request, session, url_for
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from timebank import labels, messages, uow
from timebank.accounts import gifts
from timebank.db_base import utcnow
from timebank.errors import DomainError, TimebankError
from timebank.extensions import db
from timebank.hours import needs, ratings
from timebank.hours import wishes as wish_claims
from timebank.hours.models import Need, NeedKind, NeedStatus, Rating, WishWay
from timebank.messages import describe
from timebank.pages import app as app_pages
from timebank.pages import page_actor, run_action
from timebank.people import orgs
from timebank.people import persons as people
from timebank.people.models import OrgKind, Person
from timebank.redemption import redemptions as redemption
from timebank.redemption import rewards
from timebank.redemption.models import Redemption, RedemptionStatus, ReleaseReason, Reward

bp = Blueprint("app_rewards", __name__, url_prefix="/app")
volunteer = app_pages.volunteer


def mask_name(name: str) -> str:
    """What a till or a giver sees of someone else: the family name."""
    return (name[:1] + "*" * max(len(name) - 1, 1)) if name else "*"


def form_key() -> str:
    """A fresh idempotency key for a form that moves value: a double submit carries the same key."""
    return secrets.token_urlsafe(18)


def _valid_key(text: str | None) -> str:
    if not text or not re.fullmatch(r"[A-Za-z0-9_-]{8,64}", text):
        raise TimebankError("form_expired")
    return text


# --- labels --------------------------------------------------------------------------------------------------

RELEASE_LABELS = {ReleaseReason.refused: "商户已拒绝", ReleaseReason.cancelled: "已取消",
                  ReleaseReason.expired: "已过期"}
NEED_LABELS = {NeedStatus(k): v for k, v in labels.NEED_STATES.items()}


def status_label(red: Redemption, now: datetime | None = None) -> str:
    if red.status == RedemptionStatus.captured:
        return "已核销"
    if red.status == RedemptionStatus.released:
        return RELEASE_LABELS.get(red.release_reason, "已退回")
    if red.expires_at <= (now or utcnow()):
        return "已过期"
    return "待核销"


def render(template: str, **kwargs):
    return app_pages.render(template, status_label=status_label, **kwargs)


def _me() -> int:
    return page_actor().person_id


def _available() -> int:
    try:
        return rewards.available_points(db.session, _me())
    except DomainError:  # no home community yet: nothing to spend
        return 0


# --- 兑换 ----------------------------------------------------------------------------------------------------


@bp.get("/rewards")
@volunteer
def catalogue():
    """Rewards offered in my community, with the shop, its address and opening hours: first those my available
    points cover, then the rest with how many points are still missing."""
    available = _available()
    try:
        stmt = rewards.catalogue_statement(db.session, page_actor())
        items = list(db.session.scalars(stmt.order_by(Reward.points_price, Reward.id).limit(100)))
        problem = None
    except DomainError as exc:
        items, problem = [], describe(exc)
    shops = rewards.shops(db.session, sorted({r.merchant_id for r in items}))
    affordable = [r for r in items if r.points_price <= available]
    later = [r for r in items if r.points_price > available]
    return render("pages/app/rewards.html", rewards=affordable, later=later, shops=shops, available=available,
                  problem=problem, key=form_key())


def _pickup_codes() -> dict:
    return session.get("pickup_codes") or {}


def _remember_code(redemption_id: int, code: str) -> None:
    """The code exists in clear only for its owner's session (the row keeps its hash); keep the last few."""
    codes = dict(_pickup_codes())
    codes[str(redemption_id)] = code
    session["pickup_codes"] = dict(list(codes.items())[-5:])


def _redeem_once(reward_id: int, key: str) -> tuple[int, str | None]:
    """`redemption.redeem` once per form key, as the API's Idempotency-Key does: a repeat returns the first."""
    actor = page_actor()
    stored_key = f"page:redeem:{key}"
    digest = hashlib.sha256(f"redeem:{reward_id}".encode()).hexdigest()
    row = uow.stored_response(db.session, actor.label, stored_key)
    if row is not None:
        return json.loads(row.body)["redemption_id"], None
    red, code = redemption.redeem(db.session, actor, reward_id=reward_id)
    uow.store_response(db.session, actor.label, stored_key, request_hash=digest, status_code=201,
                       body=json.dumps({"redemption_id": red.id}))
    db.session.flush()
    return red.id, code


@bp.post("/rewards/<int:reward_id>/redeem")
@volunteer
def redeem(reward_id: int):
    key = _valid_key(request.form.get("key"))
    try:
        result = run_action(lambda: _redeem_once(reward_id, key), "兑换成功，请到店出示取货码。")
    except IntegrityError:  # a twin of this submit committed first: show what it made
        uow.rollback()
        row = uow.stored_response(db.session, page_actor().label, f"page:redeem:{key}")
        result = (json.loads(row.body)["redemption_id"], None) if row else None
    if result is None:
        return redirect(url_for("app_rewards.catalogue"))
    redemption_id, code = result
    if code:
        _remember_code(redemption_id, code)
    return redirect(url_for("app_rewards.redemption_page", redemption_id=redemption_id))


def _own(redemption_id: int) -> Redemption:
    red = redemption.get_visible(db.session, page_actor(), redemption_id)
    page_actor().require_person(red.person_id)  # the app shows a volunteer their own only
    return red


def _qr_svg(payload: str) -> Markup:
    qr = segno.make(payload, error="m")
    return Markup(qr.svg_inline(scale=6, border=2, dark="#000", light="#fff", omitsize=True, title="取货二维码"))


@bp.get("/redemptions/<int:redemption_id>")
@volunteer
def redemption_page(redemption_id: int):
    """The pickup code shown large, its QR and the time left; the till types or scans either."""
    red = _own(redemption_id)
    reward = db.session.get(Reward, red.reward_id)
    code = _pickup_codes().get(str(red.id))
    live = red.status == RedemptionStatus.held and red.expires_at > utcnow()
    shown = None
    if live and code:
        shown = {"display": redemption.display_code(code), "qr": _qr_svg(redemption.qr_payload(red.id, code))}
    return render("pages/app/redemption.html", red=red, reward=reward, shown=shown, live=live)


@bp.post("/redemptions/<int:redemption_id>/code")
@volunteer
def new_code(redemption_id: int):
    """Show the code on another visit: a new one is issued (codes are kept hashed) and the old one stops."""
    result = run_action(lambda: redemption.reissue_code(db.session, page_actor(), redemption_id), "已生成新的取货码。")
    if result is not None:
        _remember_code(result[0].id, result[1])
    return redirect(url_for("app_rewards.redemption_page", redemption_id=redemption_id))


@bp.post("/redemptions/<int:redemption_id>/cancel")
@volunteer
def cancel(redemption_id: int):
    run_action(lambda: redemption.cancel(db.session, page_actor(), redemption_id), "已取消兑换，积分已退回。")
    return redirect(url_for("app_rewards.redemption_page", redemption_id=redemption_id))


@bp.get("/redemptions")
@volunteer
def my_redemptions():
    stmt = redemption.list_statement(db.session, page_actor())
    rows = db.session.execute(stmt.add_columns(Reward.name).join(Reward, Reward.id == Redemption.reward_id)
                              .order_by(Redemption.id.desc()).limit(50)).all()
    return render("pages/app/redemptions.html", rows=rows, now=utcnow())


# --- 付款码 --------------------------------------------------------------------------------------------------


def _qr_pay(code: str) -> Markup:
    qr = segno.make(code, error="m")
    return Markup(qr.svg_inline(scale=6, border=2, dark="#000", light="#fff", omitsize=True, title="付款二维码"))


@bp.get("/pay-code")
@volunteer
def pay_code():
    """The pay code (付款码) the till types or scans; shown only in this session, until it expires."""
    shown = None
    kept = session.get("pay_code")
    if kept and datetime.fromisoformat(kept["expires_at"]) > utcnow():
        shown = {"display": redemption.display_code(kept["code"]), "qr": _qr_pay(kept["code"]),
                 "expires_at": datetime.fromisoformat(kept["expires_at"])}
    return render("pages/app/pay_code.html", shown=shown, available=_available())


@bp.post("/pay-code")
@volunteer
def new_pay_code():
    """A fresh one-time pay code, valid five minutes (the code is kept hashed; its clear text only here)."""
    result = run_action(lambda: redemption.issue_pay_code(db.session, page_actor()))
    if result is not None:
        row, code = result
        session["pay_code"] = {"code": code, "expires_at": row.expires_at.isoformat()}
    return redirect(url_for("app_rewards.pay_code"))


# --- 转赠 ----------------------------------------------------------------------------------------------------


def _recipient(form) -> tuple[str, Person | None, str | None]:
    """(kind, person, problem) from the gift form; the relative is found by phone number (typed with spaces,
    dashes or +86 as people do)."""
    kind = form.get("to", "person")
    if kind == "fund":
        return "fund", None, None
    phone = people.normalise_phone(form.get("phone"))
    if not people.is_mobile(phone):
        return "person", None, "请填写受赠人的 11 位手机号。"
    try:
        person = gifts.recipient_by_phone(db.session, page_actor(), form.get("phone"))
    except DomainError as exc:
        return "person", None, describe(exc)
    return "person", person, None


def _amount(form) -> int | None:
    try:
        amount = int(form.get("amount", ""))
    except ValueError:
        return None
    return amount if amount > 0 else None


@bp.get("/gift")
@volunteer
def gift():
    return render("pages/app/gift.html", available=_available(), community=_my_community(), form={})


def _my_community():
    try:
        return rewards.volunteer_community(db.session, _me())
    except DomainError:
        return None


@bp.post("/gift/review")
@volunteer
def gift_review():
    """The confirmation step: who receives (masked name) and how much, before anything moves."""
    form = request.form
    kind, person, problem = _recipient(form)
    amount = _amount(form)
    if problem is None and amount is None:
        problem = "请填写大于 0 的整数积分。"
    community = _my_community()
    if problem is None and kind == "fund" and community is None:
        problem = "您尚未登记所在社区，无法向社区基金转赠。"
    available = _available()
    if problem is None and amount > available:
        problem = messages.render("gift_exceeds_available", params={
            "available": available, "amount": amount, "shortfall": amount - available})
    if problem is None and len(form.get("note", "").strip()) > gifts.MAX_NOTE_PAGE:
        problem = messages.render("gift_note_too_long", params={"max_chars": gifts.MAX_NOTE_PAGE})
    if problem is not None:
        flash(problem, "error")
        return render("pages/app/gift.html", available=available, community=community, form=form), 422
    to_label = f"{mask_name(person.name)}（{person.phone[:3]}****{person.phone[-4:]}）" if person \
        else f"{community.name}爱心基金"
    return render("pages/app/gift_confirm.html", kind=kind, person=person, community=community, amount=amount,
                  note=form.get("note", "").strip(), to_label=to_label, key=form_key())


@bp.post("/gift")
@volunteer
def gift_send():
    """Moves the points. The form's key makes a second submit return the first gift, not a second one."""
    form = request.form
    key = _valid_key(form.get("key"))
    kind, person, problem = _recipient(form)
    amount = _amount(form)
    community = _my_community()
    if problem or amount is None or (kind == "fund" and community is None):
        flash(problem or "转赠信息不完整，请重新填写。", "error")
        return redirect(url_for("app_rewards.gift"))
    done = run_action(lambda: gifts.give(
        db.session, page_actor(), key=f"page:{key}", amount=amount,
        to_person_id=person.id if person else None, to_community_id=community.id if kind == "fund" else None,
        note=form.get("note", "").strip()[:gifts.MAX_NOTE_PAGE] or None), f"已转赠 {amount} 积分。")
    return redirect(url_for("app_pages.home") if done is not None else url_for("app_rewards.gift"))


# --- 微心愿 --------------------------------------------------------------------------------------------------


@bp.get("/wishes")
@volunteer
def wishes():
    """My wishes and requests with their status; a fulfilled one can be rated once."""
    me = _me()
    rows = list(db.session.scalars(select(Need).where(Need.requester_id == me).order_by(Need.id.desc()).limit(50)))
    rated = {r.need_id: r for r in db.session.scalars(select(Rating).where(Rating.need_id.in_([n.id for n in rows])))}
    home = db.session.get(Person, me).home_org
    categories = needs.categories(db.session, home) if home is not None else None
    return render("pages/app/wishes.html", needs=rows, rated=rated, labels=NEED_LABELS, categories=categories or [],
                  has_home=home is not None, form={}, **_wish_claims_context(me, home, rows))


@bp.post("/wishes")
@volunteer
def post_wish():
    form = request.form
    title = form.get("title", "").strip()
    home = db.session.get(Person, _me()).home_org
    if not title or len(title) > 120:
        flash("请用 1 至 120 个字写下您的心愿。", "error")
    elif home is None:
        flash("您尚未登记所在社区，请联系网格员。", "error")
    else:
        run_action(lambda: needs.post(db.session, page_actor(), kind=NeedKind.micro_wish, org_id=home.id, title=title,
                               description=form.get("description", "").strip()[:2000],
                               category=form.get("category") or None),
                   "心愿已提交，社区会尽快受理。")
    return redirect(url_for("app_rewards.wishes"))


@bp.post("/wishes/<int:need_id>/rate")
@volunteer
def rate(need_id: int):
    stars = request.form.get("stars", type=int)
    if stars is None:
        flash("请选择 1 至 5 星。", "error")
    else:
        run_action(lambda: ratings.rate(db.session, page_actor(), need_id, stars=stars,
                                 comment=request.form.get("comment", "").strip()[:500]), "感谢您的评价！")
    return redirect(url_for("app_rewards.wishes"))


# --- 微心愿认领: open wishes near my home community, claim, my claims, the resident's confirmation ---------------

NEARBY_SHOWN = 30


def _wish_claims_context(me: int, home, my_needs: list[Need]) -> dict:
    """What the wishes page shows beside my own wishes: open wishes of others in my home community, my claims,
    and the active claim of each of my wishes (a fulfilled one waits for my confirmation)."""
    nearby = []
    if home is not None:
        community = orgs.community_of(db.session, home) if home.kind != OrgKind.district else None
        if community is not None:
            nearby = list(db.session.scalars(wish_claims.open_wishes_stmt(community.path)
                                             .where(Need.requester_id != me).limit(NEARBY_SHOWN)))
    mine = db.session.execute(wish_claims.claims_stmt(person_id=me).limit(50)).all()
    return {"nearby": nearby, "my_claims": mine, "claims_of_mine": wish_claims.claims_for_needs(
        db.session, [n.id for n in my_needs if n.kind == NeedKind.micro_wish]),
        "ways": labels.WISH_WAYS, "claim_labels": labels.WISH_CLAIM_STATES}


@bp.post("/wishes/<int:need_id>/claim")
@volunteer
def claim_wish(need_id: int):
    way = request.form.get("way")
    if way not in WishWay.__members__:
        flash("请选择认领方式（捐赠物资或上门服务）。", "error")
    else:
        run_action(lambda: wish_claims.claim(db.session, page_actor(), need_id, way=WishWay(way),
                                        goods_description=request.form.get("goods_description", "").strip()[:1000]),
                   "认领成功！完成后请在“我认领的心愿”里标记完成。")
    return redirect(url_for("app_rewards.wishes"))


@bp.post("/wish-claims/<int:claim_id>/fulfil")
@volunteer
def fulfil_wish(claim_id: int):
    helped = request.form.get("people_helped", type=int)
    if helped is None:
        flash("请填写惠及人数。", "error")
    else:
        run_action(lambda: wish_claims.fulfil(db.session, page_actor(), claim_id, people_helped=helped),
                   "已标记完成，等待居民确认。")
    return redirect(url_for("app_rewards.wishes"))


@bp.post("/wish-claims/<int:claim_id>/withdraw")
@volunteer
def withdraw_wish(claim_id: int):
    run_action(lambda: wish_claims.withdraw(db.session, page_actor(), claim_id), "已放弃认领，心愿重新开放给其他人。")
    return redirect(url_for("app_rewards.wishes"))


@bp.post("/wish-claims/<int:claim_id>/confirm")
@volunteer
def confirm_wish(claim_id: int):
    run_action(lambda: wish_claims.confirm(db.session, page_actor(), claim_id), "已确认心愿完成，感谢您的反馈。")
    return redirect(url_for("app_rewards.wishes"))
