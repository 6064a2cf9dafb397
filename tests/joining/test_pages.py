"""The joining pages through Flask's test client: the forms need the CSRF token, a refusal reads in Chinese, a
volunteer who has not joined is pointed to the request, scope holds (another community's request, another
employer's import, a volunteer in the console), and no page shows an ID number."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from timebank.joining.models import JoinRequest
from timebank.notify.models import OneTimeCode
from timebank.people import partners
from timebank.people import persons as people
from timebank.people.access import SYSTEM
from timebank.people.credit_code import make
from timebank.people.models import Person, Role

from .people_data import code_for, id_number, new_phone

PASSWORD = "pages-pass-1"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _csrf(client, path: str) -> str:
    return CSRF.search(client.get(path).get_data(as_text=True)).group(1)


def _login(client, area: str, phone: str, password: str = PASSWORD) -> str:
    token = _csrf(client, f"/{area}/login")
    resp = client.post(f"/{area}/login", data={"csrf_token": token, "phone": phone, "password": password})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return CSRF.search(client.get(resp.headers["Location"]).get_data(as_text=True)).group(1)


def _sign_up(client, session, community, number: str):
    token = _csrf(client, "/app/signup")
    phone = new_phone()
    code = code_for(session, phone, "signup")
    session.rollback()
    return phone, client.post("/app/signup", data={
        "csrf_token": token, "action": "sign_up", "phone": phone, "code": code, "name": "钱新", "id_number": number,
        "community_id": str(community.id), "password": PASSWORD, "password_again": PASSWORD})


def test_sign_up_page_then_the_status_page_and_no_id_number_anywhere(client, session, tree):
    number = id_number()
    phone, resp = _sign_up(client, session, tree.community_a, number)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/app/join")
    page = client.get("/app/join").get_data(as_text=True)
    assert "待审核" in page and "幸福社区" in page and number not in page
    home = client.get("/app").get_data(as_text=True)
    assert "尚未加入社区" in home and number not in home
    # The login page of the app links sign-up and the reset.
    client.post("/app/logout", data={"csrf_token": _csrf(client, "/app/join")})
    login_page = client.get("/app/login").get_data(as_text=True)
    assert "/app/signup" in login_page and "/app/password-reset" in login_page


def test_a_form_without_csrf_is_refused_and_a_second_id_number_reads_in_chinese(client, session, tree):
    assert client.post("/app/signup", data={"action": "send_code", "phone": new_phone()}).status_code in (400, 403)
    number = id_number()
    _phone, first = _sign_up(client, session, tree.community_a, number)
    assert first.status_code == 302
    other = type(client)(client.application, client.response_wrapper, use_cookies=True)  # another device
    _phone, again = _sign_up(other, session, tree.community_a, number)
    assert again.status_code == 200 and "该身份证号已注册" in again.get_data(as_text=True)


def test_password_reset_page(client, session, tree, make_person):
    person = make_person("孙丽", tree.community_a, password="old-password-1")
    phone = person.phone
    token = _csrf(client, "/app/password-reset")
    sent = client.post("/app/password-reset", data={"csrf_token": token, "action": "send_code", "phone": phone})
    assert "验证码已发送" in sent.get_data(as_text=True)
    session.rollback()
    code = session.scalar(select(OneTimeCode.sealed).where(OneTimeCode.phone == phone))
    session.rollback()
    resp = client.post("/app/password-reset", data={"csrf_token": token, "action": "reset", "phone": phone,
                                                     "code": code, "new_password": "new-password-1",
                                                     "new_password_again": "new-password-1"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/app/login")
    _login(client, "app", phone, "new-password-1")


def test_the_console_decides_only_its_own_communities_requests(client, session, tree, make_person):
    admin_b = make_person("和谐社区书记", tree.community_b, PASSWORD, ((Role.community_admin, tree.community_b),))
    other = type(client)(client.application, client.response_wrapper, use_cookies=True)
    _phone, resp = _sign_up(other, session, tree.community_a, id_number())
    assert resp.status_code == 302
    request_id = session.scalar(select(JoinRequest.id))
    session.rollback()
    token = _login(client, "console", admin_b.phone)
    listed = client.get(f"/console/join-requests?community_id={tree.community_b.id}").get_data(as_text=True)
    assert "钱新" not in listed
    assert client.get(f"/console/join-requests?community_id={tree.community_a.id}").status_code == 403
    refused = client.post(f"/console/join-requests/{request_id}/approve", data={"csrf_token": token,
                                                                                "community_id": tree.community_b.id})
    assert refused.status_code == 302
    assert "不在您的管辖范围" in client.get(refused.headers["Location"]).get_data(as_text=True)
    session.rollback()
    assert session.get(JoinRequest, request_id).status == "pending"


def test_a_blank_refusal_reason_is_refused_in_chinese(client, session, tree, make_person):
    admin = make_person("幸福社区书记", tree.community_a, PASSWORD, ((Role.community_admin, tree.community_a),))
    other = type(client)(client.application, client.response_wrapper, use_cookies=True)
    _sign_up(other, session, tree.community_a, id_number())
    request_id = session.scalar(select(JoinRequest.id))
    session.rollback()
    token = _login(client, "console", admin.phone)
    resp = client.post(f"/console/join-requests/{request_id}/refuse",
                       data={"csrf_token": token, "community_id": tree.community_a.id, "reason": " "},
                       follow_redirects=True)
    assert "请填写驳回原因" in resp.get_data(as_text=True)


@pytest.mark.parametrize("area, path", [("console", "/console/imports"), ("employer", "/employer/import")])
def test_import_pages_are_for_admins_and_contacts_only(client, tree, make_person, area, path):
    volunteer = make_person("普通志愿者", tree.community_a, PASSWORD)
    _login(client, "app", volunteer.phone)
    assert client.get(path).status_code == 403


def test_an_employer_page_import_cannot_name_another_employer(client, session, tree, make_person):
    unit = partners.create_employer(session, SYSTEM, name="市税务局", credit_code_value=make("11330100MB0000001"),
                                    org_id=tree.district.id)
    other = partners.create_employer(session, SYSTEM, name="市医院", credit_code_value=make("12330100MB0000002"),
                                     org_id=tree.district.id)
    contact = make_person("联络人", None, PASSWORD)
    people.grant(session, None, contact, Role.employer_contact, employer_id=unit.id)
    session.commit()
    token = _login(client, "employer", contact.phone)
    assert client.get(f"/employer/import?employer_id={other.id}").status_code == 403
    data = f"姓名,手机号,身份证号,所属社区\r\n党员丁,{new_phone()},{id_number()},幸福社区\r\n".encode()
    resp = client.post("/employer/import", data={"csrf_token": token, "action": "preview",
                                                 "file": (io.BytesIO(data), "m.csv")},
                       content_type="multipart/form-data")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'id="count-new">1<' in page
    commit_token = re.search(r'name="token" value="([^"]+)"', page).group(1)
    done = client.post("/employer/import", data={"csrf_token": token, "action": "commit", "token": commit_token,
                                                 "mode": "all_or_nothing"})
    assert 'id="result-created">1<' in done.get_data(as_text=True)
    again = client.post("/employer/import", data={"csrf_token": token, "action": "commit", "token": commit_token,
                                                  "mode": "all_or_nothing"})
    assert "上传的文件已过期" in again.get_data(as_text=True)  # one upload, one import
    session.rollback()
    assert session.scalar(select(Person.home_org_id).where(Person.name == "党员丁")) is None  # waits for the community
