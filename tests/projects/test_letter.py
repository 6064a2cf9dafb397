"""Projects and micro-wishes in the unit's letter (一信一函), through the API: the unit claims a 重点 project, its
member serves two of its tasks, the community accepts it with satisfaction 4; the unit fulfils a micro-wish for
three people and the member one of their own. The district's run of the year renders a letter whose JSON, CSV and
PDF carry the project, its satisfaction, the wish and the member's part — and not another unit's project, nor the
unit's own project of next year."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta

from tests.appraisal.documents import csv_sections, pdf_text
from tests.appraisal.service import work
from tests.hours.conftest import iso
from tests.projects.conftest import post_needs, project_body, serve
from timebank.people import persons as people
from timebank.people.models import Role

PASSWORD = "letter-pass-1"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _project(client, p, title, tier, need_titles, **extra) -> dict:
    need_ids = post_needs(client, p, need_titles)
    made = client.post("/api/projects", json=project_body(p.tree.community_a.id, need_ids, title=title, tier=tier,
                                                          **extra), headers=p.admin_a)
    assert made.status_code == 201, made.json
    return made.json


def _claim(client, project, unit) -> None:
    resp = client.post(f"/api/projects/{project['id']}/claim", json={"kind": "unit", "employer_id": unit.id},
                       headers=unit.contact)
    assert resp.status_code == 201, resp.json


def _wish(client, p, title, claimer, body, people_helped) -> int:
    need = client.post("/api/needs", json={"org_id": p.tree.grid_a.id, "title": title, "kind": "micro_wish"},
                       headers=p.resident)
    assert need.status_code == 201, need.json
    claim = client.post(f"/api/wishes/{need.json['id']}/claims", json=body, headers=claimer)
    assert claim.status_code == 201, claim.json
    done = client.post(f"/api/wishes/claims/{claim.json['id']}/fulfil", json={"people_helped": people_helped},
                       headers=claimer)
    assert done.status_code == 200, done.json
    return claim.json["id"]


def _signed_in(app, area: str, phone: str):
    """A browser-like client signed in to the employer portal or the app with the phone and password."""
    client = app.test_client()
    token = CSRF.search(client.get(f"/{area}/login").get_data(as_text=True)).group(1)
    resp = client.post(f"/{area}/login", data={"csrf_token": token, "phone": phone, "password": PASSWORD})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return client


def test_the_units_projects_and_wishes_are_in_its_letter_and_the_members_part_in_their_figures(
        app, client, session, world, clock, reported_unit, unit_member, run_jobs, make_person):
    p = world.people
    # Mid-June of this year, so that the project's work and the wishes fall in the year whatever today is.
    year = clock.now.year
    clock.set(datetime(year, 6, 15, 1, 0, tzinfo=clock.now.tzinfo))
    unit, rival = reported_unit("市交通局"), reported_unit("市税务局")
    unit_member(p.vol1_id, unit.id)

    # The unit's 重点 project: claimed, two tasks served by its member and credited, accepted with satisfaction 4.
    project = _project(client, p, "独居老人助老服务项目", "key", ["帮独居老人打扫卫生", "老人想理发"])
    _claim(client, project, unit)
    tasks = []
    for k in range(2):
        start = clock.now + timedelta(hours=2 + 3 * k)
        resp = client.post(f"/api/projects/{project['id']}/tasks", headers=p.admin_a, json={
            "title": f"助老服务第{k + 1}次", "starts_at": iso(start), "ends_at": iso(start + timedelta(hours=1)),
            "slots": 2, "org_id": p.tree.grid_a.id, "place": "幸福小区3栋"})
        assert resp.status_code == 201, resp.json
        tasks.append(resp.json)
    for task in tasks:
        assert client.post(f"/api/tasks/{task['id']}/claims", headers=p.vol1).status_code == 201
        serve(client, p, clock, task, p.vol1, minutes=60)
    run_jobs()
    clock.advance(hours=1)
    accepted = client.post(f"/api/projects/{project['id']}/acceptance", json={"satisfaction": 4},
                           headers=p.admin_a)
    assert accepted.status_code == 200, accepted.json

    # Not in the unit's letter: the rival unit's project, and the unit's own project of next year.
    _claim(client, _project(client, p, "社区环境整治项目", "basic", ["楼道堆物清理"]), rival)
    _claim(client, _project(client, p, "明年春节慰问项目", "basic", ["春节慰问困难户"],
                            starts_on=date(year + 1, 1, 10).isoformat(), ends_on=date(year + 1, 2, 28).isoformat()),
           unit)

    # Micro-wishes: the unit fulfils one for three people (a grid worker confirms for the resident); the member
    # claims one of their own.
    unit_wish = _wish(client, p, "帮忙修理轮椅", unit.contact, {"way": "service", "employer_id": unit.id}, 3)
    assert client.post(f"/api/wishes/claims/{unit_wish}/confirm", headers=p.worker_a).status_code == 200
    _wish(client, p, "想要一套小学数学练习册", p.vol1, {"way": "goods", "goods_description": "练习册一套"}, 1)

    # The district runs the year; the letter is rendered.
    period = client.post("/api/appraisal/periods", json={"district_id": p.tree.district.id, "kind": "year",
                                                         "year": year}, headers=world.district_admin)
    assert period.status_code == 201, period.json
    run = client.post("/api/appraisal/runs", json={"period_id": period.json["id"]}, headers=world.district_admin)
    assert run.status_code == 202, run.json
    work(session, run_jobs)
    reports = client.get(f"/api/appraisal/reports?employer_id={unit.id}", headers=unit.contact).json["items"]
    assert [r["status"] for r in reports] == ["rendered"]
    url = f"/api/appraisal/reports/{reports[0]['id']}/document"

    # JSON: the section, the summary, and the member's part.
    doc = json.loads(client.get(f"{url}?format=json", headers=unit.contact).get_data())
    section = doc["projects"]
    assert [(x["title"], x["tier"], x["status"], x["satisfaction"], x["minutes"], x["tasks"])
            for x in section["projects"]] == [("独居老人助老服务项目", "key", "accepted", 4, 120, 2)]
    assert [(w["title"], w["way"], w["people_helped"], w["confirmed"]) for w in section["wishes"]] == [
        ("帮忙修理轮椅", "service", 3, True)]
    summary = doc["summary"]
    assert (summary["projects_claimed"], summary["projects_accepted"], summary["wishes_fulfilled"],
            summary["people_helped"]) == (1, 1, 1, 3)
    member = next(m for m in doc["members"] if m["name"] == "张伟")
    assert member["metrics"]["projects"] == {"count": 1, "minutes": 120}
    assert member["metrics"]["wishes_claimed"] == 1
    assert member["metrics"]["minutes"]["net"] == 120  # the existing figures are still there

    # CSV: the members' table, then the titled sections with Chinese headers.
    csv_resp = client.get(f"{url}?format=csv", headers=unit.contact)
    assert csv_resp.status_code == 200
    tables = csv_sections(csv_resp.data)
    assert list(tables) == ["党员", "单位报到与共建", "资源清单", "共建贡献", "项目认领", "微心愿"]
    (row,) = [r for r in tables["党员"] if r["姓名"] == "张伟"]
    assert (row["参与项目"], row["项目服务分钟"], row["直接认领微心愿"], row["服务分钟(净)"]) == (
        "1", "120", "1", "120")
    assert [(r["项目名称"], r["等级"], r["状态"], r["服务时长（小时）"], r["群众满意度"])
            for r in tables["项目认领"]] == [("独居老人助老服务项目", "重点项目", "已验收", "2.0", "4")]
    assert [(r["心愿"], r["方式"], r["惠及群众（人）"], r["居民确认"]) for r in tables["微心愿"]] == [
        ("帮忙修理轮椅", "上门服务", "3", "已确认")]
    assert [(r["报到社区"], r["党组织"], r["状态"]) for r in tables["单位报到与共建"]] == [
        (p.tree.community_a.name, "市交通局机关党委", "有效")]
    assert {r["类别"] for r in tables["资源清单"]} == {"场地", "专业技能"}

    # PDF: the section's words, as the reader sees them.
    pdf = client.get(f"{url}?format=pdf", headers=unit.contact)
    assert pdf.status_code == 200
    text = "".join(pdf_text(pdf.data).split())
    for words in ("项目认领与微心愿", "独居老人助老服务项目", "重点项目", "已验收", "4分", "帮忙修理轮椅", "上门服务",
                  "已确认", "微心愿：完成1个，惠及群众3人", "参与项目1个，项目服务2.0小时", "个人直接认领完成1个"):
        assert words in text, words
    for absent in ("社区环境整治项目", "明年春节慰问项目"):
        assert absent not in text and absent not in csv_resp.get_data(as_text=True)
        assert absent not in json.dumps(doc, ensure_ascii=False)

    # The letter's page in the employer portal shows the section, and the member's part beside their figures.
    secretary = make_person(f"{unit.name}党委书记", password=PASSWORD)
    people.grant(session, None, secretary, Role.employer_contact, employer_id=unit.id)
    session.commit()
    page = _signed_in(app, "employer", secretary.phone).get(f"/employer/reports/{reports[0]['id']}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    shown = re.search(r'<section[^>]*id="letter-projects".*?</section>', html, re.S).group(0)
    for words in ("项目认领与微心愿", "独居老人助老服务项目", "重点项目", "已验收", "4 分", "帮忙修理轮椅",
                  "完成 1 个，惠及群众 3 人"):
        assert words in shown, words
    assert "社区环境整治项目" not in html and "明年春节慰问项目" not in html
    assert "参与项目 1 个" in html

    # The member reads their own figures in the app: the projects they served in and the wishes they claimed.
    member = people.set_new_password(session, people.get(session, p.vol1_id), PASSWORD)
    session.commit()
    mine = _signed_in(app, "app", member.phone).get("/app/party/appraisal").get_data(as_text=True)
    assert re.search(r"参与服务项目</dt><dd data-projects>1 个（项目服务 2.0 小时）</dd>", mine)
    assert "个人直接认领微心愿</dt><dd>1 个" in mine
