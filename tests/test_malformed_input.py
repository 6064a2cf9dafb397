"""Input that once reached the database or Python's parser and came back as a 500: numbers beyond 64 bits in the
path, the query or the body; a NUL or a lone surrogate in any text; JSON nested thousands deep; year 1 or 9999 in a
date. Each now answers one clear 4xx problem+json, and nothing is written."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from timebank.hours.models import Task
from timebank.people.models import Role

HUGE = "9223372036854775808"  # 2**63: one past the largest bigint


@pytest.fixture
def admin(as_user, tree):
    return as_user(Role.community_admin, tree.community_a)[1]


@pytest.fixture
def volunteer(as_user, tree):
    return as_user(home=tree.grid_a)[1]


def _task(tree, **overrides) -> dict:
    body = {"org_id": tree.community_a.id, "title": "陪伴老人", "starts_at": "2026-12-20T09:00:00+08:00",
            "ends_at": "2026-12-20T11:00:00+08:00", "slots": 3}
    body.update(overrides)
    return body


@pytest.mark.parametrize("path", [f"/api/tasks/{HUGE}", f"/api/ledger/people/{HUGE}/balance",
                                  f"/api/orgs/{'9' * 40}"])
def test_an_id_beyond_64_bits_in_the_path_names_nothing(client, admin, path):
    resp = client.get(path, headers=admin)
    assert resp.status_code == 404 and resp.mimetype == "application/problem+json"


@pytest.mark.parametrize("query", [f"community_id={HUGE}", f"merchant_id=-{HUGE}", f"limit={'9' * 30}"])
def test_a_number_beyond_64_bits_in_the_query_is_refused(client, admin, query):
    for path in ("/api/needs", "/api/redemptions", "/api/tasks"):
        resp = client.get(f"{path}?{query}", headers=admin)
        assert resp.status_code == 422, (path, resp.get_data(as_text=True)[:300])
        assert resp.json["code"] in {"number_out_of_range", "validation_failed"}


def test_a_number_beyond_64_bits_in_the_body_is_refused_and_nothing_is_written(client, session, tree, admin):
    for field, value in (("org_id", 2**63), ("slots", 2**70), ("slots", -(2**64))):
        resp = client.post("/api/tasks", json=_task(tree, **{field: value}), headers=admin)
        assert resp.status_code == 422 and resp.json["code"] == "number_out_of_range", resp.json
    assert session.scalar(select(func.count()).select_from(Task)) == 0


@pytest.mark.parametrize("text", ["陪伴\x00老人", "陪伴\ud800老人", "\udfff"])
def test_a_nul_or_a_lone_surrogate_in_any_text_is_refused(client, session, tree, admin, text):
    body = json.dumps(_task(tree, title=text))  # json.dumps escapes both as \\u0000 / \\ud800
    resp = client.post("/api/tasks", data=body, content_type="application/json", headers=admin)
    assert resp.status_code == 422 and resp.json["code"] == "unstorable_text"
    assert "无法保存的字符" in resp.json["detail"]
    keyed = client.post("/api/tasks", data=json.dumps({text: 1}), content_type="application/json", headers=admin)
    assert keyed.status_code == 422
    assert client.get("/api/tasks?q=" + "%00", headers=admin).status_code == 422
    assert session.scalar(select(func.count()).select_from(Task)) == 0


def test_a_nul_in_a_page_form_is_refused_with_a_chinese_page(client):
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/app/login").get_data(as_text=True)).group(1)
    resp = client.post("/app/login", data={"csrf_token": token, "phone": "139\x0000000000", "password": "x"})
    assert resp.status_code == 422 and "无法保存的字符" in resp.get_data(as_text=True)


@pytest.mark.parametrize("depth", [40, 3000, 100_000])
def test_json_nested_deep_is_a_400(client, tree, admin, depth):
    body = "[" * depth + "]" * depth
    resp = client.post("/api/tasks", data=body, content_type="application/json", headers=admin)
    assert resp.status_code == 400 and resp.json["code"] == "json_too_deep"


def test_non_finite_numbers_are_refused(client, tree, admin):
    resp = client.post("/api/tasks", data='{"slots": NaN}', content_type="application/json", headers=admin)
    assert resp.status_code == 422 and resp.json["code"] == "number_out_of_range"


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59+08:00"])
def test_year_1_or_9999_in_a_date_is_refused(client, session, tree, admin, volunteer, when):
    start = when.replace("+", "%2B")
    statement = client.get(f"/api/ledger/me/statement?start={start}&end=2026-12-01T00:00:00%2B08:00",
                           headers=volunteer)
    assert statement.status_code == 422, statement.get_data(as_text=True)[:300]
    assert "日期超出允许的范围" in json.dumps(statement.json, ensure_ascii=False)
    task = client.post("/api/tasks", json=_task(tree, starts_at=when), headers=admin)
    assert task.status_code == 422
    for path in ("/api/merchants/1/statement?period_start=0001-01-01&period_end=9999-12-31",
                 "/api/employers/1/report-ins?since=0001-01-01"):
        assert client.get(path, headers=admin).status_code < 500
