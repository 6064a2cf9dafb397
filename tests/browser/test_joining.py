"""Joining in the browser: a resident signs up on a phone, the community approves in the console, the new
volunteer claims a task and sees the points once the hours are verified; an admin imports a file with bad rows on
a desktop; an employer's contact imports its own members."""

from __future__ import annotations

import io
from datetime import timedelta

from openpyxl import Workbook
from sqlalchemy import select

from tests.browser.conftest import DESKTOP, PASSWORD, assert_accessible, login
from tests.joining.people_data import id_number, new_phone
from timebank import uow
from timebank.db_base import utcnow
from timebank.hours import attendance, tasks, verification
from timebank.hours.models import Claim, Decision
from timebank.joining.models import JoinRequest
from timebank.notify.models import OneTimeCode
from timebank.people import partners
from timebank.people import persons as people
from timebank.people.access import SYSTEM, load_person_actor
from timebank.people.credit_code import make
from timebank.people.models import Person, Role


def _admin(session, tree, phone="13800009999"):
    admin = people.register(session, None, name="社区书记", phone=phone, password=PASSWORD,
                            home_org_id=tree.community_a.id)
    people.grant(session, None, admin, Role.community_admin, org_id=tree.community_a.id)
    session.commit()
    return admin


def _latest_code(session, phone: str) -> str:
    session.rollback()
    row = session.scalar(select(OneTimeCode).where(OneTimeCode.phone == phone).order_by(OneTimeCode.id.desc()))
    code = row.sealed
    session.rollback()
    return code


def test_sign_up_on_a_phone_approval_in_the_console_claim_and_credit(app, session, tree, live_server, new_page,
                                                                     clock, run_jobs):
    tree.district.settings = {"categories": ["金色助老"], "points_per_hour": 10}
    session.commit()
    admin = _admin(session, tree)
    start = utcnow() + timedelta(hours=1)
    task = tasks.publish(session, load_person_actor(session, admin), org_id=tree.community_a.id, title="敬老院陪伴",
                         category="金色助老", place="幸福社区敬老院", starts_at=start,
                         ends_at=start + timedelta(hours=2), slots=3)
    session.commit()
    task_id = task.id
    session.rollback()

    page = new_page()  # a phone
    page.goto(f"{live_server}/app/login")
    page.click("#joining-links >> text=实名注册")
    assert page.locator("h1").inner_text() == "实名注册志愿者"
    phone = new_phone()
    page.fill("#phone", phone)
    page.click("#send-code")
    assert "验证码已发送" in page.locator(".flash").inner_text()
    page.fill("#code", _latest_code(session, phone))
    page.fill("#name", "赵新")
    page.fill("#id_number", "110105194912310021")  # a wrong check digit first
    page.select_option("#community_id", label="幸福社区")
    page.fill("#password", "my-password-1")
    page.fill("#password_again", "my-password-1")
    page.click("#sign-up")
    assert "校验位" in page.locator(".flash").inner_text()
    assert page.input_value("#name") == "赵新"  # what was typed stays
    page.fill("#id_number", id_number())
    page.fill("#password", "my-password-1")
    page.fill("#password_again", "my-password-1")
    page.click("#sign-up")
    assert "志愿者编号" in page.locator(".flash").inner_text()
    assert page.locator("[data-status]").first.get_attribute("data-status") == "pending"
    volunteer_no = page.locator("#volunteer-no").inner_text()
    assert volunteer_no.startswith("V")
    assert_accessible(page)

    page.goto(f"{live_server}/app/tasks")
    page.locator(f"[data-task-id='{task_id}'] button:has-text('报名')").click()
    assert "入社申请通过后" in page.locator(".flash").inner_text()

    console = new_page(DESKTOP)
    login(console, live_server, "console", admin.phone)
    console.click("nav >> text=入社审核")
    card = console.locator("[data-join-request-id]").first
    assert "赵新" in card.inner_text() and volunteer_no in card.inner_text()
    assert_accessible(console)
    card.locator("button:has-text('通过')").click()
    assert "已通过" in console.locator(".flash").inner_text()

    page.goto(f"{live_server}/app/tasks")
    page.locator(f"[data-task-id='{task_id}'] button:has-text('报名')").click()
    assert "报名成功" in page.locator(".flash").inner_text()

    # The hours are entered and verified (the hours pages have their own browser tests), then credited.
    session.rollback()
    person = session.scalar(select(Person).where(Person.phone == phone))
    claim = session.scalar(select(Claim).where(Claim.person_id == person.id))
    clock.set(start + timedelta(hours=3))
    boss = load_person_actor(session, session.get(Person, admin.id))
    att = attendance.late_entry(session, boss, claim_id=claim.id, checked_in_at=start,
                                checked_out_at=start + timedelta(hours=1), reason="纸质签到表")
    verdict = verification.verify(session, boss, att.id, decision=Decision.accepted)
    assert verdict.points == 10
    uow.commit()  # and the relay is kicked, as after any page or API action
    assert run_jobs() >= 1
    page.goto(f"{live_server}/app")
    assert page.locator("#points-balance").inner_text() == "10"
    assert page.locator("#volunteer-no").inner_text() == volunteer_no


