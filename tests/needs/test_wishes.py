"""Micro-wishes claimed directly by a volunteer or by a unit, fulfilled with the people helped, confirmed by the
resident; the counts the appraisal will read."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from timebank.extensions import db
from timebank.hours import queries
from timebank.hours.models import Need, WishClaim
from timebank.notify.models import Notification


def wish(client, headers, org, title="想要一套小学数学练习册"):
    resp = client.post("/api/needs", json={"org_id": org.id, "title": title, "kind": "micro_wish"}, headers=headers)
    assert resp.status_code == 201, resp.json
    return resp.json


def test_a_volunteer_claims_fulfils_and_the_resident_confirms(client, world, clock, session):
    p = world.people
    need = wish(client, p.resident, p.tree.grid_a)
    nearby = client.get("/api/wishes", headers=p.vol1)
    assert [n["id"] for n in nearby.json["items"]] == [need["id"]]
    assert client.get("/api/wishes", headers=world.district_admin).json["code"] == "not_in_community"

    url = f"/api/wishes/{need['id']}/claims"
    own = client.post(url, json={"way": "service"}, headers=p.resident)
    assert (own.status_code, own.json["code"]) == (403, "own_wish")
    goods = client.post(url, json={"way": "goods"}, headers=p.vol1)
    assert (goods.status_code, goods.json["code"]) == (422, "goods_description_required")
    claimed = client.post(url, json={"way": "goods", "goods_description": "练习册一套、文具一盒"}, headers=p.vol1)
    assert claimed.status_code == 201, claimed.json
    assert claimed.json["status"] == "claimed" and claimed.json["need"]["status"] == "claimed"
    assert claimed.json["need"]["responded_at"] is not None
    twice = client.post(url, json={"way": "service"}, headers=p.vol1)  # the same volunteer submits again
    assert twice.status_code == 201 and twice.json["id"] == claimed.json["id"] and twice.json["way"] == "goods"
    second = client.post(url, json={"way": "service"}, headers=p.vol2)
    assert (second.status_code, second.json["code"]) == (409, "wish_taken")
    assert client.get("/api/wishes", headers=p.vol2).json["items"] == []

    claim_id = claimed.json["id"]
    other = client.post(f"/api/wishes/claims/{claim_id}/fulfil", json={"people_helped": 1}, headers=p.vol2)
    assert other.status_code == 403
    for bad in (0, -1, 10_001, "三", None):
        assert client.post(f"/api/wishes/claims/{claim_id}/fulfil", json={"people_helped": bad},
                           headers=p.vol1).status_code == 422
    early = client.post(f"/api/wishes/claims/{claim_id}/confirm", headers=p.resident)
    assert (early.status_code, early.json["code"]) == (409, "wish_claim_state")
    done = client.post(f"/api/wishes/claims/{claim_id}/fulfil", json={"people_helped": 2}, headers=p.vol1)
    assert done.status_code == 200 and done.json["need"]["status"] == "fulfilled"
    again = client.post(f"/api/wishes/claims/{claim_id}/fulfil", json={"people_helped": 2}, headers=p.vol1)
    assert again.status_code == 200 and again.json["fulfilled_at"] == done.json["fulfilled_at"]  # a double submit
    assert client.post(f"/api/wishes/claims/{claim_id}/fulfil", json={"people_helped": 5},
                       headers=p.vol1).status_code == 409
    assert client.post(f"/api/wishes/claims/{claim_id}/confirm", headers=p.vol2).status_code == 403
    ok = client.post(f"/api/wishes/claims/{claim_id}/confirm", headers=p.resident)
    assert ok.status_code == 200 and ok.json["status"] == "confirmed"
    mine = client.get("/api/wishes/claims", headers=p.vol1).json["items"]
    assert [(c["id"], c["people_helped"]) for c in mine] == [(claim_id, 2)]
    assert client.get(f"/api/wishes/claims/{claim_id}", headers=p.vol2).status_code == 403
    told = {(n.person_id, n.kind) for n in db.session.scalars(select(Notification))}
    assert {(p.resident_id, "wish.claimed"), (p.resident_id, "wish.fulfilled"),
            (p.vol1_id, "wish.confirmed")} <= told
    # The resident may still rate the fulfilled wish, as with any need.
    rated = client.post(f"/api/needs/{need['id']}/rating", json={"stars": 5}, headers=p.resident)
    assert rated.status_code == 201, rated.json


def test_a_unit_claims_through_its_contact_and_counts_are_per_community_and_unit(client, world, make_unit, clock,
                                                                                   session):
    p = world.people
    unit, _contact, contact_h = make_unit("市交通局")
    other_unit, _c2, other_h = make_unit("市税务局")
    session.rollback()
    first = wish(client, p.resident, p.tree.grid_a, "帮忙修理轮椅")
    second = wish(client, p.resident, p.tree.grid_b, "冬天的棉被")
    stranger = client.post(f"/api/wishes/{first['id']}/claims", json={"way": "service", "employer_id": unit.id},
                           headers=other_h)
    assert stranger.status_code == 403
    claimed = client.post(f"/api/wishes/{first['id']}/claims", json={"way": "service", "employer_id": unit.id},
                          headers=contact_h)
    assert claimed.status_code == 201 and claimed.json["employer_id"] == unit.id
    assert client.post(f"/api/wishes/claims/{claimed.json['id']}/fulfil", json={"people_helped": 3},
                       headers=other_h).status_code == 403
    assert client.post(f"/api/wishes/claims/{claimed.json['id']}/fulfil", json={"people_helped": 3},
                       headers=contact_h).status_code == 200
    goods = client.post(f"/api/wishes/{second['id']}/claims",
                        json={"way": "goods", "goods_description": "棉被两床", "employer_id": unit.id},
                        headers=contact_h)
    assert goods.status_code == 201
    assert client.post(f"/api/wishes/claims/{goods.json['id']}/fulfil", json={"people_helped": 2},
                       headers=contact_h).status_code == 200
    # A grid worker confirms for the resident, only where the wish was posted.
    assert client.post(f"/api/wishes/claims/{goods.json['id']}/confirm", headers=p.worker_a).status_code == 403
    assert client.post(f"/api/wishes/claims/{claimed.json['id']}/confirm", headers=p.worker_a).status_code == 200
    listed = client.get(f"/api/wishes/claims?employer_id={unit.id}", headers=contact_h).json["items"]
    assert len(listed) == 2
    assert client.get(f"/api/wishes/claims?employer_id={unit.id}", headers=other_h).status_code == 403
    assert client.get("/api/wishes/claims", headers=contact_h).json["items"] == []  # not claims of their own

    period = queries.Period("year", date(clock.now.year, 1, 1), date(clock.now.year + 1, 1, 1))
    session.rollback()
    assert queries.wish_counts(session, period, by="employer") == {
        unit.id: {"wishes_fulfilled": 2, "people_helped": 5, "confirmed": 1}}
    assert queries.wish_counts(session, period) == {
        p.tree.community_a.id: {"wishes_fulfilled": 1, "people_helped": 3, "confirmed": 1},
        p.tree.community_b.id: {"wishes_fulfilled": 1, "people_helped": 2, "confirmed": 0}}
    assert queries.wish_counts(session, period, by="employer", employer_ids=[other_unit.id]) == {}


def test_withdrawing_opens_the_wish_again_and_an_open_wish_can_still_become_a_task(client, world, clock, session):
    p = world.people
    need = wish(client, p.resident, p.tree.grid_a)
    claimed = client.post(f"/api/wishes/{need['id']}/claims", json={"way": "service"}, headers=p.vol1).json
    assert client.post(f"/api/wishes/claims/{claimed['id']}/withdraw", headers=p.vol2).status_code == 403
    back = client.post(f"/api/wishes/claims/{claimed['id']}/withdraw", headers=p.vol1)
    assert back.status_code == 200 and back.json["status"] == "withdrawn" and back.json["need"]["status"] == "open"
    again = client.post(f"/api/wishes/{need['id']}/claims", json={"way": "service"}, headers=p.vol2)
    assert again.status_code == 201
    assert client.post(f"/api/wishes/claims/{again.json['id']}/withdraw", headers=p.vol2).status_code == 200
    start = clock.now + timedelta(days=1)
    task = client.post("/api/tasks", json={
        "org_id": p.tree.grid_a.id, "title": "陪读", "category": "金色助老", "place": "3栋",
        "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat(), "slots": 1,
        "need_id": need["id"]}, headers=p.admin_a)
    assert task.status_code == 201, task.json
    late = client.post(f"/api/wishes/{need['id']}/claims", json={"way": "service"}, headers=p.vol3)
    assert (late.status_code, late.json["code"]) == (409, "wish_taken")
    session.rollback()
    assert db.session.get(Need, need["id"]).status == "accepted"
    assert len(list(db.session.scalars(select(WishClaim).where(WishClaim.need_id == need["id"])))) == 2
    db.session.rollback()


def test_only_micro_wishes_are_claimed_and_bad_input_is_refused(client, world):
    p = world.people
    request = client.post("/api/needs", json={"org_id": p.tree.grid_a.id, "title": "修水管"}, headers=p.resident).json
    resp = client.post(f"/api/wishes/{request['id']}/claims", json={"way": "service"}, headers=p.vol1)
    assert (resp.status_code, resp.json["code"]) == (422, "not_a_wish")
    need = wish(client, p.resident, p.tree.grid_a)
    for body in ({"way": "money"}, {}, {"way": "goods", "goods_description": "x" * 501},
                 {"way": "service", "employer_id": "一"}):
        assert client.post(f"/api/wishes/{need['id']}/claims", json=body, headers=p.vol1).status_code == 422
    assert client.post("/api/wishes/99999999/claims", json={"way": "service"}, headers=p.vol1).status_code == 404
    assert client.post("/api/wishes/claims/99999999/fulfil", json={"people_helped": 1},
                       headers=p.vol1).status_code == 404
    assert client.post(f"/api/wishes/{need['id']}/claims", json={"way": "service", "employer_id": 5},
                       headers=p.vol1).json["code"] == "out_of_scope"


def test_open_wishes_do_not_name_who_wished(client, world):
    p = world.people
    wish(client, p.resident, p.tree.grid_a)
    item = client.get("/api/wishes", headers=p.vol1).json["items"][0]
    assert "requester_id" not in item and "entered_by_id" not in item and item["title"]


def test_a_double_submit_with_the_same_key_claims_once(client, world):
    p = world.people
    need = wish(client, p.resident, p.tree.grid_a)
    headers = {**p.vol1, "Idempotency-Key": "wish-claim-1"}
    first = client.post(f"/api/wishes/{need['id']}/claims", json={"way": "service"}, headers=headers)
    again = client.post(f"/api/wishes/{need['id']}/claims", json={"way": "service"}, headers=headers)
    assert first.status_code == again.status_code == 201 and first.json["id"] == again.json["id"]
