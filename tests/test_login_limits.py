"""Password guessing is braked: 5 failed logins per phone and 20 per network address per minute, then 429
`too_many_logins` with Retry-After and a Chinese message — on the API and on every page login alike."""

from __future__ import annotations

import re

import pytest

from timebank.people import login_limits

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def volunteer(make_person, tree):
    return make_person(name="王芳", home=tree.grid_a, password="right-password")


def _api_login(client, phone, password, address="10.0.0.1"):
    return client.post("/api/auth/token", json={"phone": phone, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def test_the_sixth_wrong_password_in_a_minute_is_refused_and_so_is_the_right_one(client, volunteer, clock):
    clock.set(clock.now.replace(second=5))
    for _ in range(login_limits.PHONE_FAILURES):
        assert _api_login(client, volunteer.phone, "wrong-password").status_code == 401
    refused = _api_login(client, volunteer.phone, "right-password")
    assert refused.status_code == 429 and refused.json["code"] == "too_many_logins"
    assert refused.headers["Retry-After"] == "55" and "55 秒后再试" in refused.json["detail"]
    assert refused.mimetype == "application/problem+json"

    clock.advance(seconds=55)  # the next minute: the phone may try again
    assert _api_login(client, volunteer.phone, "right-password").status_code == 201


def test_one_address_trying_many_phones_is_braked_too(client, volunteer, clock):
    for n in range(login_limits.ADDRESS_FAILURES):
        assert _api_login(client, f"1371111{n:04d}", "guess", address="10.0.0.9").status_code == 401
    assert _api_login(client, volunteer.phone, "right-password", address="10.0.0.9").status_code == 429
    # answered before Flask reads anything: even a body that is not JSON gets the 429, cheaply
    early = client.post("/api/auth/token", data=b"{not json", content_type="application/json",
                        environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert early.status_code == 429 and early.json["code"] == "too_many_logins" and "Retry-After" in early.headers
    assert _api_login(client, volunteer.phone, "right-password", address="10.0.0.10").status_code == 201


def test_a_successful_login_is_not_counted(client, volunteer):
    for _ in range(login_limits.PHONE_FAILURES * 2):
        assert _api_login(client, volunteer.phone, "right-password").status_code == 201


def test_a_page_login_shares_the_limits_and_says_so_in_chinese(client, volunteer, clock):
    clock.set(clock.now.replace(second=30))
    for _ in range(login_limits.PHONE_FAILURES):
        _api_login(client, volunteer.phone, "wrong-password", address="127.0.0.1")
    token = CSRF.search(client.get("/app/login").get_data(as_text=True)).group(1)
    page = client.post("/app/login", data={"csrf_token": token, "phone": volunteer.phone,
                                           "password": "right-password"})
    assert page.status_code == 429 and page.headers["Retry-After"] == "30"
    assert "登录失败次数过多，请 30 秒后再试" in page.get_data(as_text=True)


def test_without_redis_each_process_still_counts(app, volunteer, clock):
    class Down:
        def get(self, key):
            raise ConnectionError("redis is down")

        def pipeline(self):
            raise ConnectionError("redis is down")

    limits = login_limits.for_address(Down(), clock.now, "10.9.9.9")
    for _ in range(login_limits.PHONE_FAILURES):
        limits.failed("13900000077")
    with pytest.raises(login_limits.TooManyLogins):
        limits.check("13900000077")


def test_one_address_asking_for_many_codes_is_braked(client):
    """Each code is an SMS someone pays for: five a minute from one address, whatever the phones."""
    for n in range(login_limits.ADDRESS_CODES):
        resp = client.post("/api/codes", json={"phone": f"1371111{n:04d}", "purpose": "signup"},
                           environ_base={"REMOTE_ADDR": "10.0.0.20"})
        assert resp.status_code == 202, resp.json
    refused = client.post("/api/codes", json={"phone": "13711119999", "purpose": "signup"},
                          environ_base={"REMOTE_ADDR": "10.0.0.20"})
    assert refused.status_code == 429 and refused.json["code"] == "too_many_codes"
    assert "Retry-After" in refused.headers and "验证码" in refused.json["detail"]
    other = client.post("/api/codes", json={"phone": "13711119999", "purpose": "signup"},
                        environ_base={"REMOTE_ADDR": "10.0.0.21"})
    assert other.status_code == 202
