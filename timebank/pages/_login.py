"""The login / logout views every page area shares."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from timebank.errors import DomainError
from timebank.extensions import db
from timebank.messages import describe
from timebank.pages import safe_next, sign_in, sign_out
from timebank.people import persons as people


def add_login_routes(bp: Blueprint, *, title: str, home_endpoint: str, template_context) -> None:
    """`/login` and `/logout` on an area blueprint, rendering with the area's context."""

    def login():
        next_url = safe_next(request.values.get("next"), url_for(home_endpoint))
        phone = request.form.get("phone", "").strip()
        if request.method == "POST":
            try:
                person = people.authenticate(db.session, phone, request.form.get("password", ""))
            except DomainError as exc:
                db.session.rollback()
                flash(describe(exc), "error")
            else:
                db.session.rollback()
                sign_in(person)
                return redirect(next_url)
        return render_template("pages/login.html", next=next_url, phone=phone, **template_context())

    def logout():
        """Sign out; `next` (a path on this site) is where the next login goes — switching accounts."""
        next_url = safe_next(request.form.get("next"), "")
        sign_out()
        return redirect(url_for(f"{bp.name}.login", next=next_url or None))

    bp.add_url_rule("/login", "login", login, methods=["GET", "POST"])
    bp.add_url_rule("/logout", "logout", logout, methods=["POST"])
