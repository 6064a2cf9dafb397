"""单位认领微心愿 (/employer/wishes): a unit's contact claims a resident's micro-wish for the unit, with goods or
with service, marks it fulfilled with the people it helped (惠及群众), and follows the resident's confirmation.

The rules are `hours.wishes` (the API's), which check that the person is a contact of the unit."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from sqlalchemy import select

from timebank import labels
from timebank.extensions import db
from timebank.hours import wishes
from timebank.hours.models import Need, WishWay
from timebank.pages import employer, page_actor, run_action
from timebank.pages.app_rewards import mask_name
from timebank.people.models import Org, Person

bp = Blueprint("employer_wishes", __name__, url_prefix="/employer")
OPEN_SHOWN = 50


def open_wish_rows(org_path: str, limit: int = OPEN_SHOWN) -> list[dict]:
    """Open wishes under `org_path`, oldest first, with the community's name and the resident's masked name."""
    rows = db.session.execute(wishes.open_wishes_stmt(org_path).join(Person, Person.id == Need.requester_id)
                              .add_columns(Person.name).limit(limit)).all()
    names = dict(db.session.execute(select(Org.id, Org.name).where(
        Org.id.in_({n.community_id for n, _ in rows}))).all()) if rows else {}
    return [{"need": n, "requester": mask_name(name), "community": names.get(n.community_id, "")} for n, name in rows]


def claim_form(form) -> tuple[WishWay | None, str]:
    way = form.get("way")
    return (WishWay(way) if way in WishWay.__members__ else None), form.get("goods_description", "").strip()[:1000]


@bp.get("/wishes")
@employer.contact_only
def wishes_page():
    """Open wishes where the unit is registered (its district or street), and the unit's claims."""
    unit = employer.current_employer()
    open_rows = open_wish_rows(unit.org.path) if unit else []
    claims = db.session.execute(wishes.claims_stmt(employer_id=unit.id).limit(100)).all() if unit else []
    return employer.render("pages/employer/wishes.html", open_rows=open_rows, claims=claims,
                           ways=labels.WISH_WAYS, claim_labels=labels.WISH_CLAIM_STATES)


@bp.post("/wishes/<int:need_id>/claim")
@employer.contact_only
def claim(need_id: int):
    unit = employer.current_employer()
    way, goods = claim_form(request.form)
    if unit is None or way is None:
        flash("请选择认领方式（捐赠物资或上门服务）。", "error")
    else:
        run_action(lambda: wishes.claim(db.session, page_actor(), need_id, way=way, goods_description=goods,
                                        employer_id=unit.id), f"已以{unit.name}的名义认领心愿。")
    return redirect(url_for("employer_wishes.wishes_page"))


@bp.post("/wish-claims/<int:claim_id>/fulfil")
@employer.contact_only
def fulfil(claim_id: int):
    helped = request.form.get("people_helped", type=int)
    if helped is None:
        flash("请填写惠及人数。", "error")
    else:
        run_action(lambda: wishes.fulfil(db.session, page_actor(), claim_id, people_helped=helped),
                   "已标记完成，等待居民确认。")
    return redirect(url_for("employer_wishes.wishes_page"))
