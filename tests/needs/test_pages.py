"""The pages: the console needs list with overdue flags, filters and escalation; the trail; the figures table and
its CSV; the grid worker's list; wish claims in /app and /employer; the resident's confirm button."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.conftest import bearer
from timebank.extensions import db
from timebank.hours.models import Need, WishClaim
from timebank.people.models import Role
from timebank.workers.jobs.needs import escalate_overdue_needs

PASSWORD = "needs-pass-1"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def login(client, area: str, phone: str) -> str:
    token = CSRF.search(client.get(f"/{area}/login").get_data(as_text=True)).group(1)
    resp = client.post(f"/{area}/login", data={"csrf_token": token, "phone": phone, "password": PASSWORD})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    return CSRF.search(client.get(resp.headers["Location"]).get_data(as_text=True)).group(1)


def test_console_list_flags_overdue_filters_and_escalates(app, world, clock, session, make_person):
    p = world.people
    admin = make_person("幸福社区书记", p.tree.community_a, password=PASSWORD,
                        roles=((Role.community_admin, p.tree.community_a),))
    phone = admin.phone
    client = app.test_client()
    late = client.post("/api/needs", json={"org_id": p.tree.grid_a.id, "title": "楼道灯坏了", "category": "金色助老"},
                       headers=p.resident).json
    fresh = client.post("/api/needs", json={"org_id": p.tree.grid_a.id, "title": "想学智能手机",
                                            "category": "红色先锋"}, headers=p.resident).json
    clock.advance(hours=5)
    token = login(client, "console", phone)
    page = client.get("/console/needs").get_data(as_text=True)
    assert f'data-need-id="{late["id"]}" data-overdue="respond"' in page and "超时未响应" in page
    assert f'data-need-id="{fresh["id"]}" data-overdue' not in page
    overdue = client.get("/console/needs?status=overdue").get_data(as_text=True)
    assert f'data-need-id="{late["id"]}"' in overdue and f'data-need-id="{fresh["id"]}"' not in overdue
    assert client.get("/console/needs?status=nonsense").status_code == 200

    empty = client.post(f"/console/needs/{late['id']}/escalate", data={"csrf_token": token, "reason": " "})
    assert empty.status_code == 302
    assert "上报须说明理由" in client.get(empty.headers["Location"]).get_data(as_text=True)
    assert client.post(f"/console/needs/{late['id']}/escalate", data={"reason": "x"}).status_code in (400, 403)
    done = client.post(f"/console/needs/{late['id']}/escalate",
                       data={"csrf_token": token, "reason": "需街道协调物业", "status": "overdue"})
    assert done.status_code == 302 and "status=overdue" in done.headers["Location"]
    assert "已上报至幸福社区" in client.get(done.headers["Location"]).get_data(as_text=True)
    twice = client.post(f"/console/needs/{late['id']}/escalate",
                        data={"csrf_token": token, "reason": "需街道协调物业", "from_level": "0"})
    assert "刚刚已被上报" in client.get(twice.headers["Location"]).get_data(as_text=True)
    again = client.post(f"/console/needs/{late['id']}/escalate", data={"csrf_token": token, "reason": "需街道协调"})
    assert "已上报至东方街道" in client.get(again.headers["Location"]).get_data(as_text=True)
    trail = client.get(f"/console/needs/{late['id']}/escalations").get_data(as_text=True)
    assert "需街道协调物业" in trail and "幸福社区书记" in trail and "东方街道" in trail and 'data-level="2"' in trail
    # Now handled by the street: no escalate button for the community admin any more.
    page = client.get("/console/needs?status=overdue").get_data(as_text=True)
    assert f'/console/needs/{late["id"]}/escalate' not in page
    session.rollback()
    assert db.session.get(Need, late["id"]).handling_org_id == p.tree.street.id
    db.session.rollback()


def test_the_street_sees_what_was_escalated_to_it(app, world, clock, session, make_person):
    p = world.people
    street_admin = make_person("街道书记", p.tree.street, password=PASSWORD,
                               roles=((Role.street_admin, p.tree.street),))
    client = app.test_client()
    need = client.post("/api/needs", json={"org_id": p.tree.community_b.id, "title": "独居老人无人照看",
                                           "category": "金色助老"}, headers=p.resident).json
    clock.advance(hours=5)
    session.rollback()
    assert escalate_overdue_needs() == 1  # posted at a community: it starts there and goes to the street
    login(client, "console", street_admin.phone)
    page = client.get("/console/needs?status=escalated").get_data(as_text=True)
    assert f'data-need-id="{need["id"]}"' in page and "已上报 1 级" in page and "街道·东方街道" in page
    assert "上报上级" in page


def test_figures_table_and_csv(app, world, clock, make_person):
    p = world.people
    admin = make_person("区书记", p.tree.district, password=PASSWORD,
                        roles=((Role.district_admin, p.tree.district),))
    client = app.test_client()
    need = client.post("/api/needs", json={"org_id": p.tree.grid_a.id, "title": "修门锁", "kind": "micro_wish"},
                       headers=p.resident).json
    clock.advance(hours=2)
    claimed = client.post(f"/api/wishes/{need['id']}/claims", json={"way": "service"}, headers=p.vol1).json
    client.post(f"/api/wishes/claims/{claimed['id']}/fulfil", json={"people_helped": 3}, headers=p.vol1)
    login(client, "console", admin.phone)
    year = clock.now.year
    page = client.get(f"/console/needs/figures?period={year}").get_data(as_text=True)
    assert f'data-org-id="{p.tree.community_a.id}"' in page and "2.0 小时" in page and "100.0%" in page
    assert '<td data-label="惠及群众" class="helped">3 人</td>' in page
    streets = client.get(f"/console/needs/figures?period={year}&by=street").get_data(as_text=True)
    assert f'data-org-id="{p.tree.street.id}"' in streets
    assert client.get("/console/needs/figures?period=20x6").status_code == 422
    csv = client.get(f"/console/needs/figures.csv?period={year}")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    text = csv.get_data().decode("utf-8-sig")
    assert text.splitlines()[0].startswith("组织,发布需求,已响应") and "幸福社区" in text and "100.0%" in text
    assert "幸福社区,1,1,2.0,2.0,1,1,100.0%,1,3" in text


def test_grid_worker_lists_escalates_and_confirms_for_the_resident(app, world, clock, session, make_person):
    p = world.people
    worker = make_person("网格员小李", p.tree.grid_a, password=PASSWORD, roles=((Role.grid_worker, p.tree.grid_a),))
    client = app.test_client()
    need = client.post("/api/needs", json={"org_id": p.tree.grid_a.id, "title": "下水道堵了"}, headers=p.resident).json
    wish = client.post("/api/needs", json={"org_id": p.tree.grid_a.id, "title": "一件冬衣", "kind": "micro_wish"},
                       headers=p.resident).json
    claimed = client.post(f"/api/wishes/{wish['id']}/claims", json={"way": "goods", "goods_description": "棉衣"},
                          headers=p.vol1).json
    client.post(f"/api/wishes/claims/{claimed['id']}/fulfil", json={"people_helped": 1}, headers=p.vol1)
    token = login(client, "grid", worker.phone)
    page = client.get("/grid/needs?status=open").get_data(as_text=True)
    assert f'data-need-id="{need["id"]}"' in page and "上报上级" in page
    resp = client.post(f"/grid/needs/{need['id']}/escalate", data={"csrf_token": token, "reason": "需社区协调",
                                                                   "status": "open"})
    assert resp.status_code == 302
    assert "已上报至幸福社区" in client.get(resp.headers["Location"]).get_data(as_text=True)
    fulfilled = client.get("/grid/needs?status=fulfilled").get_data(as_text=True)
    assert "代居民确认心愿完成" in fulfilled
    resp = client.post(f"/grid/wish-claims/{claimed['id']}/confirm", data={"csrf_token": token})
    assert resp.status_code == 302
    session.rollback()
    assert db.session.get(WishClaim, claimed["id"]).status == "confirmed"
    db.session.rollback()


def test_volunteer_claims_and_fulfils_and_the_resident_confirms_in_the_app(app, world, make_person, session):
    p = world.people
    resident = make_person("王阿姨", p.tree.grid_a, password=PASSWORD)
    volunteer = make_person("小张", p.tree.grid_a, password=PASSWORD)
    far = make_person("远方志愿者", p.tree.grid_b, password=PASSWORD)
    client = app.test_client()
    need = client.post("/api/needs", json={"org_id": p.tree.grid_a.id, "title": "想要一本字典", "kind": "micro_wish"},
                       headers=bearer(app, resident)).json
    token = login(client, "app", far.phone)
    assert f'data-need-id="{need["id"]}"' not in client.get("/app/wishes").get_data(as_text=True)
    client.post("/app/logout", data={"csrf_token": token})
    token = login(client, "app", volunteer.phone)
    page = client.get("/app/wishes").get_data(as_text=True)
    assert f'data-need-id="{need["id"]}"' in page
    resp = client.post(f"/app/wishes/{need['id']}/claim", data={"csrf_token": token, "way": "goods"})
    assert "请写明捐赠的物品" in client.get(resp.headers["Location"]).get_data(as_text=True)
    resp = client.post(f"/app/wishes/{need['id']}/claim", data={"csrf_token": token, "way": "goods",
                                                                "goods_description": "新华字典"})
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "认领成功" in page
    session.rollback()
    claim = db.session.scalars(select(WishClaim).where(WishClaim.need_id == need["id"])).one()
    claim_id = claim.id
    db.session.rollback()
    assert client.post(f"/app/wish-claims/{claim_id}/fulfil", data={"csrf_token": token}).status_code == 302
    resp = client.post(f"/app/wish-claims/{claim_id}/fulfil", data={"csrf_token": token, "people_helped": "2"})
    assert "已标记完成" in client.get(resp.headers["Location"]).get_data(as_text=True)
    client.post("/app/logout", data={"csrf_token": token})
    token = login(client, "app", resident.phone)
    page = client.get("/app/wishes").get_data(as_text=True)
    assert "确认心愿已完成" in page and "惠及 2 人" in page
    resp = client.post(f"/app/wish-claims/{claim_id}/confirm", data={"csrf_token": token})
    assert "已确认心愿完成" in client.get(resp.headers["Location"]).get_data(as_text=True)


def test_a_unit_claims_and_fulfils_in_the_employer_portal(app, world, make_unit, make_person, session):
    p = world.people
    unit, contact, _h = make_unit("市水务集团")
    other, other_contact, _h2 = make_unit("市邮政局")
    for c in (contact, other_contact):
        from timebank.people import security

        c.password_hash = security.hash_password(PASSWORD)
    session.commit()
    phones = (contact.phone, other_contact.phone)
    client = app.test_client()
    need = client.post("/api/needs", json={"org_id": p.tree.grid_b.id, "title": "一台取暖器", "kind": "micro_wish"},
                       headers=p.resident).json
    token = login(client, "employer", phones[0])
    page = client.get("/employer/wishes").get_data(as_text=True)
    assert f'data-need-id="{need["id"]}"' in page and "和谐社区" in page
    resp = client.post(f"/employer/wishes/{need['id']}/claim", data={"csrf_token": token, "way": "goods",
                                                                     "goods_description": "取暖器一台"})
    assert "已以市水务集团的名义认领心愿" in client.get(resp.headers["Location"]).get_data(as_text=True)
    session.rollback()
    claim_id = db.session.scalars(select(WishClaim.id).where(WishClaim.need_id == need["id"])).one()
    db.session.rollback()
    client.post("/employer/logout", data={"csrf_token": token})
    token = login(client, "employer", phones[1])
    resp = client.post(f"/employer/wish-claims/{claim_id}/fulfil", data={"csrf_token": token, "people_helped": "1"})
    assert "其他单位" in client.get(resp.headers["Location"]).get_data(as_text=True)
    client.post("/employer/logout", data={"csrf_token": token})
    token = login(client, "employer", phones[0])
    resp = client.post(f"/employer/wish-claims/{claim_id}/fulfil", data={"csrf_token": token, "people_helped": "4"})
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "已标记完成" in page and "惠及 4 人" in page
    assert unit.id != other.id
