"""PostgreSQL: two teams racing for the last slots of a task never overfill it; exactly one team claim wins each
round, the other is told `not_enough_slots` and leaves nothing behind."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from tests.conftest import bearer
from timebank.hours.models import Claim, ClaimStatus, Task
from timebank.teams.models import TeamClaim, TeamClaimStatus

from .conftest import publish
from .test_team_flow import make_team

pytestmark = pytest.mark.pg_only

ROUNDS = 8


def test_two_teams_racing_for_the_last_slots_never_overfill(app, session, hours, clock, make_person):
    client = app.test_client()
    teams = []
    for name in ("红队", "蓝队"):
        leader = make_person(f"{name}队长", hours.tree.grid_a)
        members = [make_person(f"{name}队员{i}", hours.tree.grid_a) for i in range(2)]
        team = make_team(client, hours, leader_id=leader.id, name=name, kind="general", profession=None)
        for m in members:
            applied = client.post(f"/api/teams/{team['id']}/applications", headers=bearer(app, m)).json
            assert client.post(f"/api/team-members/{applied['id']}/decision", json={"approve": True},
                               headers=hours.admin_a).status_code == 200
        teams.append((team["id"], bearer(app, leader), [leader.id] + [m.id for m in members]))
    session.rollback()

    for round_no in range(ROUNDS):
        task = publish(client, hours, clock, slots=5)
        barrier = threading.Barrier(2)
        results: list[tuple[int, int, str | None]] = []

        def race(team_id, headers, person_ids, task=task, barrier=barrier, results=results):
            own = app.test_client()  # its own request, its own session and connection
            barrier.wait()
            resp = own.post(f"/api/teams/{team_id}/claims", json={"task_id": task["id"], "person_ids": person_ids},
                            headers=headers)
            results.append((team_id, resp.status_code, (resp.json or {}).get("code")))

        threads = [threading.Thread(target=race, args=t) for t in teams]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        statuses = sorted(s for _, s, _ in results)
        assert statuses == [201, 409], (round_no, results)
        assert [c for _, s, c in results if s == 409] == ["not_enough_slots"]
        winner = next(team_id for team_id, s, _ in results if s == 201)
        session.rollback()
        assert session.scalar(select(Task.claimed).where(Task.id == task["id"])) == 3
        assert session.scalar(select(func.count()).select_from(Claim).where(
            Claim.task_id == task["id"], Claim.status == ClaimStatus.active)) == 3
        rows = session.execute(select(TeamClaim.team_id, TeamClaim.status).where(TeamClaim.task_id == task["id"])).all()
        assert rows == [(winner, TeamClaimStatus.active)]
        assert all(c.team_claim_id is not None for c in session.scalars(select(Claim).where(
            Claim.task_id == task["id"])))


def test_a_team_and_single_volunteers_racing_never_overfill(app, session, hours, clock, make_person):
    client = app.test_client()
    leader = make_person("队长", hours.tree.grid_a)
    members = [make_person(f"队员{i}", hours.tree.grid_a) for i in range(2)]
    team = make_team(client, hours, leader_id=leader.id, name="混合队", kind="general", profession=None)
    for m in members:
        applied = client.post(f"/api/teams/{team['id']}/applications", headers=bearer(app, m)).json
        client.post(f"/api/team-members/{applied['id']}/decision", json={"approve": True}, headers=hours.admin_a)
    singles = [bearer(app, make_person(f"散客{i}", hours.tree.grid_a)) for i in range(4)]
    team_body = {"person_ids": [leader.id] + [m.id for m in members]}
    leader_headers = bearer(app, leader)
    session.rollback()

    for round_no in range(ROUNDS):
        task = publish(client, hours, clock, slots=5)
        barrier = threading.Barrier(1 + len(singles))
        results: list[tuple[str, int]] = []

        def go(kind, headers, task=task, barrier=barrier, results=results):
            own = app.test_client()
            barrier.wait()
            if kind == "team":
                resp = own.post(f"/api/teams/{team['id']}/claims", json={**team_body, "task_id": task["id"]},
                                headers=headers)
            else:
                resp = own.post(f"/api/tasks/{task['id']}/claims", headers=headers)
            results.append((kind, resp.status_code))

        threads = [threading.Thread(target=go, args=("team", leader_headers))]
        threads += [threading.Thread(target=go, args=("single", h)) for h in singles]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert {s for _, s in results} <= {201, 409}, results
        won = 3 * sum(1 for k, s in results if k == "team" and s == 201) + sum(
            1 for k, s in results if k == "single" and s == 201)
        session.rollback()
        claimed = session.scalar(select(Task.claimed).where(Task.id == task["id"]))
        active = session.scalar(select(func.count()).select_from(Claim).where(
            Claim.task_id == task["id"], Claim.status == ClaimStatus.active))
        assert claimed == active == won <= 5, (round_no, results, claimed, active)
