"""社区工作台: 账号与密钥 — who may sign in. An admin finds a person in scope by phone and deactivates them (every
session ends at once) or lets them back; issues, lists and revokes the API keys of the merchants and employers
registered in scope. The same rules as the API (`people.persons.set_active`, `people.partners.*_api_key`)."""

from __future__ import annotations

from flask import Blueprint, redirect, request, url_for

from timebank.extensions import db
from timebank.pages import console, page_actor, run_action
from timebank.people import partners
from timebank.people import persons as people
from timebank.people.access import ADMIN_ROLES
from timebank.people.models import Employer, Merchant

bp = Blueprint("console_access", __name__, url_prefix="/console")
admin_only = console.admin_only


def _confirmed() -> bool:
    """Irreversible steps are ticked as confirmed in the form itself (no script needed)."""
    return request.form.get("confirmed") == "1"


@bp.get("/access")
@admin_only
def access():
    actor = page_actor()
    phone = (request.args.get("phone") or "").replace(" ", "").removeprefix("+86")
    person = people.find_in_scope(db.session, actor, phone) if phone else None
    owners = []
    for kind, model in (("merchant", Merchant), ("employer", Employer)):
        for owner in db.session.scalars(partners.visible(actor, model).order_by(model.id)):
            if actor.has_role_on(ADMIN_ROLES, owner.org.path):
                keys = partners.api_keys(db.session, actor, **{f"{kind}_id": owner.id})
                owners.append({"kind": kind, "label": "爱心商户" if kind == "merchant" else "报到单位",
                               "owner": owner, "api_keys": keys})
    return console.render("pages/console/access.html", phone=phone, person=person, searched=bool(phone),
                          owners=owners, new_key=None)


@bp.post("/people/<int:person_id>/active")
@admin_only
def set_active(person_id: int):
    active = request.form.get("active") == "yes"
    if not active and not _confirmed():
        return console.render("pages/console/confirm_action.html", heading="停用账号", verb="停用", facts=[],
                              warning="停用后，该人员在所有设备上的登录立即失效，且无法再登录，直到恢复。",
                              action=url_for("console_access.set_active", person_id=person_id),
                              fields=[("active", "no"), ("reason", request.form.get("reason", "")),
                                      ("phone", request.form.get("phone", ""))], button="确认停用",
                              back=url_for("console_access.access", phone=request.form.get("phone", "")))
    run_action(lambda: people.set_active(db.session, page_actor(), person_id, active=active,
                                         reason=request.form.get("reason") or None),
               "账号已恢复。" if active else "账号已停用，其所有登录已失效。")
    return redirect(url_for("console_access.access", phone=request.form.get("phone", "")))


@bp.post("/keys/<kind>/<int:owner_id>")
@admin_only
def issue_key(kind: str, owner_id: int):
    owner = {"merchant_id": owner_id} if kind == "merchant" else {"employer_id": owner_id}
    issued = run_action(lambda: partners.issue_api_key(db.session, page_actor(), label=request.form.get("label")
                                                       or None, **owner))
    if issued is None:
        return redirect(url_for("console_access.access"))
    row, full = issued
    return console.render("pages/console/key_issued.html", key=full, prefix=row.prefix, label=row.label)


@bp.post("/keys/<kind>/<int:owner_id>/<int:key_id>/revoke")
@admin_only
def revoke_key(kind: str, owner_id: int, key_id: int):
    if not _confirmed():
        return console.render("pages/console/confirm_action.html", heading="吊销 API 密钥", verb="吊销", facts=[],
                              warning="吊销后，使用该密钥的收银台或系统立即无法再访问，此操作不可撤销。",
                              action=url_for("console_access.revoke_key", kind=kind, owner_id=owner_id,
                                             key_id=key_id), fields=[], button="确认吊销",
                              back=url_for("console_access.access"))
    owner = {"merchant_id": owner_id} if kind == "merchant" else {"employer_id": owner_id}
    run_action(lambda: partners.revoke_api_key(db.session, page_actor(), key_id, **owner), "密钥已吊销。")
    return redirect(url_for("console_access.access"))
