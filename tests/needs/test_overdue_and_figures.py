"""The overdue list per street and the figures per community / street equal what the data says, computed here
independently from the rows (plain SQL and Python)."""

from __future__ import annotations

import random
import statistics
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import text

from tests.conftest import bearer
from timebank.clock import DISPLAY_TZ
from timebank.hours.models import NeedKind
from timebank.people import orgs
from timebank.people.access import SYSTEM
from timebank.people.models import OrgKind, Role


def page_all(client, url, headers) -> list[dict]:
    items, cursor = [], None
    while True:
        resp = client.get(url + (f"&cursor={cursor}" if cursor else ""), headers=headers)
        assert resp.status_code == 200, resp.json
        items += resp.json["items"]
        cursor = resp.json["next_cursor"]
        if not cursor:
            return items


def build(client, world, clock, session, make_person, app, *, needs: int = 60, seed: int = 7):
    """Two streets; needs posted over ten days in four grids, then handled at random: rejected, published as a
    task (and some fulfilled), claimed as wishes (some fulfilled), or left alone."""
    p = world.people
    rng = random.Random(seed)
    street2 = orgs.create(session, SYSTEM, kind=OrgKind.street, name="西湖街道", parent_id=p.tree.district.id)
    community_c = orgs.create(session, SYSTEM, kind=OrgKind.community, name="明珠社区", parent_id=street2.id)
    grid_c = orgs.create(session, SYSTEM, kind=OrgKind.grid, name="明珠一网格", parent_id=community_c.id)
    session.commit()
    admin_c = make_person("明珠社区管理员", community_c, roles=((Role.community_admin, community_c),))
    street2_admin = make_person("西湖街道管理员", street2, roles=((Role.street_admin, street2),))
    admin_c_h = bearer(app, admin_c)
    grids = [(p.tree.grid_a, p.admin_a), (p.tree.grid_b, p.admin_b), (grid_c, admin_c_h)]
    start = clock.now - timedelta(days=10)
    posts = sorted(start + timedelta(minutes=rng.randrange(0, 10 * 24 * 60)) for _ in range(needs))
    made = []
    for at in posts:
        clock.set(at)
        grid, admin = rng.choice(grids)
        kind = "micro_wish" if rng.random() < 0.4 else "request"
        resp = client.post("/api/needs", json={"org_id": grid.id, "title": "需求", "kind": kind,
                                               "category": rng.choice(["金色助老", "红色先锋"])}, headers=p.resident)
        assert resp.status_code == 201, resp.json
        made.append((resp.json["id"], kind, grid, admin, at))
    for need_id, kind, grid, admin, at in made:
        roll = rng.random()
        clock.set(at + timedelta(hours=rng.choice([1, 3, 10, 30, 80])))
        if roll < 0.15:
            client.post(f"/api/needs/{need_id}/reject", json={"reason": "不属于服务范围"}, headers=admin)
        elif roll < 0.55 and kind == NeedKind.micro_wish:
            claimed = client.post(f"/api/wishes/{need_id}/claims", json={"way": "service"}, headers=p.vol1).json
            if rng.random() < 0.5:
                clock.advance(days=rng.choice([1, 3, 9]))
                client.post(f"/api/wishes/claims/{claimed['id']}/fulfil", json={"people_helped": 1}, headers=p.vol1)
        elif roll < 0.55:
            begin = clock.now + timedelta(hours=1)
            task = client.post("/api/tasks", json={
                "org_id": grid.id, "title": "服务", "category": "金色助老", "place": "小区", "slots": 1,
                "starts_at": begin.isoformat(), "ends_at": (begin + timedelta(hours=1)).isoformat(),
                "need_id": need_id}, headers=admin)
            assert task.status_code == 201, task.json
            if rng.random() < 0.5:
                clock.advance(days=rng.choice([1, 3, 9]))
                client.post(f"/api/needs/{need_id}/fulfil", headers=admin)
    clock.set(start + timedelta(days=10, hours=12))
    session.rollback()
    return {"street": (p.tree.street, world.street_admin), "street2": (street2, bearer(app, street2_admin))}


def rows(session):
    got = session.execute(text(
        "SELECT id, org_path, community_id, status, created_at, respond_by, fulfil_by, responded_at, fulfilled_at "
        "FROM need")).all()
    session.rollback()
    return got


def aware(value):
    if value is None or not hasattr(value, "tzinfo"):
        value = datetime.fromisoformat(value) if isinstance(value, str) else value
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


