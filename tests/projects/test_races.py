"""PostgreSQL: organisations racing for one project get exactly one claim; two admins making projects from the same
need at once make one project."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.needs.test_races import race
from tests.projects.conftest import post_needs, project_body
from timebank.projects.models import Project, ProjectClaim, ProjectClaimStatus, ProjectNeed

pytestmark = pytest.mark.pg_only

ROUNDS = 12


def _call(app, method, url, headers, body):
    def call():
        resp = getattr(app.test_client(), method)(url, json=body, headers=headers)
        return resp.status_code, (resp.json or {}).get("code")
    return call


def test_three_units_claiming_one_project_give_exactly_one_claim(app, client, world, reported_unit, session):
    p = world.people
    units = [reported_unit(f"单位{i}") for i in range(3)]
    for round_no in range(ROUNDS):
        need_ids = post_needs(client, p, [f"需求{round_no}"])
        made = client.post("/api/projects", json=project_body(p.tree.community_a.id, need_ids,
                                                              title=f"项目{round_no}"), headers=p.admin_a)
        assert made.status_code == 201, made.json
        url = f"/api/projects/{made.json['id']}/claim"
        results = race(app, [_call(app, "post", url, u.contact, {"kind": "unit", "employer_id": u.id})
                             for u in units])
        assert sorted(s for s, _ in results) == [201, 409, 409], results
        assert {c for s, c in results if s == 409} == {"project_taken"}
        session.rollback()
        assert session.scalar(select(func.count()).select_from(ProjectClaim).where(
            ProjectClaim.project_id == made.json["id"], ProjectClaim.status == ProjectClaimStatus.active)) == 1
        assert session.get(Project, made.json["id"]).status == "claimed"


def test_two_admins_making_projects_from_one_need_make_one(app, client, world, make_person, session):
    from tests.conftest import bearer
    from timebank.people.models import Role

    p = world.people
    second = make_person("另一位社区管理员", p.tree.community_a, roles=((Role.community_admin, p.tree.community_a),))
    admins = [p.admin_a, bearer(app, second)]
    for round_no in range(ROUNDS):
        need_ids = post_needs(client, p, [f"共同需求{round_no}"])
        results = race(app, [_call(app, "post", "/api/projects", h,
                                    project_body(p.tree.community_a.id, need_ids, title=f"项目{round_no}-{i}"))
                             for i, h in enumerate(admins)])
        assert sorted(s for s, _ in results) == [201, 409], results
        assert {c for s, c in results if s == 409} == {"project_need_taken"}
        session.rollback()
        assert session.scalar(select(func.count()).select_from(ProjectNeed)
                              .where(ProjectNeed.need_id == need_ids[0])) == 1
