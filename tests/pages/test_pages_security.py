"""Page sessions and scope, through Flask's test client: forms without the CSRF token are refused, the session
cookie is HttpOnly / SameSite=Lax (and Secure over TLS), and no page shows or changes what lies outside the
viewer's scope — another volunteer's redemption, another shop's code or statement, another street's merchant."""

from __future__ import annotations

import re

import pytest

from tests.pages import shop as data
from timebank.clock import DISPLAY_TZ
from timebank.db_base import utcnow
from timebank.people import orgs
from timebank.people.access import SYSTEM, load_person_actor
from timebank.people.models import OrgKind, Role
from timebank.redemption import redemptions as redemption
from timebank.redemption import rewards
from timebank.redemption.models import Redemption, RedemptionStatus

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _token(client, path: str) -> str:
    return CSRF.search(client.get(path).get_data(as_text=True)).group(1)


def _login(client, area: str, phone: str):
    token = _token(client, f"/{area}/login")
    resp = client.post(f"/{area}/login", data={"csrf_token": token, "phone": phone, "password": data.PASSWORD})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return resp


@pytest.fixture
def world(session, tree):
    """Two shops on 东方街道, one on another street; a clerk each; two volunteers; a redemption at shop B."""
    other_street = orgs.create(session, SYSTEM, kind=OrgKind.street, name="西城街道", parent_id=tree.district.id)
    session.commit()
    a = data.merchant(session, "联盟超市", tree.street, [tree.community_a])
    b = data.merchant(session, "理发店", tree.street, [tree.community_a])
    far = data.merchant(session, "西城超市", other_street, [])
    rice = data.reward(session, a, "大米", 100, [tree.community_a])
    haircut = data.reward(session, b, "理发", 60, [tree.community_a])
    data.person(session, "超市店员", "13700000031", tree.community_a, Role.merchant_staff, merchant_id=a.id)
    data.person(session, "理发店员", "13700000032", tree.community_a, Role.merchant_staff, merchant_id=b.id)
    data.person(session, "街道管理员", "13800000031", tree.street, Role.street_admin, org_id=tree.street.id)
    owner = data.person(session, "陈静", "13900000031", tree.grid_a)
    data.person(session, "王芳", "13900000032", tree.grid_a)
    data.give_points(session, owner, 300)
    red, code = redemption.redeem(session, load_person_actor(session, owner), reward_id=haircut.id)
    session.commit()
    return {"a": a, "b": b, "far": far, "rice": rice, "red_id": red.id, "code": code, "owner": owner}


def _status(session, redemption_id: int) -> RedemptionStatus:
    session.rollback()
    return session.get(Redemption, redemption_id).status


def test_a_form_without_the_csrf_token_is_refused(client, session, world):
    _login(client, "merchant", "13700000032")
    resp = client.post("/merchant/confirm", data={"code": world["code"]})
    assert resp.status_code == 400
    assert "页面已过期" in resp.get_data(as_text=True)
    wrong = client.post("/merchant/confirm", data={"code": world["code"], "csrf_token": "forged"})
    assert wrong.status_code == 400
    assert _status(session, world["red_id"]) == RedemptionStatus.held
    token = _token(client, "/merchant/")
    ok = client.post("/merchant/confirm", data={"code": world["code"], "csrf_token": token})
    assert ok.status_code == 302
    assert _status(session, world["red_id"]) == RedemptionStatus.captured


def test_login_form_needs_the_token_too(client, world):
    resp = client.post("/app/login", data={"phone": "13900000031", "password": data.PASSWORD})
    assert resp.status_code == 400


def test_session_cookie_is_httponly_and_lax_and_secure_only_over_tls(app, world):
    plain = app.test_client()
    cookie = _login(plain, "app", "13900000031").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    tls = app.test_client()
    token = CSRF.search(tls.get("/app/login", base_url="https://localhost").get_data(as_text=True)).group(1)
    resp = tls.post("/app/login", base_url="https://localhost",
                    data={"csrf_token": token, "phone": "13900000031", "password": data.PASSWORD})
    assert resp.status_code == 302
    cookie = resp.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_a_volunteer_sees_only_their_own_redemption(client, session, world):
    _login(client, "app", "13900000032")
    page = client.get(f"/app/redemptions/{world['red_id']}")
    assert page.status_code == 403
    assert "理发" not in page.get_data(as_text=True)
    assert "理发" not in client.get("/app/redemptions").get_data(as_text=True)
    token = _token(client, "/app/redemptions")
    client.post(f"/app/redemptions/{world['red_id']}/cancel", data={"csrf_token": token})
    client.post(f"/app/redemptions/{world['red_id']}/code", data={"csrf_token": token})
    assert _status(session, world["red_id"]) == RedemptionStatus.held


