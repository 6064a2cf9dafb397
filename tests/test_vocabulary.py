"""One vocabulary and the small fixes of issue 15: messages name no internal ids, letter hours add up, an
employer's key need not name its own unit, phones are read however they are typed."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from timebank.appraisal.render import hours, split_hours
from timebank.demo import DEMO_PASSWORD
from timebank.messages import MESSAGES
from timebank.people import partners
from timebank.people import persons as people
from timebank.people.access import load_person_actor
from timebank.people.models import Employer


def test_no_message_shows_an_internal_id():
    leaking = {k: v for k, v in MESSAGES.items() if re.search(r"\{\w*_id\}|\{index\}", v)}
    assert not leaking


@pytest.mark.parametrize("parts", [{"2025-01": 135, "2025-02": 270, "2025-03": 3},
                                   {"a": 130, "b": 272}, {"a": 7, "b": 7, "c": 7}, {"x": 0}, {}])
def test_letter_hours_by_month_add_up_to_the_printed_total(parts):
    shown = split_hours(parts)
    assert round(sum(float(v) for v in shown.values()), 1) == float(hours(sum(parts.values())))


TYPED = ["13900000000", "139 0000 0000", "139-0000-0000", "+86 139 0000 0000", "+8613900000000",
         "0086-139-0000-0000", "（139）0000 0000", "１３９００００００００"]


def test_a_phone_typed_any_way_signs_in(client, demo_district):
    for typed in TYPED:
        assert people.normalise_phone(typed) == "13900000000"
        resp = client.post("/api/auth/token", json={"phone": typed, "password": DEMO_PASSWORD})
        assert resp.status_code == 201, (typed, resp.json)


def test_a_phone_that_is_not_one_is_refused_in_chinese(client):
    resp = client.post("/api/auth/token", json={"phone": "12345", "password": "x"})
    assert resp.status_code == 422 and resp.json["code"] == "validation_failed"
    assert "手机号须为以 1 开头的 11 位数字" in str(resp.json["errors"])


def test_an_employer_key_lists_its_reports_without_naming_itself(client, session, demo_district):
    report = demo_district.rendered_report()
    admin = load_person_actor(session, demo_district.person("13800000001"))
    _row, key = partners.issue_api_key(session, admin, employer_id=report.employer_id)
    other = session.scalar(select(Employer.id).where(Employer.id != report.employer_id).limit(1))
    session.commit()
    mine = client.get("/api/appraisal/reports", headers={"X-API-Key": key})
    assert mine.status_code == 200 and {r["employer_id"] for r in mine.json["items"]} == {report.employer_id}
    theirs = client.get("/api/appraisal/reports", query_string={"employer_id": other}, headers={"X-API-Key": key})
    assert theirs.status_code == 200 and theirs.json["items"] == []  # another unit's reports stay out of reach


def test_field_errors_are_chinese_not_marshmallows_english(client):
    resp = client.post("/api/auth/token", json={"password": "x", "colour": "red"})
    assert resp.status_code == 422 and resp.json["code"] == "validation_failed"
    fields = resp.json["errors"]["json"]
    assert fields["phone"] == ["必填项，请填写。"] and fields["colour"] == ["不认识的字段，请去掉。"]
    assert str(resp.json["errors"]).count("Missing data") == 0
