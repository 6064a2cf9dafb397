"""A volunteer team through the API: the community forms a professional team, volunteers apply and the leader
decides, the leader claims slots of a task for named members (all or none), one member serves and is verified,
and the team's hours and the team honour board show it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from tests.conftest import bearer
from timebank.hours.models import Claim, ClaimStatus
from timebank.notify.models import Notification
from timebank.people.models import Role
from timebank.teams.models import TeamClaim

from .conftest import attend, publish


def make_team(client, hours, *, leader_id: int, name: str = "幸福社区医护志愿服务队", headers=None, **extra) -> dict:
    body = {"community_id": hours.tree.community_a.id, "name": name, "kind": "professional",
            "profession": "medical", "leader_id": leader_id, "description": "社区医生和护士", **extra}
    resp = client.post("/api/teams", json=body, headers=headers or hours.admin_a)
    assert resp.status_code == 201, resp.json
    return resp.json


def join(client, hours, team: dict, *members: dict) -> None:
    """Each volunteer applies; the leader (vol1) approves."""
    for headers in members:
        resp = client.post(f"/api/teams/{team['id']}/applications", json={"note": "我是护士"}, headers=headers)
        assert resp.status_code == 201, resp.json
        resp = client.post(f"/api/team-members/{resp.json['id']}/decision", json={"approve": True},
                           headers=hours.vol1)
        assert resp.status_code == 200 and resp.json["status"] == "active", resp.json


def inbox(session, person_id: int, kind: str) -> list[str]:
    session.rollback()
    return list(session.scalars(select(Notification.body).where(Notification.person_id == person_id,
                                                                Notification.kind == kind)))


def test_team_forms_claims_serves_and_ranks(client, session, hours, clock, run_jobs, make_person, app):
    team = make_team(client, hours, leader_id=hours.vol1_id)
    assert team["leader_name"] == "张伟" and team["kind"] == "professional" and team["profession"] == "medical"

    # 王芳 applies and is approved; a stranger applies and is refused with a reason she reads.
    join(client, hours, team, hours.vol2)
    stranger = make_person("赵敏", hours.tree.grid_a)
    applied = client.post(f"/api/teams/{team['id']}/applications", headers=bearer(app, stranger))
    assert applied.status_code == 201 and applied.json["status"] == "applied"
    again = client.post(f"/api/teams/{team['id']}/applications", headers=bearer(app, stranger))
    assert again.status_code == 409 and again.json["code"] == "team_already_applied"
    pending = client.get(f"/api/teams/{team['id']}/members", query_string={"status": "applied"}, headers=hours.vol1)
    assert [m["name"] for m in pending.json["items"]] == ["赵敏"]
    no_reason = client.post(f"/api/team-members/{applied.json['id']}/decision", json={"approve": False},
                            headers=hours.vol1)
    assert no_reason.status_code == 422 and no_reason.json["code"] == "team_reason_required"
    refused = client.post(f"/api/team-members/{applied.json['id']}/decision",
                          json={"approve": False, "reason": "本队只接收医护人员"}, headers=hours.vol1)
    assert refused.status_code == 200 and refused.json["status"] == "refused"
    assert any("本队只接收医护人员" in body for body in inbox(session, stranger.id, "team.decided"))
    join(client, hours, team, hours.vol3)
    members = client.get(f"/api/teams/{team['id']}/members", headers=hours.vol2).json["items"]
    assert sorted(m["name"] for m in members) == ["张伟", "李娜", "王芳"]

    # The leader claims 3 of 5 slots for the three members at once.
    task = publish(client, hours, clock, slots=5)
    ids = [hours.vol1_id, hours.vol2_id, hours.vol3_id]
    resp = client.post(f"/api/teams/{team['id']}/claims", json={"task_id": task["id"], "person_ids": ids},
                       headers=hours.vol1)
    assert resp.status_code == 201, resp.json
    assert resp.json["size"] == 3 and sorted(resp.json["person_ids"]) == sorted(ids)
    assert client.get(f"/api/tasks/{task['id']}", headers=hours.vol1).json["claimed"] == 3
    told = inbox(session, hours.vol3_id, "team.claimed")
    assert any("幸福社区医护志愿服务队" in b and "为独居老人打扫卫生" in b for b in told)

    # The same claim sent twice (a double tap) is the same claim; the slots are taken once.
    twice = client.post(f"/api/teams/{team['id']}/claims", json={"task_id": task["id"], "person_ids": ids},
                        headers=hours.vol1)
    assert twice.status_code == 201 and twice.json["id"] == resp.json["id"]
    assert client.get(f"/api/tasks/{task['id']}", headers=hours.vol1).json["claimed"] == 3

    # 王芳 serves 90 minutes on the team's slot; the admin verifies; the credit job posts it.
    attendance = attend(client, hours, clock, task, hours.vol2, minutes=90)
    verified = client.post(f"/api/attendances/{attendance['id']}/verification", headers=hours.admin_a,
                           json={"decision": "accepted"})
    assert verified.status_code == 201, verified.json
    assert run_jobs() >= 1

    period = clock.now.strftime("%Y-%m")
    got = client.get(f"/api/teams/{team['id']}/hours", query_string={"period": period}, headers=hours.vol2).json
    assert got["all_minutes"] == 90 and got["team_task_minutes"] == 90 and got["members"] == 3
    assert got["items"][0]["name"] == "王芳" and got["items"][0]["minutes"] == 90

    board = client.get(f"/api/orgs/{hours.tree.community_a.id}/team-honour-board", query_string={"period": period},
                       headers=hours.vol3).json
    assert [(r["name"], r["minutes"], r["members"]) for r in board["items"]] == [("幸福社区医护志愿服务队", 90, 3)]
    street = client.get(f"/api/orgs/{hours.tree.street.id}/team-honour-board", query_string={"period": "year"},
                        headers=hours.vol3).json
    assert street["items"][0]["community"] == "幸福社区"


def test_all_minutes_count_every_service_team_task_minutes_only_the_teams(client, session, hours, clock, run_jobs):
    team = make_team(client, hours, leader_id=hours.vol1_id, kind="general", profession=None, name="先锋队")
    join(client, hours, team, hours.vol2)
    team_task = publish(client, hours, clock, slots=3)
    alone = publish(client, hours, clock, slots=1, starts_in=timedelta(hours=6))
    assert client.post(f"/api/teams/{team['id']}/claims", json={"task_id": team_task["id"],
                       "person_ids": [hours.vol2_id]}, headers=hours.vol1).status_code == 201
    assert client.post(f"/api/tasks/{alone['id']}/claims", headers=hours.vol2).status_code == 201
    for task in (team_task, alone):
        att = attend(client, hours, clock, task, hours.vol2, minutes=60)
        assert client.post(f"/api/attendances/{att['id']}/verification", headers=hours.admin_a,
                           json={"decision": "accepted"}).status_code == 201
    run_jobs()
    got = client.get(f"/api/teams/{team['id']}/hours", query_string={"period": "month"}, headers=hours.vol1).json
    assert got["all_minutes"] == 120 and got["team_task_minutes"] == 60


def test_a_member_already_on_the_task_refuses_the_whole_team_claim(client, session, hours, clock):
    team = make_team(client, hours, leader_id=hours.vol1_id)
    join(client, hours, team, hours.vol2, hours.vol3)
    task = publish(client, hours, clock, slots=5)
    assert client.post(f"/api/tasks/{task['id']}/claims", headers=hours.vol3).status_code == 201
    resp = client.post(f"/api/teams/{team['id']}/claims",
                       json={"task_id": task["id"], "person_ids": [hours.vol1_id, hours.vol2_id, hours.vol3_id]},
                       headers=hours.vol1)
    assert resp.status_code == 409 and resp.json["code"] == "team_member_already_claimed"
    assert "李娜" in resp.json["detail"]
    session.rollback()
    assert client.get(f"/api/tasks/{task['id']}", headers=hours.vol1).json["claimed"] == 1
    assert session.scalar(select(func.count()).select_from(TeamClaim)) == 0
    assert session.scalar(select(func.count()).select_from(Claim)) == 1


def test_not_enough_slots_writes_nothing(client, session, hours, clock):
    team = make_team(client, hours, leader_id=hours.vol1_id)
    join(client, hours, team, hours.vol2, hours.vol3)
    task = publish(client, hours, clock, slots=2)
    resp = client.post(f"/api/teams/{team['id']}/claims",
                       json={"task_id": task["id"], "person_ids": [hours.vol1_id, hours.vol2_id, hours.vol3_id]},
                       headers=hours.vol1)
    assert resp.status_code == 409 and resp.json["code"] == "not_enough_slots"
    assert "还剩 2 个" in resp.json["detail"]
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Claim)) == 0
    assert client.get(f"/api/tasks/{task['id']}", headers=hours.vol1).json["claimed"] == 0


def test_withdrawing_a_team_claim_frees_the_slots_and_tells_the_members(client, session, hours, clock):
    team = make_team(client, hours, leader_id=hours.vol1_id)
    join(client, hours, team, hours.vol2)
    task = publish(client, hours, clock, slots=2)
    body = {"task_id": task["id"], "person_ids": [hours.vol1_id, hours.vol2_id]}
    made = client.post(f"/api/teams/{team['id']}/claims", json=body, headers=hours.vol1).json
    mine = client.get("/api/me/claims", headers=hours.vol2).json["items"]
    assert mine[0]["task_id"] == task["id"] and mine[0]["status"] == "active"
    assert client.post(f"/api/team-claims/{made['id']}/withdraw", headers=hours.vol2).status_code == 403
    resp = client.post(f"/api/team-claims/{made['id']}/withdraw", headers=hours.vol1)
    assert resp.status_code == 200 and resp.json["status"] == "withdrawn"
    assert client.get(f"/api/tasks/{task['id']}", headers=hours.vol1).json["claimed"] == 0
    session.rollback()
    assert set(session.scalars(select(Claim.status))) == {ClaimStatus.withdrawn}
    assert inbox(session, hours.vol2_id, "team.claim_withdrawn")
    again = client.post(f"/api/team-claims/{made['id']}/withdraw", headers=hours.vol1)
    assert again.status_code == 409 and again.json["code"] == "team_claim_state"
    # The team may take the slots again.
    retaken = client.post(f"/api/teams/{team['id']}/claims", json=body, headers=hours.vol1)
    assert retaken.status_code == 201 and retaken.json["id"] == made["id"]
    assert client.get(f"/api/tasks/{task['id']}", headers=hours.vol1).json["claimed"] == 2


def test_only_the_leader_or_an_admin_claims_and_only_for_active_members(client, session, hours, clock, make_person,
                                                                        app):
    team = make_team(client, hours, leader_id=hours.vol1_id)
    join(client, hours, team, hours.vol2)
    task = publish(client, hours, clock, slots=5)
    as_member = client.post(f"/api/teams/{team['id']}/claims",
                            json={"task_id": task["id"], "person_ids": [hours.vol2_id]}, headers=hours.vol2)
    assert as_member.status_code == 403 and as_member.json["code"] == "team_leader_only"
    outsider = client.post(f"/api/teams/{team['id']}/claims",
                           json={"task_id": task["id"], "person_ids": [hours.vol2_id, hours.vol3_id]},
                           headers=hours.vol1)
    assert outsider.status_code == 422 and outsider.json["code"] == "team_members_not_active"
    assert "李娜" in outsider.json["detail"]
    other = client.post(f"/api/teams/{team['id']}/claims",
                        json={"task_id": task["id"], "person_ids": [hours.vol2_id]}, headers=hours.admin_b)
    assert other.status_code == 403
    by_admin = client.post(f"/api/teams/{team['id']}/claims",
                           json={"task_id": task["id"], "person_ids": [hours.vol2_id]}, headers=hours.admin_a)
    assert by_admin.status_code == 201
    # A task of another community is not this team's to claim.
    elsewhere = publish(client, hours, clock, slots=5, org=hours.tree.grid_b, headers=hours.admin_b)
    far = client.post(f"/api/teams/{team['id']}/claims",
                      json={"task_id": elsewhere["id"], "person_ids": [hours.vol1_id]}, headers=hours.vol1)
    assert far.status_code == 422 and far.json["code"] == "team_task_other_community"
    stranger = make_person("路人", hours.tree.grid_a)
    assert client.post(f"/api/teams/{team['id']}/claims", json={"task_id": task["id"], "person_ids": [stranger.id]},
                       headers=bearer(app, stranger)).status_code == 403


def test_scope_of_creating_and_deciding(client, session, hours, make_person, app):
    body = {"community_id": hours.tree.community_a.id, "name": "越界队", "leader_id": hours.vol1_id}
    assert client.post("/api/teams", json=body, headers=hours.admin_b).status_code == 403
    assert client.post("/api/teams", json=body, headers=hours.vol1).status_code == 403
    team = make_team(client, hours, leader_id=hours.vol1_id)
    dup = client.post("/api/teams", json={**body, "name": team["name"]}, headers=hours.admin_a)
    assert dup.status_code == 409 and dup.json["code"] == "team_name_taken"
    applied = client.post(f"/api/teams/{team['id']}/applications", headers=hours.vol2).json
    assert client.post(f"/api/team-members/{applied['id']}/decision", json={"approve": True},
                       headers=hours.admin_b).status_code == 403
    assert client.post(f"/api/team-members/{applied['id']}/decision", json={"approve": True},
                       headers=hours.vol3).status_code == 403
    # Only the leader and managers read the applications.
    assert client.get(f"/api/teams/{team['id']}/members", query_string={"status": "applied"},
                      headers=hours.vol3).status_code == 403
    assert client.post(f"/api/team-members/{applied['id']}/decision", json={"approve": True},
                       headers=hours.admin_a).status_code == 200
    twice = client.post(f"/api/team-members/{applied['id']}/decision", json={"approve": True}, headers=hours.vol1)
    assert twice.status_code == 409 and twice.json["code"] == "team_member_state"
    # Members leave; the leader cannot; the leader removes with a reason.
    assert client.post(f"/api/teams/{team['id']}/leave", headers=hours.vol1).json["code"] == "team_leader_cannot_leave"
    removed = client.post(f"/api/team-members/{applied['id']}/removal", json={"reason": "长期未参加活动"},
                          headers=hours.vol1)
    assert removed.status_code == 200 and removed.json["status"] == "left"
    assert any("长期未参加活动" in b for b in inbox(session, hours.vol2_id, "team.removed"))
    rejoin = client.post(f"/api/teams/{team['id']}/applications", headers=hours.vol2)
    assert rejoin.status_code == 201 and rejoin.json["id"] == applied["id"] and rejoin.json["status"] == "applied"
    assert client.post(f"/api/teams/{team['id']}/leave", headers=hours.vol2).json["status"] == "left"
    mine = client.get("/api/me/teams", headers=hours.vol1).json["items"]
    assert [m["role"] for m in mine] == ["leader"]


def test_a_unit_forms_its_own_team_and_hands_it_to_a_new_leader(client, session, hours, make_person, app):
    from timebank.people import partners
    from timebank.people import persons as people
    from timebank.people.access import SYSTEM
    from timebank.people.credit_code import make

    unit = partners.create_employer(session, SYSTEM, name="区人民医院", credit_code_value=make("12330100MB00000A2"),
                                    org_id=hours.tree.district.id)
    other = partners.create_employer(session, SYSTEM, name="区实验小学", credit_code_value=make("12330100MB00000B2"),
                                     org_id=hours.tree.district.id)
    secretary = make_person("医院书记", hours.tree.grid_a)
    people.grant(session, None, secretary, Role.employer_contact, employer_id=unit.id)
    session.commit()
    unit_id, other_id = unit.id, other.id
    h = bearer(app, secretary)
    session.rollback()
    body = {"community_id": hours.tree.community_b.id, "name": "医院党员服务队", "leader_id": hours.vol1_id,
            "employer_id": unit_id}
    made = client.post("/api/teams", json=body, headers=h)
    assert made.status_code == 201 and made.json["employer_id"] == unit_id
    assert client.post("/api/teams", json={**body, "employer_id": other_id, "name": "别家队"},
                       headers=h).status_code == 403
    listed = client.get("/api/teams", query_string={"employer_id": unit_id}, headers=h).json["items"]
    assert [t["name"] for t in listed] == ["医院党员服务队"]
    handed = client.patch(f"/api/teams/{made.json['id']}", json={"leader_id": hours.vol2_id}, headers=h)
    assert handed.status_code == 200 and handed.json["leader_name"] == "王芳"
    members = client.get(f"/api/teams/{made.json['id']}/members", headers=h).json["items"]
    assert {(m["name"], m["role"]) for m in members} == {("张伟", "member"), ("王芳", "leader")}
    assert client.patch(f"/api/teams/{made.json['id']}", json={"leader_id": hours.vol3_id},
                        headers=hours.admin_a).status_code == 403  # community_b's team: not admin_a's scope


def test_bad_input_is_a_4xx_problem(client, hours):
    team = make_team(client, hours, leader_id=hours.vol1_id)
    cases = [
        ("/api/teams", {"community_id": hours.tree.community_a.id, "name": "x", "leader_id": hours.vol1_id,
                        "kind": "professional"}, 422, "team_profession_required"),
        ("/api/teams", {"community_id": hours.tree.community_a.id, "name": "x", "leader_id": hours.vol1_id,
                        "kind": "professional", "profession": "astronaut"}, 422, "validation_failed"),
        ("/api/teams", {"community_id": hours.tree.grid_a.id, "name": "x", "leader_id": hours.vol1_id}, 422,
         "team_needs_community"),
        ("/api/teams", {"community_id": hours.tree.community_a.id, "name": "x", "leader_id": 987654}, 422,
         "team_leader_unknown"),
        ("/api/teams", {"community_id": hours.tree.community_a.id, "name": "长" * 61, "leader_id": hours.vol1_id},
         422, "validation_failed"),
        (f"/api/teams/{team['id']}/claims", {"task_id": 1, "person_ids": []}, 422, "validation_failed"),
        (f"/api/teams/{team['id']}/claims", {"task_id": 1, "person_ids": list(range(1, 500))}, 422,
         "validation_failed"),
        (f"/api/teams/{team['id']}/claims", {"task_id": 1, "person_ids": "1,2"}, 422, "validation_failed"),
        (f"/api/teams/{team['id']}/claims", {"task_id": 987654, "person_ids": [hours.vol1_id]}, 404,
         "task_not_found"),
        ("/api/teams/987654/claims", {"task_id": 1, "person_ids": [1]}, 404, "team_not_found"),
        ("/api/team-members/987654/decision", {"approve": True}, 404, "team_member_not_found"),
    ]
    for path, body, status, code in cases:
        resp = client.post(path, json=body, headers=hours.admin_a)
        assert (resp.status_code, resp.json["code"]) == (status, code), (path, body, resp.json)
        assert resp.headers["Content-Type"].startswith("application/problem+json")
    assert client.get(f"/api/teams/{team['id']}/hours", query_string={"period": "2025-13"},
                      headers=hours.vol1).status_code == 422
    assert client.get("/api/teams", query_string={"profession": "x"}, headers=hours.vol1).status_code == 422


def test_a_team_claim_with_an_idempotency_key_is_replayed_not_repeated(client, session, hours, clock):
    team = make_team(client, hours, leader_id=hours.vol1_id)
    join(client, hours, team, hours.vol2)
    task = publish(client, hours, clock, slots=4)
    body = {"task_id": task["id"], "person_ids": [hours.vol1_id, hours.vol2_id]}
    keyed = {**hours.vol1, "Idempotency-Key": "team-claim-1"}
    first = client.post(f"/api/teams/{team['id']}/claims", json=body, headers=keyed)
    again = client.post(f"/api/teams/{team['id']}/claims", json=body, headers=keyed)
    assert first.status_code == again.status_code == 201 and again.json == first.json
    assert again.headers.get("Idempotent-Replayed") == "true"
    other = client.post(f"/api/teams/{team['id']}/claims", json={**body, "person_ids": [hours.vol1_id]},
                        headers=keyed)
    assert other.status_code == 409 and other.json["code"] == "idempotency_key_reused"
    # Another set of members while the team's claim stands: withdraw first.
    changed = client.post(f"/api/teams/{team['id']}/claims", json={**body, "person_ids": [hours.vol1_id]},
                          headers=hours.vol1)
    assert changed.status_code == 409 and changed.json["code"] == "team_already_claimed"
    assert client.get(f"/api/tasks/{task['id']}", headers=hours.vol1).json["claimed"] == 2


def test_a_cancelled_task_releases_the_teams_slots(client, session, hours, clock):
    team = make_team(client, hours, leader_id=hours.vol1_id)
    join(client, hours, team, hours.vol2)
    task = publish(client, hours, clock, slots=4)
    made = client.post(f"/api/teams/{team['id']}/claims",
                       json={"task_id": task["id"], "person_ids": [hours.vol1_id, hours.vol2_id]},
                       headers=hours.vol1).json
    assert client.post(f"/api/tasks/{task['id']}/cancel", json={"reason": "暴雨"},
                       headers=hours.admin_a).status_code == 200
    got = client.get(f"/api/team-claims/{made['id']}", headers=hours.vol1).json
    assert got["person_ids"] == []
    late = client.post(f"/api/teams/{team['id']}/claims", json={"task_id": task["id"], "person_ids": [hours.vol2_id]},
                       headers=hours.vol1)
    assert late.status_code == 409 and late.json["code"] == "task_cancelled"


def test_a_task_for_party_members_only_names_the_members_who_may_not_take_it(client, session, hours, clock):
    team = make_team(client, hours, leader_id=hours.vol1_id)
    join(client, hours, team, hours.vol2)
    task = publish(client, hours, clock, slots=4, eligibility="party_members")
    resp = client.post(f"/api/teams/{team['id']}/claims",
                       json={"task_id": task["id"], "person_ids": [hours.vol1_id, hours.vol2_id]}, headers=hours.vol1)
    assert resp.status_code == 403 and resp.json["code"] == "not_eligible"
    assert "张伟、王芳" in resp.json["detail"]
    assert client.get(f"/api/tasks/{task['id']}", headers=hours.vol1).json["claimed"] == 0
