"""The login / logout views every page area shares."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from timebank.db_base import utcnow
from timebank.errors import DomainError
from timebank.extensions import db, redis_ext
from timebank.messages import describe
from timebank.pages import page_actor, run_action, safe_next, sign_in, sign_out
from timebank.pages.errors import retry_after
from timebank.people import login_limits
from timebank.people import persons as people


def add_login_routes(bp: Blueprint, *, title: str, home_endpoint: str, template_context) -> None:
    """`/login` and `/logout` on an area blueprint, rendering with the area's context."""

    def login():
        next_url = safe_next(request.values.get("next"), url_for(home_endpoint))
        phone = request.form.get("phone", "").strip()
        status, headers = 200, {}
        if request.method == "POST":
            try:
                limits = login_limits.for_address(redis_ext.connection, utcnow(), request.remote_addr)
                person = people.authenticate(db.session, phone, request.form.get("password", ""), limits)
            except DomainError as exc:
                db.session.rollback()
                flash(describe(exc), "error")
                if exc.status in (429, 503):
                    status, headers = exc.status, retry_after(exc)
            else:
                db.session.rollback()
                sign_in(person)
                return redirect(next_url)
        return render_template("pages/login.html", next=next_url, phone=phone, **template_context()), status, headers

    def logout():
        actor = page_actor()
        if actor is not None and actor.person_id:  # a copy of this cookie, or any other session, ends too
            run_action(lambda: people.log_out_everywhere(db.session, actor), None)
        sign_out()
        return redirect(url_for(f"{bp.name}.login"))

    bp.add_url_rule("/login", "login", login, methods=["GET", "POST"])
    bp.add_url_rule("/logout", "logout", logout, methods=["POST"])