def test_a_shop_assistant_cannot_touch_another_shops_redemption(client, session, world):
    _login(client, "merchant", "13700000031")
    token = _token(client, "/merchant/")
    found = client.post("/merchant/lookup", data={"csrf_token": token, "code": world["code"]})
    assert found.status_code == 403 and "陈" not in found.get_data(as_text=True)
    client.post("/merchant/confirm", data={"csrf_token": token, "code": world["code"]})
    client.post(f"/merchant/redemptions/{world['red_id']}/refuse", data={"csrf_token": token})
    assert _status(session, world["red_id"]) == RedemptionStatus.held
    assert "理发" not in client.get("/merchant/today").get_data(as_text=True)
    switched = client.post("/merchant/switch", data={"csrf_token": token, "merchant_id": world["b"].id})
    assert switched.status_code == 403


def test_pages_need_the_right_login(client, world):
    assert client.get("/merchant/today").status_code == 302
    _login(client, "app", "13900000031")
    assert client.get("/merchant/today").status_code == 403
    assert client.get("/console/merchants").status_code == 403


def test_console_shows_merchants_of_the_admins_subtree_only(client, session, world):
    _login(client, "console", "13800000031")
    listing = client.get("/console/merchants").get_data(as_text=True)
    assert "联盟超市" in listing and "西城超市" not in listing
    assert client.get(f"/console/merchants/{world['far'].id}").status_code == 403
    token = _token(client, "/console/merchants")
    client.post(f"/console/merchants/{world['far'].id}/status", data={"csrf_token": token, "status": "suspended"})
    client.post(f"/console/merchants/{world['far'].id}/rewards",
                data={"csrf_token": token, "name": "偷偷上架", "points_price": "1", "hold_hours": "1"})
    session.rollback()
    assert str(session.get(type(world["far"]), world["far"].id).status) == "active"
    assert "偷偷上架" not in client.get(f"/console/merchants/{world['a'].id}").get_data(as_text=True)
    assert client.get("/console/reconciliation").status_code == 403


def test_console_admin_shelves_restocks_sets_communities_and_settles_a_merchant(client, session, tree, world):
    """The street admin runs a merchant from the console: off and on the shelf, restock, the communities it
    serves, and settling the period's captured redemptions through the ledger. A merchant on another street
    stays out of reach."""
    from timebank.people.models import Person
    from timebank.redemption.models import Reward, Settlement

    clerk = session.query(Person).filter_by(phone="13700000032").one()
    redemption.confirm_code(session, load_person_actor(session, clerk), code=world["code"])  # haircut captured
    session.commit()
    _login(client, "console", "13800000031")
    page = f"/console/merchants/{world['a'].id}"
    token = _token(client, page)
    rice = world["rice"].id

    asked = client.post(f"{page}/rewards/{rice}/shelf", data={"csrf_token": token, "status": "retired"})
    assert "请确认：下架" in asked.get_data(as_text=True)  # taking it off the shelf asks first
    session.rollback()
    assert str(session.get(Reward, rice).status) == "active"
    client.post(f"{page}/rewards/{rice}/shelf", data={"csrf_token": token, "status": "retired", "confirmed": "1"})
    session.rollback()
    assert str(session.get(Reward, rice).status) == "retired"
    client.post(f"{page}/rewards/{rice}/shelf", data={"csrf_token": token, "status": "active"})
    client.post(f"{page}/rewards/{rice}/stock", data={"csrf_token": token, "delta": "7"})
    session.rollback()
    assert str(session.get(Reward, rice).status) == "active" and session.get(Reward, rice).stock == 12
    refused = client.post(f"{page}/rewards/{rice}/stock", data={"csrf_token": token, "delta": "-100"},
                          follow_redirects=True)
    assert "库存" in refused.get_data(as_text=True)  # the refusal is shown, in Chinese
    session.rollback()
    assert session.get(Reward, rice).stock == 12

    client.post(f"{page}/communities", data={"csrf_token": token,
                                             "community_id": [tree.community_a.id, tree.community_b.id]})
    session.rollback()
    assert set(rewards.served_community_ids(session, world["a"].id)) == {tree.community_a.id, tree.community_b.id}

    today = utcnow().astimezone(DISPLAY_TZ).date().isoformat()
    shop_b = f"/console/merchants/{world['b'].id}"
    asked = client.post(f"{shop_b}/settlements", data={"csrf_token": token, "start": today, "end": today,
                                                        "kind": "paid"})
    assert "请确认：结算" in asked.get_data(as_text=True)
    done = client.post(f"{shop_b}/settlements", follow_redirects=True, data={
        "csrf_token": token, "start": today, "end": today, "kind": "paid", "confirmed": "1"})
    assert "已结算 1 笔兑换，共 60 积分" in done.get_data(as_text=True)
    assert "结算记录" in done.get_data(as_text=True) and 'data-settlement-id="' in done.get_data(as_text=True)
    session.rollback()
    settled = session.query(Settlement).filter_by(merchant_id=world["b"].id).one()
    assert settled.points == 60 and len(settled.transfer_ids) == 1  # one ledger transfer for the one community

    far = f"/console/merchants/{world['far'].id}"
    client.post(f"{far}/settlements", data={"csrf_token": token, "start": today, "end": today, "kind": "paid"})
    client.post(f"{far}/communities", data={"csrf_token": token, "community_id": [tree.community_a.id]})
    session.rollback()
    assert session.query(Settlement).filter_by(merchant_id=world["far"].id).count() == 0
    assert rewards.served_community_ids(session, world["far"].id) == []
