"""Sessions can be ended: 退出 ends every token and page session of the person (a copied cookie included), a
password change ends the others, a deactivated person is out at once; an admin acts only inside their scope."""

from __future__ import annotations

import re

from timebank.ops.models import AuditEntry
from timebank.people.models import Role

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _token(client, phone, password):
    resp = client.post("/api/auth/token", json={"phone": phone, "password": password})
    assert resp.status_code == 201, resp.json
    return {"Authorization": f"Bearer {resp.json['access_token']}"}


def _page_login(client, phone, password):
    token = CSRF.search(client.get("/app/login").get_data(as_text=True)).group(1)
    resp = client.post("/app/login", data={"csrf_token": token, "phone": phone, "password": password})
    assert resp.status_code == 302


def test_logout_ends_every_bearer_token_of_the_person(client, make_person, tree):
    person = make_person(home=tree.grid_a, password="phone-password")
    phone_app, laptop = _token(client, person.phone, "phone-password"), _token(client, person.phone, "phone-password")
    assert client.post("/api/auth/logout", headers=phone_app).status_code == 204
    for headers in (phone_app, laptop):
        resp = client.get("/api/me", headers=headers)
        assert resp.status_code == 401 and resp.json["code"] == "invalid_token"
    assert client.get("/api/me", headers=_token(client, person.phone, "phone-password")).status_code == 200


def test_a_session_cookie_copied_before_logout_no_longer_works(app, make_person, tree):
    person = make_person(home=tree.grid_a, password="phone-password")
    browser = app.test_client()
    _page_login(browser, person.phone, "phone-password")
    assert browser.get("/app/").status_code == 200
    thief = app.test_client()
    name = app.config["SESSION_COOKIE_NAME"]
    thief.set_cookie(name, browser.get_cookie(name).value)
    assert thief.get("/app/").status_code == 200

    page = browser.get("/app/").get_data(as_text=True)
    csrf = CSRF.search(page).group(1)
    assert browser.post("/app/logout", data={"csrf_token": csrf}).status_code == 302
    stolen = thief.get("/app/")
    assert stolen.status_code == 302 and "/app/login" in stolen.headers["Location"]


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(client, session, make_person, tree):
    person = make_person(home=tree.grid_a, password="old-password")
    other = _token(client, person.phone, "old-password")
    mine = _token(client, person.phone, "old-password")
    wrong = client.post("/api/auth/password", json={"current_password": "not-it", "new_password": "new-password-1"},
                        headers=mine)
    assert wrong.status_code == 401 and wrong.json["code"] == "invalid_credentials"
    short = client.post("/api/auth/password", json={"current_password": "old-password", "new_password": "short"},
                        headers=mine)
    assert short.status_code == 422 and short.json["code"] == "password_length" and "至少 8 位" in short.json["detail"]

    changed = client.post("/api/auth/password", json={"current_password": "old-password",
                                                      "new_password": "new-password-1"}, headers=mine)
    assert changed.status_code == 200
    fresh = {"Authorization": f"Bearer {changed.json['access_token']}"}
    assert client.get("/api/me", headers=fresh).status_code == 200
    assert client.get("/api/me", headers=other).status_code == 401
    assert client.get("/api/me", headers=mine).status_code == 401
    assert client.post("/api/auth/token", json={"phone": person.phone, "password": "old-password"}).status_code == 401
    assert client.get("/api/me", headers=_token(client, person.phone, "new-password-1")).status_code == 200
    assert "old-password" not in str([e.after for e in session.query(AuditEntry).all()])


def test_an_admin_deactivates_a_person_who_is_out_at_once_and_can_be_let_back(client, make_person, tree, as_user):
    person = make_person(home=tree.grid_a, password="phone-password")
    theirs = _token(client, person.phone, "phone-password")
    _, admin = as_user(Role.community_admin, tree.community_a)
    off = client.post(f"/api/people/{person.id}/deactivation", json={"reason": "搬离本社区"}, headers=admin)
    assert off.status_code == 200 and off.json["is_active"] is False
    assert client.get("/api/me", headers=theirs).status_code == 401
    refused = client.post("/api/auth/token", json={"phone": person.phone, "password": "phone-password"})
    assert refused.status_code == 401 and refused.json["code"] == "invalid_credentials"

    back = client.delete(f"/api/people/{person.id}/deactivation", headers=admin)
    assert back.status_code == 200 and back.json["is_active"] is True
    assert client.get("/api/me", headers=_token(client, person.phone, "phone-password")).status_code == 200


def test_deactivation_stays_inside_the_admins_scope(client, make_person, tree, as_user):
    person = make_person(home=tree.grid_a, password="phone-password")
    _, stranger = as_user(Role.community_admin, tree.community_b)
    _, volunteer = as_user(home=tree.grid_a)
    for headers in (stranger, volunteer):
        resp = client.post(f"/api/people/{person.id}/deactivation", json={}, headers=headers)
        assert resp.status_code == 403
    assert client.get("/api/me", headers=_token(client, person.phone, "phone-password")).status_code == 200
    admin_person, admin = as_user(Role.community_admin, tree.community_a)
    own = client.post(f"/api/people/{admin_person.id}/deactivation", json={}, headers=admin)
    assert own.status_code in (403, 409)
