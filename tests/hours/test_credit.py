"""The credit path: idempotent per attendance, batched, and reversed (never deleted) by an upheld complaint."""

from __future__ import annotations

from sqlalchemy import func, select, update

from timebank import ledger
from timebank.hours import credit
from timebank.hours.models import Verification

from .conftest import attend, publish


def verified(client, hours, clock, who, *, minutes=60, need_id=None) -> int:
    task = publish(client, hours, clock, need_id=need_id)
    assert client.post(f"/api/tasks/{task['id']}/claims", headers=who).status_code == 201
    row = attend(client, hours, clock, task, who, minutes=minutes)
    resp = client.post(f"/api/attendances/{row['id']}/verification", headers=hours.admin_a,
                       json={"decision": "accepted"})
    assert resp.status_code == 201, resp.json
    return row["id"]


def balances(client, who) -> tuple[int, int]:
    body = client.get("/api/me/points", headers=who).json
    return body["minutes"]["posted"], body["points"]["available"]


def transfers_with_key_prefix(session, prefix: str) -> int:
    return session.scalar(select(func.count()).select_from(ledger.Transfer)
                          .where(ledger.Transfer.key.startswith(prefix)))


def test_credit_job_run_twice_credits_once(client, session, hours, clock, run_jobs):
    attendance_id = verified(client, hours, clock, hours.vol1, minutes=60)
    session.rollback()
    assert run_jobs() >= 1
    assert balances(client, hours.vol1) == (60, 10)
    # the handler runs again on the same rows (a redelivered job), and again after a crash that lost
    # the "credited" mark: the ledger's keys return the first transfers, nothing is credited twice
    assert credit.post(session, [attendance_id]) == 0
    session.execute(update(Verification).values(credited_at=None))
    assert credit.post(session, [attendance_id]) == 1
    session.commit()
    assert run_jobs() == 0
    assert balances(client, hours.vol1) == (60, 10)
    assert transfers_with_key_prefix(session, f"credit:attendance:{attendance_id}:") == 2


def test_one_drain_credits_a_whole_batch(client, session, hours, clock, run_jobs):
    for who in (hours.vol1, hours.vol2, hours.vol3):
        verified(client, hours, clock, who, minutes=30)
    session.rollback()
    assert run_jobs() == 1  # one drain job for the three outbox rows
    assert [balances(client, who) for who in (hours.vol1, hours.vol2, hours.vol3)] == [(30, 5)] * 3
    assert session.scalar(select(func.count()).select_from(Verification)
                          .where(Verification.credited_at.is_not(None))) == 3


def test_upheld_complaint_reverses_the_credit_through_the_ledger(client, session, hours, clock, run_jobs):
    need = client.post("/api/needs", headers=hours.resident, json={
        "org_id": hours.tree.grid_a.id, "title": "陪同就医", "category": "金色助老"}).json
    attendance_id = verified(client, hours, clock, hours.vol1, minutes=120, need_id=need["id"])
    session.rollback()
    run_jobs()
    assert balances(client, hours.vol1) == (120, 20)

    problem = client.post(f"/api/attendances/{attendance_id}/complaints", headers=hours.vol2,
                          json={"text": "他没来"})
    assert problem.status_code == 403
    complaint = client.post(f"/api/attendances/{attendance_id}/complaints", headers=hours.resident,
                            json={"text": "志愿者只待了半小时"}).json
    assert complaint["status"] == "open"
    denied = client.post(f"/api/complaints/{complaint['id']}/decision", headers=hours.admin_b,
                         json={"uphold": True, "reason": "核实属实"})
    assert denied.status_code == 403 and denied.json["code"] == "out_of_scope"
    resp = client.post(f"/api/complaints/{complaint['id']}/decision", headers=hours.admin_a,
                       json={"uphold": True, "reason": "经核实,服务时长不实"})
    assert resp.status_code == 200, resp.json
    assert resp.json["status"] == "upheld" and resp.json["decision_reason"] == "经核实,服务时长不实"

    assert balances(client, hours.vol1) == (0, 0)
    session.rollback()
    originals = [ledger.find_by_key(session, f"credit:attendance:{attendance_id}:{w}") for w in ("minutes", "points")]
    reversals = [ledger.find_by_key(session, f"reverse:attendance:{attendance_id}:{w}") for w in ("minutes", "points")]
    assert all(originals) and [r.corrects_id for r in reversals] == [o.id for o in originals]
    assert client.get(f"/api/attendances/{attendance_id}", headers=hours.vol1).json["status"] == "reversed"
    assert client.get("/api/me/hours", headers=hours.vol1).json["total_minutes"] == 0
    again = client.post(f"/api/complaints/{complaint['id']}/decision", headers=hours.admin_a,
                        json={"uphold": True, "reason": "重复"})
    assert again.status_code == 409 and again.json["code"] == "complaint_decided"


