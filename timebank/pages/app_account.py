"""爱心银行 (/app): 修改密码. A new password ends every other session of the person, on any device; this browser
stays signed in with the new session."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for

from timebank.db_base import utcnow
from timebank.extensions import db, redis_ext
from timebank.pages import app as volunteer_app
from timebank.pages import page_actor, run_action, sign_in
from timebank.people import login_limits
from timebank.people import persons as people

bp = Blueprint("app_account", __name__, url_prefix="/app")


@bp.route("/password", methods=["GET", "POST"])
@volunteer_app.volunteer
def password():
    if request.method == "POST":
        new, again = request.form.get("new_password", ""), request.form.get("new_password_again", "")
        if new != again:
            flash("两次输入的新密码不一致。", "error")
        else:
            limits = login_limits.for_address(redis_ext.connection, utcnow(), request.remote_addr)
            person = run_action(lambda: people.change_password(
                db.session, page_actor(), current=request.form.get("current_password", ""), new=new, limits=limits))
            if person is not None:
                sign_in(person)  # a fresh session for this browser (it clears the old one, flashes included)
                flash("密码已修改，其他设备上的登录已全部失效。", "ok")
                return redirect(url_for("app_account.password"))
    return volunteer_app.render("pages/app/password.html", min_length=people.MIN_PASSWORD_LENGTH)
