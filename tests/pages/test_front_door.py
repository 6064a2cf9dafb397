"""The front door and the addresses: `/` and unknown page paths are Chinese pages, verification codes are read
however they are typed, and every link is built from the public address or the address actually served."""

from __future__ import annotations

import re

import pytest

from timebank import config, supervisor
from timebank.appraisal.reports import normalise_code


def test_the_landing_page_is_chinese_html_linking_every_area(client):
    resp = client.get("/")
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    page = resp.get_data(as_text=True)
    for href in ("/app", "/merchant", "/console", "/employer", "/verify"):
        assert f'href="{href}' in page
    assert "志愿者" in page and "核验" in page


@pytest.mark.parametrize("path", ["/nowhere", "/app-old/x", "/console2", "/static/missing.css"])
def test_unknown_page_paths_get_the_chinese_404_page_not_json(client, path):
    resp = client.get(path)
    assert resp.status_code == 404 and resp.mimetype == "text/html"
    assert "找不到您要访问的页面" in resp.get_data(as_text=True)


def test_unknown_api_paths_keep_problem_json(client):
    resp = client.get("/api/nowhere")
    assert resp.status_code == 404 and resp.mimetype == "application/problem+json"
    assert resp.json["code"] == "not_found"


@pytest.mark.parametrize("typed", ["abcd-efgh-jkmn-pqrs", " ABCD EFGH JKMN PQRS ", "ABCDEFGHJKMNPQRS",
                                   "abcd—efgh–jkmn-pqrs", "ＡＢＣＤ－ＥＦＧＨ－ＪＫＭＮ－ＰＱＲＳ"])
def test_a_code_typed_any_way_reads_as_the_printed_form(typed):
    assert normalise_code(typed) == "ABCD-EFGH-JKMN-PQRS"


def test_verification_by_api_and_page_accepts_any_form(client, demo_district):
    report = demo_district.rendered_report()
    code = report.verification_code
    for typed in (code.lower(), code.replace("-", ""), code.replace("-", " "), f" {code.lower()} "):
        body = client.get(f"/api/appraisal/verify/{typed}").json
        assert body["genuine"] is True and body["code"] == code
        page = client.get("/verify", query_string={"code": typed}, follow_redirects=True)
        text = page.get_data(as_text=True)
        assert page.status_code == 200 and "核验通过" in text and report.employer.name in text
    unknown = client.get("/verify/ZZZZ-ZZZZ-ZZZZ-ZZZZ").get_data(as_text=True)
    assert "未找到该核验码" in unknown


def test_the_letter_links_to_the_verification_page_on_the_served_address(app, demo_district):
    from timebank import links
    from timebank.appraisal import reports as appraisal

    app.config["PUBLIC_BASE_URL"] = None
    app.config["SERVED_URL"] = "http://192.0.2.7:5101"  # what serve-all bound, as its children read it
    report = demo_district.rendered_report()
    assert links.public_base_url() == "http://192.0.2.7:5101"  # what the render job passes (no request here)
    doc = appraisal.report_document(demo_district.session, report, base_url=links.public_base_url())
    assert doc["verification"]["url"] == f"http://192.0.2.7:5101/verify/{report.verification_code}"


def test_links_follow_the_served_port_and_the_public_address_wins(app, client, demo_district):
    from tests.conftest import bearer

    admin = demo_district.person("13800000003")
    task_id = _open_task_id(demo_district)
    app.config["PUBLIC_BASE_URL"] = None
    served = client.get(f"/api/tasks/{task_id}/checkin-token", headers=bearer(app, admin),
                        base_url="http://127.0.0.1:5101")
    assert served.json["url"].startswith("http://127.0.0.1:5101/app/checkin?t=")
    app.config["PUBLIC_BASE_URL"] = "https://aixin.example.cn/"
    public = client.get(f"/api/tasks/{task_id}/checkin-token", headers=bearer(app, admin),
                        base_url="http://127.0.0.1:5101")
    assert public.json["url"].startswith("https://aixin.example.cn/app/checkin?t=")


def test_the_environment_variable_and_serve_all_choose_the_address(monkeypatch, tmp_path):
    monkeypatch.delenv("TIMEBANK_PUBLIC_BASE_URL", raising=False)
    settings = config.from_environment(str(tmp_path))
    assert config.public_base_url(settings) == config.DEFAULT_SERVED_URL
    assert config.public_base_url(settings, "http://10.0.0.5:8000/") == "http://10.0.0.5:8000"
    monkeypatch.setenv("TIMEBANK_PUBLIC_BASE_URL", "https://aixin.example.cn")
    settings = config.from_environment(str(tmp_path))
    assert config.public_base_url(settings, "http://10.0.0.5:8000/") == "https://aixin.example.cn"
    # serve-all: links outside a request are built from what it binds; all interfaces read as the LAN address
    assert supervisor.served_url("127.0.0.1", 5101) == "http://127.0.0.1:5101"
    assert re.fullmatch(r"http://\d+\.\d+\.\d+\.\d+:8000", supervisor.served_url("0.0.0.0", 8000))
    assert supervisor.public_url({}, "127.0.0.1", 5101) == "http://127.0.0.1:5101"
    assert supervisor.public_url({"TIMEBANK_PUBLIC_BASE_URL": "https://x.example.cn"}, "0.0.0.0", 80) == \
        "https://x.example.cn"


def _open_task_id(world) -> int:
    from sqlalchemy import select

    from timebank.hours.models import Task

    admin = world.person("13800000003")
    return world.session.scalar(select(Task.id).where(Task.community_id == admin.home_org_id)
                                .order_by(Task.starts_at.desc()))
