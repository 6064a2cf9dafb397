"""爱心银行 (/app): 注册 (self-registration with a real name and a phone code), 入社申请 (the join request's
status, asking again after a refusal), 找回密码 (a new password by phone code). The same rules as the API."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, request, url_for

from timebank import labels, uow
from timebank.db_base import utcnow
from timebank.errors import DomainError
from timebank.extensions import db, redis_ext
from timebank.joining import passwords, signup
from timebank.messages import describe
from timebank.notify import codes
from timebank.pages import app as volunteer_app
from timebank.pages import page_actor, run_action, sign_in
from timebank.people import login_limits
from timebank.people import persons as people

bp = Blueprint("app_joining", __name__, url_prefix="/app")

SIGNUP_FIELDS = ("phone", "code", "name", "id_number", "community_id")  # kept in the form (never the password)


def _send_code(phone: str, purpose: str) -> None:
    """The 获取验证码 button: braked per address (like the API) and per phone (one a minute)."""
    phone = people.normalise_phone(phone)

    def send():
        login_limits.for_address(redis_ext.connection, utcnow(), request.remote_addr).code_requested()
        return codes.send_code(db.session, phone, purpose)

    run_action(send, "验证码已发送，请查看短信（5 分钟内有效）。")


def _tree() -> list[tuple[str, list]]:
    """Communities grouped by street, for the picker: [(street name, [community, ...]), ...]."""
    rows = signup.community_tree(db.session)
    names = {o.id: o.name for o in rows}
    groups: dict[str, list] = {}
    for org in rows:
        if org.kind == "community":
            groups.setdefault(names.get(org.parent_id, ""), []).append(org)
    return list(groups.items())


@bp.route("/signup", methods=["GET", "POST"])
def signup_page():
    form = {key: request.form.get(key, "") for key in SIGNUP_FIELDS}
    if request.method == "POST":
        if request.form.get("action") == "send_code":
            _send_code(form["phone"], signup.SIGNUP)
        elif request.form.get("password", "") != request.form.get("password_again", ""):
            flash("两次输入的密码不一致。", "error")
        else:
            done = _sign_up(form)
            if done is not None:
                return done
    return volunteer_app.render("pages/app/signup.html", form=form, groups=_tree(),
                                min_length=people.MIN_PASSWORD_LENGTH)


def _sign_up(form: dict):
    try:
        result = signup.sign_up(db.session, phone=form["phone"], code=form["code"],
                                name=form["name"], id_number=form["id_number"],
                                community_id=int(form["community_id"]) if form["community_id"].isdigit() else 0,
                                password=request.form.get("password", ""),
                                id_number_key=current_app.config["ID_NUMBER_HASH_KEY"])
    except DomainError as exc:
        uow.rollback()
        flash(describe(exc), "error")
        return None
    uow.commit()  # a wrong code's try counts
    if result.refusal is not None:
        flash(describe(result.refusal), "error")
        return None
    sign_in(result.person)
    flash(f"注册成功，您的志愿者编号是 {result.person.volunteer_no}。", "ok")
    return redirect(url_for("app_joining.join_status"))


@bp.route("/join", methods=["GET", "POST"])
@volunteer_app.volunteer
def join_status():
    actor = page_actor()
    if request.method == "POST":
        community_id = request.form.get("community_id", type=int) or 0
        run_action(lambda: signup.ask_to_join(db.session, actor, community_id), "已提交入社申请，请等待社区审核。")
        return redirect(url_for("app_joining.join_status"))
    person = people.get(db.session, actor.person_id)
    requests = signup.mine(db.session, actor)
    can_ask = person.home_org_id is None and not any(r.status == "pending" for r in requests)
    return volunteer_app.render("pages/app/join.html", person=person, requests=requests, states=labels.JOIN_STATES,
                                can_ask=can_ask, groups=_tree() if can_ask else [])


@bp.route("/password-reset", methods=["GET", "POST"])
def password_reset():
    phone = request.form.get("phone", "")
    if request.method == "POST":
        if request.form.get("action") == "send_code":
            _send_code(phone, passwords.RESET)
        elif request.form.get("new_password", "") != request.form.get("new_password_again", ""):
            flash("两次输入的新密码不一致。", "error")
        else:
            try:
                _person, refusal = passwords.reset_password(db.session, phone=phone, code=request.form.get("code", ""),
                                                            new_password=request.form.get("new_password", ""))
            except DomainError as exc:
                uow.rollback()
                flash(describe(exc), "error")
            else:
                uow.commit()
                if refusal is not None:
                    flash(describe(refusal), "error")
                else:
                    flash("密码已重置，请用新密码登录。其他设备上的登录已全部失效。", "ok")
                    return redirect(url_for("app_pages.login"))
    return volunteer_app.render("pages/app/password_reset.html", phone=phone, min_length=people.MIN_PASSWORD_LENGTH)