def test_complaint_upheld_before_the_worker_ran_stops_the_credit(client, session, hours, clock, run_jobs):
    attendance_id = verified(client, hours, clock, hours.vol1, minutes=60)
    complaint = client.post(f"/api/attendances/{attendance_id}/complaints", headers=hours.admin_a,
                            json={"text": "重复登记"}).json
    resp = client.post(f"/api/complaints/{complaint['id']}/decision", headers=hours.admin_a,
                       json={"uphold": True, "reason": "重复登记"})
    assert resp.status_code == 200
    session.rollback()
    run_jobs()
    assert balances(client, hours.vol1) == (0, 0)
    assert transfers_with_key_prefix(session, f"credit:attendance:{attendance_id}:") == 0


def _owed(client, who) -> int:
    return client.get("/api/me/points", headers=who).json["points_owed"]


def _uphold(client, hours, attendance_id) -> None:
    complaint = client.post(f"/api/attendances/{attendance_id}/complaints", headers=hours.admin_a,
                            json={"text": "服务时长不实"}).json
    resp = client.post(f"/api/complaints/{complaint['id']}/decision", headers=hours.admin_a,
                       json={"uphold": True, "reason": "经核实,服务时长不实"})
    assert resp.status_code == 200, resp.json


def test_an_upheld_complaint_cannot_be_dodged_by_spending_the_points(client, session, hours, clock, run_jobs):
    """Hours always go; the points left are taken, the rest is owed and repaid from the next credits first."""
    attendance_id = verified(client, hours, clock, hours.vol1, minutes=120)
    session.rollback()
    run_jobs()
    assert balances(client, hours.vol1) == (120, 20)
    gift = client.post("/api/gifts", headers={**hours.vol1, "Idempotency-Key": "g-1"},
                       json={"amount": 14, "to_person_id": hours.vol2_id, "note": "谢谢"})
    assert gift.status_code == 201, gift.json

    _uphold(client, hours, attendance_id)
    assert balances(client, hours.vol1) == (0, 0)  # the 6 left were taken; never below zero
    assert _owed(client, hours.vol1) == 14
    session.rollback()
    taken = ledger.find_by_key(session, f"reverse:attendance:{attendance_id}:points")
    owed = ledger.find_by_key(session, f"reverse:attendance:{attendance_id}:points_owed")
    assert (taken.amount, owed.amount) == (6, 14)
    assert taken.corrects_id == ledger.find_by_key(session, f"credit:attendance:{attendance_id}:points").id

    verified(client, hours, clock, hours.vol1, minutes=60)  # 10 points: all of them repay the debt
    session.rollback()
    run_jobs()
    assert balances(client, hours.vol1) == (60, 0) and _owed(client, hours.vol1) == 4
    verified(client, hours, clock, hours.vol1, minutes=60)  # 10 more: 4 repay the rest, 6 are spendable
    session.rollback()
    run_jobs()
    assert balances(client, hours.vol1) == (120, 6) and _owed(client, hours.vol1) == 0
    assert client.get("/api/me/points", headers=hours.vol2).json["points"]["available"] == 14  # the gift stands
    session.rollback()
    from timebank.ledger import verify

    assert verify.verify(session).ok


def test_points_held_for_a_redemption_stay_held_and_repay_the_debt_when_released(client, session, hours, clock,
                                                                                run_jobs):
    attendance_id = verified(client, hours, clock, hours.vol1, minutes=120)
    session.rollback()
    run_jobs()
    session.rollback()
    mine = ledger.find_by_key(session, f"credit:attendance:{attendance_id}:points").credit_account_id
    shop = ledger.account_for(session, owner_kind=ledger.OwnerKind.merchant, owner_id=1, ledger=ledger.Ledger.points)
    held = ledger.hold(session, key="test-hold", debit_account_id=mine, credit_account_id=shop.id, amount=15,
                       timeout_seconds=600)
    session.commit()

    _uphold(client, hours, attendance_id)
    body = client.get("/api/me/points", headers=hours.vol1).json
    assert body["points"]["available"] == 0 and body["points_owed"] == 15  # 5 taken, the 15 held stay held
    session.rollback()
    ledger.release(session, key="test-release", pending_id=held.id)
    assert credit.recover_owed(session, hours.vol1_id, key="recover:test-release") == 15
    session.commit()
    body = client.get("/api/me/points", headers=hours.vol1).json
    assert body["points"]["available"] == 0 and body["points_owed"] == 0
