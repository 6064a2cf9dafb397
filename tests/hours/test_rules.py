"""Bad input and abuse get a clear 4xx problem with a stable code, and nothing is half-written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import func, select

from timebank.clock import DISPLAY_TZ
from timebank.hours.models import Attendance, CheckinNonce, Claim, Verification
from timebank.ops.models import AuditEntry, OutboxMessage

from .conftest import attend, iso, publish, token_for


def count(session, model) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(model))


def problem(resp, status: int, code: str) -> None:
    assert resp.status_code == status, resp.json
    assert resp.mimetype == "application/problem+json"
    assert resp.json["code"] == code, resp.json


def claim(client, task, who):
    return client.post(f"/api/tasks/{task['id']}/claims", headers=who)


def test_claiming_a_full_task_is_refused_and_writes_nothing(client, session, hours, clock):
    task = publish(client, hours, clock, slots=1)
    assert claim(client, task, hours.vol1).status_code == 201
    before = count(session, Claim), count(session, AuditEntry)
    problem(claim(client, task, hours.vol2), 409, "task_full")
    assert (count(session, Claim), count(session, AuditEntry)) == before
    assert client.get(f"/api/tasks/{task['id']}", headers=hours.vol2).json["claimed"] == 1


def test_claiming_twice_withdrawing_and_claiming_again(client, hours, clock):
    task = publish(client, hours, clock, slots=1)
    first = claim(client, task, hours.vol1).json
    problem(claim(client, task, hours.vol1), 409, "already_claimed")
    problem(client.post(f"/api/claims/{first['id']}/withdraw", headers=hours.vol2), 403, "not_owner")
    assert client.post(f"/api/claims/{first['id']}/withdraw", headers=hours.vol1).json["status"] == "withdrawn"
    assert claim(client, task, hours.vol2).status_code == 201  # the slot came back
    problem(claim(client, task, hours.vol1), 409, "task_full")
    clock.set(datetime.fromisoformat(task["starts_at"]) + timedelta(minutes=1))
    problem(claim(client, task, hours.vol3), 422, "task_started")


def test_withdraw_after_start_refused_and_no_show_marked_by_grid_worker(client, hours, clock):
    task = publish(client, hours, clock, slots=2)
    row = claim(client, task, hours.vol1).json
    problem(client.post(f"/api/claims/{row['id']}/no-show", headers=hours.worker_a), 422, "task_not_started")
    clock.set(datetime.fromisoformat(task["starts_at"]) + timedelta(minutes=30))
    problem(client.post(f"/api/claims/{row['id']}/withdraw", headers=hours.vol1), 422, "task_started")
    problem(client.post(f"/api/claims/{row['id']}/no-show", headers=hours.admin_b), 403, "out_of_scope")
    assert client.post(f"/api/claims/{row['id']}/no-show", headers=hours.worker_a).json["status"] == "no_show"
    problem(client.post("/api/attendance/check-in", json={"token": token_for(client, hours, task["id"])},
                        headers=hours.vol1), 422, "no_active_claim")


def test_checkin_token_expired_forged_replayed_or_for_no_claim(app, client, session, hours, clock):
    task = publish(client, hours, clock)
    claim(client, task, hours.vol1)
    clock.set(datetime.fromisoformat(task["starts_at"]))
    token = token_for(client, hours, task["id"])
    nonces = count(session, CheckinNonce)

    forged = URLSafeTimedSerializer("not-our-secret", salt="timebank.checkin").dumps(
        {"t": task["id"], "w": 0, "n": "abcd"})
    problem(client.post("/api/attendance/check-in", json={"token": forged}, headers=hours.vol1),
            422, "checkin_token_invalid")
    problem(client.post("/api/attendance/check-in", json={"token": token[:-2] + "xx"}, headers=hours.vol1),
            422, "checkin_token_invalid")
    problem(client.post("/api/attendance/check-in", json={"token": token}, headers=hours.vol2),
            422, "no_active_claim")
    clock.advance(minutes=4)  # the code on the screen has rotated and this one expired
    problem(client.post("/api/attendance/check-in", json={"token": token}, headers=hours.vol1),
            422, "checkin_token_expired")
    assert count(session, CheckinNonce) == nonces and count(session, Attendance) == 0

    fresh = token_for(client, hours, task["id"])
    assert client.post("/api/attendance/check-in", json={"token": fresh}, headers=hours.vol1).status_code == 201
    clock.advance(minutes=2)
    problem(client.post("/api/attendance/check-out", json={"token": fresh}, headers=hours.vol1),
            409, "checkin_token_replayed")
    problem(client.post("/api/attendance/check-in", json={"token": token_for(client, hours, task["id"])},
                        headers=hours.vol1), 422, "attendance_overlap")


def test_token_outside_the_task_window_is_refused(client, hours, clock):
    task = publish(client, hours, clock, starts_in=timedelta(hours=5))
    claim(client, task, hours.vol1)
    problem(client.post("/api/attendance/check-in", json={"token": token_for(client, hours, task["id"])},
                        headers=hours.vol1), 422, "outside_task_window")


def test_sub_minute_session_is_refused_and_stays_open(client, session, hours, clock):
    task = publish(client, hours, clock)
    claim(client, task, hours.vol1)
    clock.set(datetime.fromisoformat(task["starts_at"]))
    client.post("/api/attendance/check-in", json={"token": token_for(client, hours, task["id"])}, headers=hours.vol1)
    clock.advance(seconds=50)
    problem(client.post("/api/attendance/check-out", json={"token": token_for(client, hours, task["id"])},
                        headers=hours.vol1), 422, "attendance_too_short")
    session.rollback()
    assert session.scalar(select(Attendance.status)) == "open"


def test_overlapping_sessions_on_two_tasks_are_refused(client, hours, clock):
    first = publish(client, hours, clock)  # +2h .. +4h
    second = publish(client, hours, clock, starts_in=timedelta(hours=3))  # +3h .. +5h
    for t in (first, second):
        claim(client, t, hours.vol1)
    session_one = attend(client, hours, clock, first, hours.vol1, minutes=110)  # +2h .. +3h50
    out_at = datetime.fromisoformat(session_one["checked_out_at"])
    second_claim = [c for c in client.get("/api/me/claims", headers=hours.vol1).json["items"]
                    if c["task_id"] == second["id"]][0]

    def late(start, end):
        return client.post("/api/attendance/late-entry", headers=hours.admin_a, json={
            "claim_id": second_claim["id"], "checked_in_at": iso(start), "checked_out_at": iso(end),
            "reason": "现场签到设备故障"})

    problem(late(out_at, out_at + timedelta(minutes=30)), 422, "time_in_future")
    clock.advance(hours=2)
    problem(late(out_at - timedelta(minutes=20), out_at + timedelta(minutes=30)), 422, "attendance_overlap")
    blank = client.post("/api/attendance/late-entry", headers=hours.admin_a, json={
        "claim_id": second_claim["id"], "checked_in_at": iso(out_at),
        "checked_out_at": iso(out_at + timedelta(minutes=30)), "reason": " "})
    problem(blank, 422, "reason_required")
    problem(client.post("/api/attendance/late-entry", headers=hours.worker_a, json={
        "claim_id": second_claim["id"], "checked_in_at": iso(out_at),
        "checked_out_at": iso(out_at + timedelta(minutes=30)), "reason": "补录"}), 403, "out_of_scope")
    ok = late(out_at, out_at + timedelta(minutes=30))
    assert ok.status_code == 201, ok.json
    assert ok.json["source"] == "late_entry" and ok.json["minutes"] == 30
    problem(client.post("/api/attendance/check-in", json={"token": token_for(client, hours, second["id"])},
                        headers=hours.vol1), 422, "task_ended")


def test_per_task_and_daily_caps(client, session, hours, clock):
    session.rollback()
    hours.tree.district.settings = {**hours.tree.district.settings, "daily_minutes_cap": 150}
    session.commit()
    # 06:00 in Shanghai tomorrow, so every session below falls on one local day
    local_morning = (clock.now.astimezone(DISPLAY_TZ) + timedelta(days=1)).replace(hour=6, minute=0, second=0)
    clock.set(local_morning.astimezone(UTC))
    task = publish(client, hours, clock, hours_long=2)
    other = publish(client, hours, clock, starts_in=timedelta(hours=6), hours_long=2)
    for t in (task, other):
        claim(client, t, hours.vol1)
    # checked in 30 min early, out 30 min late: 180 min on site, credited at most the task's 120
    clock.set(datetime.fromisoformat(task["starts_at"]) - timedelta(minutes=30))
    client.post("/api/attendance/check-in", json={"token": token_for(client, hours, task["id"])}, headers=hours.vol1)
    clock.advance(minutes=180)
    out = client.post("/api/attendance/check-out", json={"token": token_for(client, hours, task["id"])},
                      headers=hours.vol1)
    assert out.json["minutes"] == 120
    # the same local day: only 30 minutes of the 150-minute daily cap are left
    second = attend(client, hours, clock, other, hours.vol1, minutes=60)
    assert second["minutes"] == 30
    clock.advance(minutes=1)
    claim_id = [c for c in client.get("/api/me/claims", headers=hours.vol1).json["items"]
                if c["task_id"] == other["id"]][0]["id"]
    start = datetime.fromisoformat(other["starts_at"])
    resp = client.post("/api/attendance/confirm", headers=hours.worker_a, json={
        "claim_id": claim_id, "checked_in_at": iso(start + timedelta(minutes=61)),
        "checked_out_at": iso(start + timedelta(minutes=62))})
    problem(resp, 422, "daily_cap_reached")


def test_verification_outside_ones_community_and_of_oneself(client, session, hours, clock, make_person, app):
    task = publish(client, hours, clock)
    claim(client, task, hours.vol1)
    row = attend(client, hours, clock, task, hours.vol1)
    problem(client.post(f"/api/attendances/{row['id']}/verification", headers=hours.admin_b,
                        json={"decision": "accepted"}), 403, "out_of_scope")
    problem(client.post(f"/api/attendances/{row['id']}/verification", headers=hours.worker_a,
                        json={"decision": "accepted"}), 403, "out_of_scope")
    problem(client.post(f"/api/attendances/{row['id']}/verification", headers=hours.vol1,
                        json={"decision": "accepted"}), 403, "out_of_scope")
    problem(client.get(f"/api/communities/{hours.tree.community_a.id}/verification-queue",
                       headers=hours.admin_b), 403, "out_of_scope")
    assert count(session, Verification) == 0 and count(session, OutboxMessage) == 0


def test_scope_crossing_on_reads_and_site_codes(client, hours, clock):
    task = publish(client, hours, clock)
    row = claim(client, task, hours.vol1).json
    problem(client.get(f"/api/claims/{row['id']}", headers=hours.vol2), 403, "out_of_scope")
    assert client.get(f"/api/claims/{row['id']}", headers=hours.worker_a).status_code == 200
    problem(client.get(f"/api/tasks/{task['id']}/claims", headers=hours.vol2), 403, "out_of_scope")
    problem(client.get(f"/api/tasks/{task['id']}/checkin-token", headers=hours.vol1), 403, "out_of_scope")
    problem(client.get(f"/api/tasks/{task['id']}/checkin-token", headers=hours.admin_b), 403, "out_of_scope")
    problem(client.post("/api/tasks", headers=hours.admin_b, json={
        "org_id": hours.tree.community_a.id, "title": "x", "category": "金色助老", "place": "x",
        "starts_at": task["starts_at"], "ends_at": task["ends_at"], "slots": 1}), 403, "out_of_scope")
    need = client.post("/api/needs", headers=hours.resident, json={"org_id": hours.tree.grid_a.id,
                                                                  "title": "买菜"}).json
    problem(client.get(f"/api/needs/{need['id']}", headers=hours.vol1), 403, "out_of_scope")
    assert client.get("/api/needs", headers=hours.vol1).json["items"] == []
    assert [n["id"] for n in client.get("/api/needs", headers=hours.admin_a).json["items"]] == [need["id"]]
    assert client.get("/api/needs", headers=hours.admin_b).json["items"] == []
    problem(client.post(f"/api/needs/{need['id']}/reject", headers=hours.admin_b, json={"reason": "不属本社区"}),
            403, "out_of_scope")
    problem(client.post(f"/api/needs/{need['id']}/rating", headers=hours.resident, json={"stars": 5}),
            422, "need_not_fulfilled")
    problem(client.post("/api/needs", headers=hours.vol1, json={
        "org_id": hours.tree.grid_a.id, "title": "代发", "requester_id": hours.resident_id}), 403, "out_of_scope")


def test_verifying_twice_and_a_bulk_batch_with_one_bad_item(client, session, hours, clock):
    task = publish(client, hours, clock, slots=3)
    rows = []
    for who in (hours.vol1, hours.vol2, hours.vol3):
        claim(client, task, who)
    for who in (hours.vol1, hours.vol2, hours.vol3):
        rows.append(attend(client, hours, clock, task, who, minutes=60))
    first = client.post(f"/api/attendances/{rows[0]['id']}/verification", headers=hours.admin_a,
                        json={"decision": "accepted"})
    assert first.status_code == 201
    problem(client.post(f"/api/attendances/{rows[0]['id']}/verification", headers=hours.admin_a,
                        json={"decision": "accepted"}), 409, "already_verified")
    before = count(session, Verification), count(session, OutboxMessage)
    resp = client.post("/api/attendances/verifications", headers=hours.admin_a, json={"items": [
        {"attendance_id": rows[1]["id"], "decision": "accepted"},
        {"attendance_id": rows[2]["id"], "decision": "accepted", "minutes": 61}]})
    problem(resp, 422, "minutes_out_of_range")
    assert resp.json["attendance_id"] == rows[2]["id"]
    problem(client.post("/api/attendances/verifications", headers=hours.admin_a, json={"items": [
        {"attendance_id": rows[1]["id"], "decision": "rejected"}]}), 422, "reason_required")
    assert (count(session, Verification), count(session, OutboxMessage)) == before
    ok = client.post("/api/attendances/verifications", headers=hours.admin_a, json={"items": [
        {"attendance_id": rows[1]["id"], "decision": "accepted", "minutes": 45},
        {"attendance_id": rows[2]["id"], "decision": "rejected", "reason": "重复登记"}]})
    assert ok.status_code == 201
    assert [(v["minutes_accepted"], v["points"]) for v in ok.json["items"]] == [(45, 7), (0, 0)]


@pytest.mark.parametrize("body, code", [
    ({"title": "x"}, "validation_failed"),
    ({"category": "紫色"}, "unknown_category"),
    ({"slots": 0}, "validation_failed"),
    ({"points_per_hour": 50}, "points_rule_exceeded"),
    ({"scope": "organisation"}, "eligibility"),
    ({"eligibility": "branch"}, "eligibility"),
    ({"starts_at": "2030-01-01T10:00:00"}, "validation_failed"),  # naive time
    ({"unknown_field": 1}, "validation_failed"),
])
def test_publish_bad_input(client, session, hours, clock, body, code):
    start = clock.now + timedelta(hours=1)
    base = {"org_id": hours.tree.community_a.id, "title": "巡逻", "category": "蓝色平安", "place": "小区门口",
            "starts_at": iso(start), "ends_at": iso(start + timedelta(hours=1)), "slots": 2}
    if body == {"title": "x"}:
        base.pop("place")
    resp = client.post("/api/tasks", headers=hours.admin_a, json={**base, **body})
    assert resp.status_code in (403, 409, 422)
    assert resp.json["code"] == code, resp.json
    session.rollback()
    assert count(session, AuditEntry) == 0


def test_ends_before_start_and_past_tasks(client, hours, clock):
    start = clock.now + timedelta(hours=1)
    base = {"org_id": hours.tree.community_a.id, "title": "巡逻", "category": "蓝色平安", "place": "小区门口",
            "slots": 2}
    problem(client.post("/api/tasks", headers=hours.admin_a, json={
        **base, "starts_at": iso(start), "ends_at": iso(start - timedelta(minutes=5))}), 422, "ends_before_start")
    problem(client.post("/api/tasks", headers=hours.admin_a, json={
        **base, "starts_at": iso(start - timedelta(hours=3)), "ends_at": iso(start - timedelta(hours=2))}),
        422, "task_in_past")


def test_bulk_verification_writes_every_row_and_marks_a_served_need_fulfilled(client, session, hours, clock, run_jobs):
    # A community activity (no need behind it): the Core fast path.
    task = publish(client, hours, clock, slots=2)
    for who in (hours.vol1, hours.vol2):
        claim(client, task, who)
    rows = [attend(client, hours, clock, task, who, minutes=60) for who in (hours.vol1, hours.vol2)]
    ok = client.post("/api/attendances/verifications", headers=hours.admin_a, json={"items": [
        {"attendance_id": rows[0]["id"], "decision": "accepted"},
        {"attendance_id": rows[1]["id"], "decision": "rejected", "reason": "未到场"}]})
    assert ok.status_code == 201, ok.json
    for item, row in zip(ok.json["items"], rows, strict=True):  # the ids answered are the rows written
        assert client.get(f"/api/attendances/{row['id']}/verification", headers=hours.admin_a).json == item
    session.rollback()
    assert [session.get(Attendance, r["id"]).status for r in rows] == ["accepted", "rejected"]
    audited = session.scalars(select(AuditEntry.entity_id).where(AuditEntry.action == "attendance.verify")).all()
    assert sorted(audited) == sorted(str(r["id"]) for r in rows)
    assert session.scalars(select(OutboxMessage.dedupe_key).where(OutboxMessage.topic == "credit")).all() == [
        f"credit:attendance:{rows[0]['id']}"]  # only the accepted one promises a credit
    run_jobs()
    assert client.get(f"/api/attendances/{rows[0]['id']}/verification",
                      headers=hours.admin_a).json["credited_at"] is not None

    # A task made from a resident's need: the batch goes through the ORM and the need is fulfilled.
    need = client.post("/api/needs", headers=hours.resident, json={
        "kind": "micro_wish", "org_id": hours.tree.grid_a.id, "title": "帮忙买菜", "category": "金色助老",
        "description": "腿脚不便", "wanted_by": (clock.now + timedelta(days=7)).date().isoformat()}).json
    served = publish(client, hours, clock, slots=1, need_id=need["id"], starts_in=timedelta(days=1))
    claim(client, served, hours.vol3)
    row = attend(client, hours, clock, served, hours.vol3, minutes=60)
    resp = client.post("/api/attendances/verifications", headers=hours.admin_a, json={"items": [
        {"attendance_id": row["id"], "decision": "accepted"}]})
    assert resp.status_code == 201, resp.json
    assert client.get(f"/api/needs/{need['id']}", headers=hours.resident).json["status"] == "fulfilled"


def test_a_task_in_year_9999_is_refused_and_the_halls_stay_up(client, session, hours, clock):
    """One mistyped date must not be accepted, nor break the task hall for everyone."""
    base = {"org_id": hours.tree.community_a.id, "title": "巡逻", "category": "蓝色平安", "place": "小区门口",
            "slots": 2, "starts_at": "9999-12-31T08:00:00+08:00", "ends_at": "9999-12-31T10:00:00+08:00"}
    refused = client.post("/api/tasks", headers=hours.admin_a, json=base)
    problem(refused, 422, "validation_failed")
    assert "日期超出允许的范围" in str(refused.json["errors"])  # beyond the dates a time bank can mean
    far = {**base, "starts_at": "2090-12-31T08:00:00+08:00", "ends_at": "2090-12-31T10:00:00+08:00"}
    problem(client.post("/api/tasks", headers=hours.admin_a, json=far), 422, "task_too_far")
    assert client.get("/api/tasks", headers=hours.admin_a).status_code == 200
