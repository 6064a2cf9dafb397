"""Each event, through the real flow that causes it (the API, the credit job, the cron sweeps), lands once in the
person's inbox with its Chinese text, and goes out by SMS / WeChat to the fake providers where the kind's
channels say so."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tests.hours.conftest import attend, publish
from tests.redemption.conftest import redeem
from timebank.appraisal import delivery as appraisal_delivery
from timebank.appraisal import reports as appraisal
from timebank.appraisal.delivery import DeliveryChannel
from timebank.appraisal.models import AppraisalReport
from timebank.hours import notices as hours_notices
from timebank.hours.models import Task
from timebank.notify import rules
from timebank.notify.models import Notification
from timebank.people.access import load_person_actor
from timebank.people.models import Person, Role
from timebank.redemption.models import Redemption
from timebank.workers.jobs import notify as notify_jobs
from timebank.workers.jobs.redemption import expire_redemptions

from .conftest import inbox, kinds


def phone_of(session, person_id: int) -> str:
    return session.get(Person, person_id).phone


def only(items: list[dict], kind: str) -> dict:
    found = [n for n in items if n["kind"] == kind]
    assert len(found) == 1, [n["kind"] for n in items]
    return found[0]


def test_claimed_task_starting_in_two_hours_is_reminded_once_by_sms(client, session, hours, daytime, live,
                                                                    deliver):
    sms, _wechat = live
    task = publish(client, hours, daytime, starts_in=timedelta(hours=5))
    assert client.post(f"/api/tasks/{task['id']}/claims", headers=hours.vol1).status_code == 201
    assert notify_jobs.remind_starting_tasks() == 0  # five hours ahead: not yet
    daytime.advance(hours=3, minutes=10)
    assert notify_jobs.remind_starting_tasks() == 1
    assert notify_jobs.remind_starting_tasks() == 0  # the sweep runs every few minutes: once per claim
    deliver()
    note = only(inbox(client, hours.vol1), "task.starting")
    assert "为独居老人打扫卫生" in note["body"] and "幸福小区3栋" in note["body"] and "请准时签到" in note["body"]
    [sent] = sms.sent_to(phone_of(session, hours.vol1_id))
    assert sent.template == "SMS_TB_1001" and sent.params["place"] == "幸福小区3栋"
    assert kinds(client, hours.vol2) == []  # did not claim


def test_changed_and_cancelled_task_tells_its_claimants(client, session, hours, daytime):
    """The edit and cancel rules come with the task pages (issue 15); they call these functions."""
    task = publish(client, hours, daytime, starts_in=timedelta(days=1))
    assert client.post(f"/api/tasks/{task['id']}/claims", headers=hours.vol1).status_code == 201
    row = session.get(Task, task["id"])
    row.place = "幸福小区5栋"
    assert hours_notices.task_changed(session, row, change="地点改为幸福小区5栋") == 1
    assert hours_notices.task_changed(session, row, change="地点改为幸福小区5栋") == 0  # same change: once
    assert hours_notices.task_cancelled(session, row, reason="暴雨预警") == 1
    session.commit()
    items = inbox(client, hours.vol1)
    assert "幸福小区5栋" in only(items, "task.changed")["body"]
    assert "暴雨预警" in only(items, "task.cancelled")["body"]


def test_need_verification_credit_and_closing_tell_the_volunteers_and_the_resident(client, session, hours, daytime,
                                                                                   run_jobs):
    need = client.post("/api/needs", headers=hours.resident, json={
        "org_id": hours.tree.grid_a.id, "title": "陪同就医", "category": "金色助老"}).json
    task = publish(client, hours, daytime, slots=2, need_id=need["id"])
    assert {"need.accepted", "need.published"} <= set(kinds(client, hours.resident))
    for who in (hours.vol1, hours.vol2):
        assert client.post(f"/api/tasks/{task['id']}/claims", headers=who).status_code == 201
    first = attend(client, hours, daytime, task, hours.vol1, minutes=90)
    second = attend(client, hours, daytime, task, hours.vol2, minutes=60)
    resp = client.post(f"/api/attendances/{first['id']}/verification", headers=hours.admin_a,
                       json={"decision": "accepted"})
    assert resp.status_code == 201, resp.json
    resp = client.post(f"/api/attendances/{second['id']}/verification", headers=hours.admin_a,
                       json={"decision": "rejected", "reason": "签退时间与现场记录不符"})
    assert resp.status_code == 201, resp.json

    verified = only(inbox(client, hours.vol1), "attendance.verified")
    assert "90分钟" in verified["body"] and "15积分" in verified["body"]
    assert "签退时间与现场记录不符" in only(inbox(client, hours.vol2), "attendance.rejected")["body"]
    assert "陪同就医" in only(inbox(client, hours.resident), "need.fulfilled")["body"]

    assert "points.credited" not in kinds(client, hours.vol1)  # told when the ledger has it, not before
    run_jobs()
    credited = only(inbox(client, hours.vol1), "points.credited")
    assert "90分钟" in credited["body"] and "15积分已入账" in credited["body"]

    closed = client.post(f"/api/needs/{need['id']}/close", headers=hours.admin_a)
    assert closed.status_code == 200, closed.json
    assert kinds(client, hours.resident).count("need.closed") == 1


def test_rejected_need_is_told_closed_with_the_reason(client, hours):
    need = client.post("/api/needs", headers=hours.resident, json={
        "org_id": hours.tree.grid_a.id, "title": "修理水管", "category": "金色助老"}).json
    resp = client.post(f"/api/needs/{need['id']}/reject", headers=hours.admin_a, json={"reason": "请联系物业维修"})
    assert resp.status_code == 200, resp.json
    assert "请联系物业维修" in only(inbox(client, hours.resident), "need.closed")["body"]


def test_complaint_decision_tells_the_complainant_and_the_volunteer(client, session, hours, daytime, run_jobs):
    need = client.post("/api/needs", headers=hours.resident, json={
        "org_id": hours.tree.grid_a.id, "title": "陪同就医", "category": "金色助老"}).json
    task = publish(client, hours, daytime, need_id=need["id"])
    assert client.post(f"/api/tasks/{task['id']}/claims", headers=hours.vol1).status_code == 201
    row = attend(client, hours, daytime, task, hours.vol1, minutes=120)
    client.post(f"/api/attendances/{row['id']}/verification", headers=hours.admin_a, json={"decision": "accepted"})
    run_jobs()
    complaint = client.post(f"/api/attendances/{row['id']}/complaints", headers=hours.resident,
                            json={"text": "志愿者只待了半小时"}).json
    resp = client.post(f"/api/complaints/{complaint['id']}/decision", headers=hours.admin_a,
                       json={"uphold": True, "reason": "经核实，服务时长不实"})
    assert resp.status_code == 200, resp.json
    for who in (hours.resident, hours.vol1):
        body = only(inbox(client, who), "complaint.decided")["body"]
        assert "投诉成立" in body and "经核实，服务时长不实" in body


def test_points_expiring_are_warned_at_30_and_at_7_days_once_per_lot(client, session, hours, daytime, run_jobs):
    hours.tree.district.settings = {**hours.tree.district.settings, "points_expiry_months": 1}
    session.commit()
    task = publish(client, hours, daytime)
    assert client.post(f"/api/tasks/{task['id']}/claims", headers=hours.vol1).status_code == 201
    row = attend(client, hours, daytime, task, hours.vol1, minutes=60)
    client.post(f"/api/attendances/{row['id']}/verification", headers=hours.admin_a, json={"decision": "accepted"})
    run_jobs()  # the credit: one lot of 10 points, expiring a month (28 to 31 days) after it was posted
    daytime.advance(days=4)
    assert notify_jobs.warn_expiring_points() == 1
    assert notify_jobs.warn_expiring_points() == 0
    daytime.advance(days=21)
    assert notify_jobs.warn_expiring_points() == 1  # now within 7 days
    assert notify_jobs.warn_expiring_points() == 0
    warnings = [n for n in inbox(client, hours.vol1) if n["kind"] == "points.expiring"]
    assert len(warnings) == 2
    assert all("10积分" in n["body"] for n in warnings)
    assert min(n["params"]["days"] for n in warnings) < 7 <= max(n["params"]["days"] for n in warnings)


def test_redemption_held_confirmed_refused_and_expired(client, session, shop, volunteer, run_jobs):
    person, headers = volunteer(points=400)
    first = redeem(client, headers, shop.reward.id, key="r1").json
    confirm = client.post("/api/redemptions/confirm", json={"code": first["code"]}, headers=shop.key_headers)
    assert confirm.status_code == 200, confirm.json
    second = redeem(client, headers, shop.reward.id, key="r2").json
    refused = client.post(f"/api/redemptions/{second['id']}/refuse", json={"reason": "暂停营业"},
                          headers=shop.key_headers)
    assert refused.status_code == 200, refused.json
    third = redeem(client, headers, shop.reward.id, key="r3").json
    session.get(Redemption, third["id"]).expires_at = session.get(Redemption, third["id"]).created_at
    session.commit()
    assert expire_redemptions() == 1

    items = inbox(client, headers)
    assert [n["kind"] for n in items].count("redemption.held") == 3
    assert "大米 5kg" in only(items, "redemption.confirmed")["body"]
    assert "暂停营业" in only(items, "redemption.refused")["body"]
    assert "未在期限内取货" in only(items, "redemption.expired")["body"]


def test_gift_received_names_the_giver_and_the_note(client, session, volunteer, tree, make_person, app):
    giver, headers = volunteer(points=100, name="王芳")
    relative, relative_headers = volunteer(points=0, name="王大妈")
    resp = client.post("/api/gifts", json={"amount": 30, "to_person_id": relative.id, "note": "给妈妈"},
                       headers={**headers, "Idempotency-Key": "gift-1"})
    assert resp.status_code == 201, resp.json
    again = client.post("/api/gifts", json={"amount": 30, "to_person_id": relative.id, "note": "给妈妈"},
                        headers={**headers, "Idempotency-Key": "gift-1"})
    assert again.status_code == 201  # a replay: no second message
    note = only(inbox(client, relative_headers), "gift.received")
    assert "王芳赠与您30积分" in note["body"] and "给妈妈" in note["body"]
    assert kinds(client, headers) == []


def test_report_in_accepted_rejected_and_about_to_lapse(client, session, tree, as_user, make_employer,
                                                        make_member, daytime):
    employer = make_employer()
    _zhang, zhang_h = make_member(employer, tree.grid_a, name="张党员")
    _li, li_h = make_member(employer, tree.grid_a, name="李党员")
    _admin, admin_h = as_user(Role.community_admin, tree.community_a)
    ri = client.post("/api/report-ins", json={"community_id": tree.community_a.id}, headers=zhang_h).json
    assert client.post(f"/api/report-ins/{ri['id']}/acceptance", headers=admin_h).status_code == 200
    other = client.post("/api/report-ins", json={"community_id": tree.community_a.id}, headers=li_h).json
    resp = client.post(f"/api/report-ins/{other['id']}/rejection", headers=admin_h, json={"reason": "不在本社区居住"})
    assert resp.status_code == 200, resp.json
    assert "幸福社区" in only(inbox(client, zhang_h), "report_in.accepted")["body"]
    assert "不在本社区居住" in only(inbox(client, li_h), "report_in.rejected")["body"]

    assert notify_jobs.warn_lapsing_report_ins() == 0
    expires_on = client.get(f"/api/report-ins/{ri['id']}", headers=zhang_h).json["expires_on"]
    from datetime import date

    from tests.notify.conftest import beijing

    day = date.fromisoformat(expires_on) - timedelta(days=20)
    daytime.set(beijing(day.year, day.month, day.day, 10))
    assert notify_jobs.warn_lapsing_report_ins() == 1
    assert notify_jobs.warn_lapsing_report_ins() == 0
    assert "请及时续期" in only(inbox(client, zhang_h), "report_in.lapsing")["body"]


def test_appraisal_letter_delivered_tells_the_employers_contact(app, client, session, tree, make_person,
                                                                make_employer, make_member, employer_contact):
    from tests.appraisal.service import drain_all

    employer = make_employer("市交通运输局")
    make_member(employer, tree.grid_a, name="张伟")
    _contact, contact_h = employer_contact(employer)
    district_admin = make_person("区委组织部", tree.district, roles=((Role.district_admin, tree.district),))
    actor = load_person_actor(session, district_admin)
    appraisal_delivery.set_profile(session, actor, employer.id, channel=DeliveryChannel.portal)
    period = appraisal.create_period(session, actor, district_id=tree.district.id, kind="quarter", year=2026,
                                     number=1)
    appraisal.start_run(session, actor, period.id)
    session.commit()
    drain_all(session)
    session.rollback()
    assert session.scalar(select(AppraisalReport)) is not None
    note = only(inbox(client, contact_h), "appraisal.delivered")
    assert "市交通运输局" in note["body"] and "1名党员" in note["body"]


def test_join_decision_function_for_the_join_flow(client, session, volunteer, tree):
    """The join flow comes with issue 17; it calls this function."""
    person, headers = volunteer(points=0)
    assert rules.join_decided(session, person.id, request_id=7, org_name="幸福社区", approved=False,
                              reason="请先完成实名认证") is not None
    session.commit()
    body = only(inbox(client, headers), "join.decided")["body"]
    assert "未通过" in body and "请先完成实名认证" in body


def test_one_time_code_goes_by_sms_and_is_checked_through_the_api(client, session, live, deliver, daytime):
    sms, _wechat = live
    resp = client.post("/api/codes", json={"phone": "13800000005", "purpose": "signup"})
    assert resp.status_code == 202, resp.json
    again = client.post("/api/codes", json={"phone": "13800000005", "purpose": "signup"})
    assert again.status_code == 422 and again.json["code"] == "code_sent_recently"
    deliver()
    [sent] = sms.sent_to("13800000005")
    assert sent.template == "SMS_TB_9001" and sent.params["purpose"] == "注册" and len(sent.params["code"]) == 6
    assert session.scalar(select(Notification)) is None  # codes never reach an inbox

    wrong = "000000" if sent.params["code"] != "000000" else "111111"
    bad = client.post("/api/codes/verify", json={"phone": "13800000005", "purpose": "signup", "code": wrong})
    assert bad.status_code == 422 and bad.json["code"] == "code_invalid" and bad.json["tries_left"] == 4
    ok = client.post("/api/codes/verify", json={"phone": "13800000005", "purpose": "signup",
                                                "code": sent.params["code"]})
    assert ok.status_code == 200 and ok.json == {"verified": True}
    used = client.post("/api/codes/verify", json={"phone": "13800000005", "purpose": "signup",
                                                  "code": sent.params["code"]})
    assert used.status_code == 422 and used.json["code"] == "code_invalid"