def _xlsx(rows) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["姓名", "手机号", "身份证号", "所属社区", "类型", "工作单位", "党支部"])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_console_import_with_bad_rows_on_a_desktop(app, session, tree, live_server, new_page, tmp_path):
    admin = _admin(session, tree)
    rows = [["钱一", new_phone(), id_number(), "幸福社区", "志愿者", "", ""],
            ["钱二", new_phone(), id_number(), "幸福社区", "", "", ""],
            ["", "123", "110105194912310021", "和谐社区", "志愿者", "", ""],
            ["孙三", new_phone(), id_number(), "没有这个社区", "志愿者", "", ""]]
    path = tmp_path / "名单.xlsx"
    path.write_bytes(_xlsx(rows))
    page = new_page(DESKTOP)
    login(page, live_server, "console", admin.phone)
    page.click("nav >> text=批量导入")
    page.set_input_files("#file", str(path))
    page.click("#preview-button")
    assert page.locator("#count-total").inner_text() == "4"
    assert page.locator("#count-new").inner_text() == "2"
    assert page.locator("#count-errors").inner_text() == "2"
    errors = page.locator("#import-errors tbody tr")
    assert errors.count() == 5  # row 4: name, phone, ID and a community out of scope; row 5: no such community
    assert "校验位" in page.locator("#import-errors").inner_text()
    assert page.locator("input[name=mode][value=valid_only]").is_checked()
    assert_accessible(page)
    page.click("#commit-button")
    assert page.locator("#result-created").inner_text() == "2"
    assert page.locator("#result-refused").inner_text() == "2"
    session.rollback()
    assert {p.name for p in session.scalars(select(Person).where(Person.home_org_id == tree.community_a.id))} >= {
        "钱一", "钱二"}
    # The same file again: nothing new.
    page.set_input_files("#file", str(path))
    page.click("#preview-button")
    assert page.locator("#count-new").inner_text() == "0"
    assert page.locator("#count-unchanged").inner_text() == "2"


def test_an_employer_imports_its_own_members(app, session, tree, live_server, new_page, tmp_path):
    unit = partners.create_employer(session, SYSTEM, name="市税务局", credit_code_value=make("11330100MB0000001"),
                                    org_id=tree.district.id)
    contact = people.register(session, None, name="税务局联络人", phone="13800007777", password=PASSWORD,
                              home_org_id=None)
    people.grant(session, None, contact, Role.employer_contact, employer_id=unit.id)
    session.commit()
    path = tmp_path / "members.csv"
    path.write_bytes(("姓名,手机号,身份证号,所属社区,类型,工作单位,党支部\r\n"
                      f"党员乙,{new_phone()},{id_number()},和谐社区,在职党员,,\r\n"
                      f"外单位,{new_phone()},{id_number()},和谐社区,在职党员,市医院,\r\n").encode("gbk"))
    page = new_page(DESKTOP)
    login(page, live_server, "employer", contact.phone)
    page.click("nav >> text=导入党员")
    page.set_input_files("#file", str(path))
    page.click("#preview-button")
    assert page.locator("#count-new").inner_text() == "1"
    assert "本单位" in page.locator("#import-errors").inner_text()
    assert_accessible(page)
    page.click("#commit-button")
    assert page.locator("#result-created").inner_text() == "1"
    session.rollback()
    request = session.scalar(select(JoinRequest))
    assert request.community_id == tree.community_b.id and request.status == "pending"
