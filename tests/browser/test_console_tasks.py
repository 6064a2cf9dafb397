"""The community console's task work in the browser: the task form checks every value as the API does (no 500,
Chinese refusals); the hall drops started tasks and sorts by start; a task's page with its claimants; editing;
cancelling through a confirmation page (no JavaScript) that releases the claims; no-shows and 补录 with its reason
in the audit log; the complaints queue; rejecting and closing needs with reasons; another community's admin is
refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.browser.conftest import DESKTOP, PASSWORD, PHONE, assert_accessible, login, screenshot
from timebank.hours import attendance, claims, needs, tasks, verification
from timebank.hours.models import Claim, ClaimStatus, Decision, NeedKind, NeedStatus, Task
from timebank.ops.models import AuditEntry
from timebank.people import persons as people
from timebank.people.access import load_person_actor
from timebank.people.models import Role


@pytest.fixture
def cast(session, tree):
    def person(name, phone, home, role=None, org=None):
        p = people.register(session, None, name=name, phone=phone, password=PASSWORD, home_org_id=home.id)
        if role:
            people.grant(session, None, p, role, org_id=org.id)
        return p

    out = {"admin": person("幸福社区书记", "13800003001", tree.community_a, Role.community_admin, tree.community_a),
           "other": person("和谐社区书记", "13800003002", tree.community_b, Role.community_admin, tree.community_b),
           "vol1": person("张伟", "13900003011", tree.grid_a), "vol2": person("王芳", "13900003012", tree.grid_a),
           "resident": person("李奶奶", "13900003013", tree.grid_a)}
    session.commit()
    return out


def _publish(session, cast, tree, clock, *, starts_in, title, slots=3):
    start = clock.now + starts_in
    task = tasks.publish(session, load_person_actor(session, cast["admin"]), org_id=tree.community_a.id,
                         title=title, category="金色助老", place="幸福社区敬老院", starts_at=start,
                         ends_at=start + timedelta(hours=2), slots=slots)
    session.commit()
    return task


def _local(at) -> str:
    return (at + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M")


def test_the_task_form_refuses_what_the_api_refuses(session, cast, clock, live_server, new_page):
    page = new_page(DESKTOP)
    login(page, live_server, "console", "13800003001")
    start = clock.now + timedelta(days=1)
    cases = [({"slots": "0"}, "名额须为 1 到 10000"), ({"slots": "99999999"}, "名额须为 1 到 10000"),
             ({"title": "长" * 300}, "任务名称最多 120 个字"), ({"title": "   "}, "请填写任务名称"),
             ({"starts_at": _local(clock.now - timedelta(hours=2)), "ends_at": _local(clock.now + timedelta(hours=1))},
              "开始时间已过"),
             ({"slots": "五"}, "请完整填写")]
    for change, message in cases:
        page.goto(f"{live_server}/console/tasks/new")
        page.eval_on_selector("form.stack", "f => f.noValidate = true")  # the browser's checks are not the guard
        values = {"title": "助老陪伴", "category": "金色助老", "place": "敬老院", "starts_at": _local(start),
                  "ends_at": _local(start + timedelta(hours=2)), "slots": "3"} | change
        for name, value in values.items():
            page.eval_on_selector(f"#{name}", "(el, v) => { el.removeAttribute('maxlength'); el.type = 'text'; "
                                              "el.value = v; }", value)
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            page.click("button:has-text('发布')")
        assert answer.value.status == 422, change
        assert message in page.locator(".flash.error").inner_text(), change
    assert session.scalar(select(Task.id)) is None
    session.rollback()
    assert_accessible(page)
    screenshot(page, "console-task-new-refused-1280")


def test_the_hall_drops_started_tasks_and_sorts_by_start(session, cast, tree, clock, live_server, new_page):
    late = _publish(session, cast, tree, clock, starts_in=timedelta(days=2), title="周末义诊")
    soon = _publish(session, cast, tree, clock, starts_in=timedelta(minutes=20), title="午间助餐")
    page = new_page()
    login(page, live_server, "app", "13900003011")
    page.goto(f"{live_server}/app/tasks")
    ids = [int(x) for x in page.locator("[data-task-id]").evaluate_all("els => els.map(e => e.dataset.taskId)")]
    assert ids == [soon.id, late.id]
    clock.advance(minutes=25)
    page.reload()
    ids = [int(x) for x in page.locator("[data-task-id]").evaluate_all("els => els.map(e => e.dataset.taskId)")]
    assert ids == [late.id]


def test_task_page_edit_cancel_with_confirmation(session, cast, tree, clock, live_server, new_page):
    task = _publish(session, cast, tree, clock, starts_in=timedelta(hours=3), title="敬老院陪伴")
    for who in ("vol1", "vol2"):
        claims.claim(session, load_person_actor(session, cast[who]), task.id)
    session.commit()

    page = new_page(DESKTOP)
    login(page, live_server, "console", "13800003001")
    page.click("nav >> text=任务")
    page.click(f"[data-task-id='{task.id}'] a:has-text('敬老院陪伴')")
    assert page.locator("#claimants [data-claim-id]").count() == 2
    assert "张伟" in page.locator("#claimants").inner_text()
    assert_accessible(page)
    screenshot(page, "console-task-1280")

    page.click("text=修改任务")
    page.fill("#place", "幸福社区活动室")
    page.fill("#slots", "1")
    page.click("button:has-text('保存修改')")
    assert "不能少于已报名人数" in page.locator(".flash.error").inner_text()
    assert_accessible(page)
    screenshot(page, "console-task-edit-refused-1280")
    page.fill("#slots", "4")
    page.click("button:has-text('保存修改')")
    assert "任务已修改" in page.locator(".flash").inner_text()
    assert "幸福社区活动室" in page.locator("#task-facts").inner_text()
    assert page.locator("#task-slots").inner_text() == "2/4"

    page.click("text=取消任务")
    assert page.locator("h1").inner_text() == "请确认：取消任务「敬老院陪伴」"
    assert "2 人" in page.locator("#confirm-facts").inner_text()
    assert_accessible(page)
    screenshot(page, "console-confirm-cancel-1280")
    page.click("text=返回，不取消")
    assert page.locator("#task-cancelled").count() == 0
    page.click("text=取消任务")
    page.click("button:has-text('确认取消任务')")
    assert "任务已取消" in page.locator(".flash").inner_text()
    assert page.locator("#task-cancelled").count() == 1
    session.rollback()  # end the test's read snapshot (taken when `task.id` was reloaded) to see the server's write
    statuses = set(session.scalars(select(Claim.status).where(Claim.task_id == task.id)))
    assert statuses == {ClaimStatus.withdrawn}
    session.rollback()

    phone = new_page(PHONE)
    login(phone, live_server, "console", "13800003001")
    phone.goto(f"{live_server}/console/tasks/{task.id}")
    screenshot(phone, "console-task-390")
    phone.goto(f"{live_server}/console/tasks/{task.id}/edit")
    screenshot(phone, "console-task-edit-390")
    phone.goto(f"{live_server}/console/tasks/new")
    screenshot(phone, "console-task-new-390")
    other = new_page(DESKTOP)
    login(other, live_server, "console", "13800003002")
    assert other.goto(f"{live_server}/console/tasks/{task.id}").status == 403
    assert other.goto(f"{live_server}/console/tasks/{task.id}/cancel").status == 403


def test_no_show_and_late_entry_with_its_reason(session, cast, tree, clock, live_server, new_page):
    task = _publish(session, cast, tree, clock, starts_in=timedelta(minutes=30), title="楼道清扫")
    for who in ("vol1", "vol2"):
        claims.claim(session, load_person_actor(session, cast[who]), task.id)
    session.commit()
    clock.now = task.ends_at + timedelta(minutes=30)

    page = new_page(DESKTOP)
    login(page, live_server, "console", "13800003001")
    page.goto(f"{live_server}/console/tasks/{task.id}")
    row = page.locator("#claimants tr").filter(has_text="王芳")
    row.locator("button:has-text('标记缺席')").click()
    assert "已标记为缺席" in page.locator(".flash").inner_text()

    row = page.locator("#claimants tr").filter(has_text="张伟")
    row.locator("summary").click()
    row.locator("input[name=checked_out_at]").fill(_local(task.starts_at + timedelta(minutes=75)))
    row.locator("input[name=reason]").evaluate("el => el.removeAttribute('required')")
    row.locator("button:has-text('保存补录')").click()  # no reason: the rule refuses, whatever the browser does
    assert "补录须说明理由" in page.locator(".flash.error").inner_text()
    row = page.locator("#claimants tr").filter(has_text="张伟")
    row.locator("summary").click()
    row.locator("input[name=checked_out_at]").fill(_local(task.starts_at + timedelta(minutes=75)))
    row.locator("input[name=reason]").fill("现场签到表")
    assert_accessible(page)
    row.locator("button:has-text('保存补录')").click()
    assert "已补录" in page.locator(".flash").inner_text()
    assert "补录理由：现场签到表" in page.locator("#claimants").inner_text()
    session.rollback()
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "attendance.late_entry"))
    assert entry.after["reason"] == "现场签到表" and entry.after["minutes"] == 75
    session.rollback()


def test_complaints_queue_and_needs_with_reasons(session, cast, tree, clock, live_server, new_page):
    admin = load_person_actor(session, cast["admin"])
    task = _publish(session, cast, tree, clock, starts_in=timedelta(minutes=10), title="助浴服务")
    claim = claims.claim(session, load_person_actor(session, cast["vol1"]), task.id)
    clock.now = task.ends_at + timedelta(minutes=5)
    row = attendance.late_entry(session, admin, claim_id=claim.id, checked_in_at=task.starts_at,
                                checked_out_at=task.ends_at, reason="纸质签到表")
    verification.verify(session, admin, row.id, decision=Decision.accepted)
    verification.file_complaint(session, admin, row.id, text="居民反映志愿者提前离开")
    wish = needs.post(session, load_person_actor(session, cast["resident"]), kind=NeedKind.micro_wish,
                      org_id=tree.grid_a.id, title="想要一本字典")
    repeat = needs.post(session, load_person_actor(session, cast["resident"]), kind=NeedKind.request,
                        org_id=tree.grid_a.id, title="楼道灯坏了")
    session.commit()

    page = new_page(DESKTOP)
    login(page, live_server, "console", "13800003001")
    page.click("nav >> text=投诉")
    card = page.locator("[data-complaint-id]")
    assert "居民反映志愿者提前离开" in card.inner_text() and "张伟" in card.inner_text()
    assert_accessible(page)
    screenshot(page, "console-complaints-1280")
    card.locator("input[name=reason]").fill("核实后志愿者按时服务")
    card.locator("button:has-text('提交认定')").click()
    assert "投诉已认定不成立" in page.locator(".flash").inner_text()
    page.goto(f"{live_server}/console/complaints?status=dismissed")
    assert "核实后志愿者按时服务" in page.locator("[data-complaint-id]").inner_text()

    page.click("nav >> text=群众需求")
    wish_card = page.locator(f"[data-need-id='{wish.id}']")
    assert "李**" in wish_card.inner_text()
    assert_accessible(page)
    screenshot(page, "console-needs-1280")
    wish_card.locator("input[name=reason]").first.fill("本月微心愿名额已满")
    wish_card.locator("button:has-text('不予受理')").click()
    assert "已不予受理" in page.locator(".flash").inner_text()
    page.locator(f"[data-need-id='{repeat.id}'] input[placeholder^='关闭']").fill("与 3 号楼报修重复")
    page.locator(f"[data-need-id='{repeat.id}'] button:has-text('关闭需求')").click()
    assert "需求已关闭" in page.locator(".flash").inner_text()
    session.rollback()
    assert session.get(type(wish), wish.id).status == NeedStatus.rejected
    closed = session.get(type(repeat), repeat.id)
    assert closed.status == NeedStatus.closed and closed.reject_reason == "与 3 号楼报修重复"
    session.rollback()

    phone = new_page(PHONE)
    login(phone, live_server, "console", "13800003001")
    phone.goto(f"{live_server}/console/complaints?status=dismissed")
    screenshot(phone, "console-complaints-390")
    phone.goto(f"{live_server}/console/needs?status=closed")
    assert "与 3 号楼报修重复" in phone.locator("main").inner_text()
    screenshot(phone, "console-needs-390")
    other = new_page(DESKTOP)
    login(other, live_server, "console", "13800003002")
    other.goto(f"{live_server}/console/complaints?status=dismissed")
    assert other.locator("[data-complaint-id]").count() == 0