def test_the_overdue_list_of_each_street_is_what_the_rows_say(client, world, clock, session, make_person, app):
    streets = build(client, world, clock, session, make_person, app)
    data = rows(session)
    now = clock.now
    seen_any = False
    for street, headers in streets.values():
        expected = sorted(
            r.id for r in data if r.org_path.startswith(street.path) and (
                (r.status == "open" and aware(r.respond_by) < now)
                or (r.status in ("accepted", "claimed") and aware(r.fulfil_by) < now)))
        listed = page_all(client, "/api/needs?overdue=true&limit=7", headers)
        assert sorted(n["id"] for n in listed) == expected
        assert all(n["overdue"] in ("respond", "fulfil") for n in listed)
        seen_any = seen_any or bool(expected)
    assert seen_any


def test_figures_per_community_and_street_are_what_the_rows_say(client, world, clock, session, make_person, app):
    build(client, world, clock, session, make_person, app, seed=11)
    data = rows(session)
    now = clock.now
    period_start = (now - timedelta(days=30)).date()
    period_end = (now + timedelta(days=1)).date()
    communities = dict(session.execute(text("SELECT id, parent_id FROM org WHERE kind = 'community'")).all())
    claims = session.execute(text("SELECT community_id, people_helped, fulfilled_at FROM wish_claim")).all()
    session.rollback()
    lo = datetime.combine(period_start, time(), tzinfo=DISPLAY_TZ)  # the period's days are Beijing days
    hi = datetime.combine(period_end, time(), tzinfo=DISPLAY_TZ)

    def expect(group_of):
        out = {}
        for gid in set(group_of.values()):
            mine = [r for r in data if group_of.get(r.community_id) == gid]
            hours = [(aware(r.responded_at) - aware(r.created_at)).total_seconds() / 3600
                     for r in mine if r.responded_at is not None]
            due = [r for r in mine if r.status != "rejected" and (
                r.fulfilled_at is not None or aware(r.fulfil_by) <= now)]
            on_time = [r for r in due if r.fulfilled_at is not None and aware(r.fulfilled_at) <= aware(r.fulfil_by)]
            out[gid] = (len(mine), len(hours), round(statistics.median(hours), 1) if hours else None,
                        len(due), len(on_time), round(len(on_time) / len(due), 3) if due else None)
        return out

    for by, group_of in (("community", {c: c for c in communities}), ("street", communities)):
        resp = client.get(f"/api/needs/figures?start={period_start}&end={period_end}&by={by}",
                          headers=world.district_admin)
        assert resp.status_code == 200, resp.json
        got = {r["org_id"]: (r["posted"], r["responded"], r["median_response_hours"], r["due"],
                             r["fulfilled_on_time"], r["fulfilment_rate"]) for r in resp.json["items"]}
        assert got == expect(group_of)
        helped = {r["org_id"]: (r["wishes_fulfilled"], r["people_helped"]) for r in resp.json["items"]}
        fulfilled = [(group_of[c.community_id], c.people_helped) for c in claims
                     if c.fulfilled_at is not None and lo <= aware(c.fulfilled_at) < hi]
        assert helped == {g: (sum(1 for x, _ in fulfilled if x == g), sum(n for x, n in fulfilled if x == g))
                          for g in set(group_of.values())}
    # A community admin sees their own community only.
    mine = client.get(f"/api/needs/figures?start={period_start}&end={period_end}", headers=world.people.admin_a)
    assert [r["org_id"] for r in mine.json["items"]] == [world.people.tree.community_a.id]
    for bad in ("start=2026-01-01&end=2025-01-01", "start=2020-01-01&end=2026-01-01", "start=x&end=y",
                f"start={period_start}&end={period_end}&by=grid", ""):
        assert client.get(f"/api/needs/figures?{bad}", headers=world.district_admin).status_code == 422


def test_figures_count_needs_by_the_beijing_day_they_were_posted(client, world, clock):
    """Posted at 00:30 Beijing time on 1 July (16:30 UTC on 30 June): a July need, not a June one."""
    p = world.people
    for at, title in ((datetime(2026, 6, 30, 16, 30, tzinfo=UTC), "七月第一条"),
                      (datetime(2026, 6, 30, 15, 30, tzinfo=UTC), "六月最后一条")):
        clock.set(at)
        assert client.post("/api/needs", json={"org_id": p.tree.grid_a.id, "title": title},
                           headers=p.resident).status_code == 201
    clock.set(datetime(2026, 8, 1, tzinfo=UTC))

    def posted(start, end):
        rows = client.get(f"/api/needs/figures?start={start}&end={end}", headers=p.admin_a).json["items"]
        return sum(r["posted"] for r in rows)

    assert posted("2026-07-01", "2026-08-01") == 1
    assert posted("2026-06-01", "2026-07-01") == 1
