"""Scope crossings (merchant A and merchant B, volunteers, admins of another community) and bad input: each is
refused with a stable code and leaves nothing behind."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.conftest import bearer
from timebank.people.access import SYSTEM
from timebank.people.models import Role
from timebank.redemption import rewards
from timebank.redemption.models import Redemption, Reward

from .conftest import available, redeem


@pytest.fixture
def rival(session, make_merchant, tree):
    """Merchant B with its own key and a reward in community A."""
    merchant, key_headers, _ = make_merchant(name="便民理发店")
    reward = rewards.create_reward(session, SYSTEM, merchant_id=merchant.id, name="理发", points_price=50, stock=5,
                                   community_ids=[tree.community_a.id])
    session.commit()
    return merchant, key_headers, reward


def test_merchant_a_cannot_confirm_refuse_or_list_merchant_b_redemptions(client, session, shop, rival, volunteer,
                                                                         staff):
    b_merchant, b_key, b_reward = rival
    person, headers = volunteer(points=300)
    body = redeem(client, headers, b_reward.id).json  # a redemption at merchant B
    for creds in (shop.key_headers, staff(shop.merchant)):
        confirm = client.post("/api/redemptions/confirm", json={"code": body["code"]}, headers=creds)
        assert confirm.status_code == 403 and confirm.json["code"] == "out_of_scope"
        refuse = client.post(f"/api/redemptions/{body['id']}/refuse", json={}, headers=creds)
        assert refuse.status_code == 403
        listing = client.get(f"/api/redemptions?merchant_id={b_merchant.id}", headers=creds)
        assert listing.status_code == 403
        one = client.get(f"/api/redemptions/{body['id']}", headers=creds)
        assert one.status_code == 403
    assert session.get(Redemption, body["id"]).status == "held"
    session.rollback()
    assert available(session, person) == 250
    own = client.post("/api/redemptions/confirm", json={"code": body["code"]}, headers=b_key)
    assert own.status_code == 200


def test_till_of_merchant_a_cannot_open_a_hold_on_merchant_b_reward(client, shop, rival, volunteer):
    _, headers = volunteer(points=300)
    pay = client.post("/api/redemptions/pay-codes", headers=headers).json
    resp = client.post("/api/redemptions/till", json={"pay_code": pay["code"], "reward_id": rival[2].id},
                       headers=shop.key_headers)
    assert resp.status_code == 403


def test_volunteers_see_only_their_own_and_admins_only_their_subtree(app, client, shop, volunteer, as_user):
    alice, alice_h = volunteer(points=300, name="甲")
    _, bob_h = volunteer(points=300, name="乙")
    body = redeem(client, alice_h, shop.reward.id).json
    assert client.get(f"/api/redemptions/{body['id']}", headers=alice_h).status_code == 200
    assert client.get(f"/api/redemptions/{body['id']}", headers=bob_h).status_code == 403
    assert client.post(f"/api/redemptions/{body['id']}/cancel", headers=bob_h).status_code == 403
    assert client.post(f"/api/redemptions/{body['id']}/code", headers=bob_h).status_code == 403
    assert [r["id"] for r in client.get("/api/redemptions", headers=bob_h).json["items"]] == []
    _, admin_b = as_user(Role.community_admin, shop.tree.community_b)
    assert client.get(f"/api/redemptions/{body['id']}", headers=admin_b).status_code == 403
    assert client.get(f"/api/redemptions?org_id={shop.tree.community_a.id}", headers=admin_b).status_code == 403
    assert client.get(f"/api/redemptions/{body['id']}", headers=shop.admin_headers).status_code == 200
    listed = client.get(f"/api/redemptions?org_id={shop.tree.community_a.id}", headers=shop.admin_headers)
    assert [r["id"] for r in listed.json["items"]] == [body["id"]]
    # Admins of another community cannot cancel either; the volunteer's own admin can.
    assert client.post(f"/api/redemptions/{body['id']}/cancel", headers=admin_b).status_code == 403
    assert client.post(f"/api/redemptions/{body['id']}/cancel", headers=shop.admin_headers).status_code == 200


def test_merchant_profile_and_dead_letters_are_scoped(client, shop, rival, as_user):
    _, admin_b = as_user(Role.community_admin, shop.tree.community_b)
    # The merchant sits at the street: a community admin may not re-point its webhook.
    put = client.put(f"/api/merchants/{shop.merchant.id}/profile", headers=admin_b,
                     json={"webhook_url": "http://127.0.0.1:9/x", "community_ids": [shop.tree.community_b.id]})
    assert put.status_code == 403
    assert client.get(f"/api/merchants/{shop.merchant.id}/webhook-deliveries",
                      headers=rival[1]).status_code == 403
    assert client.post(f"/api/merchants/{shop.merchant.id}/webhook-secret", headers=rival[1]).status_code == 403
    assert client.get(f"/api/merchants/{shop.merchant.id}/profile", headers=rival[1]).status_code == 403


def test_street_admin_sets_profile_secret_returned_once(client, session, make_merchant, shop):
    merchant, key, _ = make_merchant(name="新商户")  # no webhook yet
    resp = client.put(f"/api/merchants/{merchant.id}/profile", headers=shop.admin_headers_street,
                      json={"webhook_url": "https://shop.example.cn/hook",
                            "community_ids": [shop.tree.community_a.id]})
    assert resp.status_code == 200 and resp.json["webhook_secret"].startswith("whsec_")
    again = client.put(f"/api/merchants/{merchant.id}/profile", headers=shop.admin_headers_street,
                       json={"webhook_url": "https://shop.example.cn/hook2",
                             "community_ids": [shop.tree.community_a.id, shop.tree.community_b.id]})
    assert "webhook_secret" not in again.json and again.json["community_ids"] == sorted(
        [shop.tree.community_a.id, shop.tree.community_b.id])
    not_community = client.put(f"/api/merchants/{merchant.id}/profile", headers=shop.admin_headers_street,
                               json={"webhook_url": None, "community_ids": [shop.tree.street.id]})
    assert not_community.status_code == 422 and not_community.json["code"] == "not_a_community"


def test_rewards_are_kept_by_their_own_merchant_in_served_communities(client, shop, rival, tree, make_merchant):
    body = {"merchant_id": shop.merchant.id, "name": "食用油", "points_price": 80, "stock": 3,
            "community_ids": [tree.community_a.id]}
    assert client.post("/api/rewards", json=body, headers=rival[1]).status_code == 403
    created = client.post("/api/rewards", json=body, headers=shop.key_headers)
    assert created.status_code == 201 and created.json["stock"] == 3
    only_a, key_a, _ = make_merchant(name="只服务幸福社区", communities=[tree.community_a])
    wrong = client.post("/api/rewards", headers=key_a, json={**body, "merchant_id": only_a.id,
                                                             "community_ids": [tree.community_b.id]})
    assert wrong.status_code == 422 and wrong.json["code"] == "community_not_served"
    patched = client.patch(f"/api/rewards/{created.json['id']}", json={"stock_delta": -3, "points_price": 90},
                           headers=shop.key_headers)
    assert patched.status_code == 200 and patched.json["stock"] == 0 and patched.json["points_price"] == 90
    below = client.patch(f"/api/rewards/{created.json['id']}", json={"stock_delta": -1}, headers=shop.key_headers)
    assert below.status_code == 422 and below.json["code"] == "invalid_stock"
    assert client.patch(f"/api/rewards/{created.json['id']}", json={"stock_delta": 1},
                        headers=rival[1]).status_code == 403


def test_catalogue_shows_what_the_volunteer_can_afford_in_their_community(client, session, shop, tree, volunteer):
    rewards.create_reward(session, SYSTEM, merchant_id=shop.merchant.id, name="电饭煲", points_price=500, stock=1,
                          community_ids=[tree.community_a.id])
    rewards.create_reward(session, SYSTEM, merchant_id=shop.merchant.id, name="只在和谐社区", points_price=10,
                          community_ids=[tree.community_b.id])
    rewards.create_reward(session, SYSTEM, merchant_id=shop.merchant.id, name="已兑完", points_price=10, stock=0,
                          community_ids=[tree.community_a.id])
    session.commit()
    _, headers = volunteer(points=150)
    names = {r["name"] for r in client.get("/api/rewards", headers=headers).json["items"]}
    assert names == {"大米 5kg", "电饭煲"}
    affordable = {r["name"] for r in client.get("/api/rewards?affordable=true", headers=headers).json["items"]}
    assert affordable == {"大米 5kg"}
    mine = client.get(f"/api/rewards?merchant_id={shop.merchant.id}", headers=shop.key_headers)
    assert len(mine.json["items"]) == 4


def _counts(session):
    session.rollback()
    result = (session.scalar(select(func.count(Redemption.id))), session.get(Reward, 1).stock)
    session.rollback()
    return result


def test_refusals_by_rule_leave_no_partial_rows(client, session, shop, tree, volunteer, make_person, app):
    poor, poor_h = volunteer(points=50)
    before = _counts(session)
    resp = redeem(client, poor_h, shop.reward.id)
    assert resp.status_code == 422 and resp.json["code"] == "insufficient_funds"
    assert _counts(session) == before and available(session, poor) == 50

    homeless = make_person(name="无社区")
    resp = redeem(client, bearer(app, homeless), shop.reward.id)
    assert resp.status_code == 422 and resp.json["code"] == "home_org_required"

    limited = rewards.create_reward(session, SYSTEM, merchant_id=shop.merchant.id, name="每月一次", points_price=10,
                                    per_person_limit=1, limit_period="month", community_ids=[tree.community_a.id])
    session.commit()
    _, headers = volunteer(points=300)
    assert redeem(client, headers, limited.id).status_code == 201
    second = redeem(client, headers, limited.id)
    assert second.status_code == 422 and second.json["code"] == "limit_reached"

    from timebank.people import partners
    from timebank.people.models import MerchantStatus

    partners.set_merchant_status(session, SYSTEM, shop.merchant.id, MerchantStatus.suspended)
    session.commit()
    suspended = redeem(client, headers, shop.reward.id)
    assert suspended.status_code == 422 and suspended.json["code"] == "merchant_suspended"


def test_reward_not_offered_in_the_volunteers_community(client, session, shop, tree, volunteer):
    only_b = rewards.create_reward(session, SYSTEM, merchant_id=shop.merchant.id, name="和谐专享", points_price=10,
                                   community_ids=[tree.community_b.id])
    session.commit()
    _, headers = volunteer(points=300, home=tree.grid_a)  # lives in a grid of community A
    resp = redeem(client, headers, only_b.id)
    assert resp.status_code == 403 and resp.json["code"] == "not_offered_here"


def test_out_of_stock(client, session, shop, tree, volunteer):
    last = rewards.create_reward(session, SYSTEM, merchant_id=shop.merchant.id, name="最后一件", points_price=10,
                                 stock=1, community_ids=[tree.community_a.id])
    session.commit()
    _, headers = volunteer(points=300)
    assert redeem(client, headers, last.id).status_code == 201
    gone = redeem(client, headers, last.id)
    assert gone.status_code == 422 and gone.json["code"] == "out_of_stock"


BAD_INPUT = [
    ("post", "/api/redemptions", {"reward_id": "abc"}, 422, "validation_failed"),
    ("post", "/api/redemptions", {}, 422, "validation_failed"),
    ("post", "/api/redemptions", {"reward_id": 1, "points": 1}, 422, "validation_failed"),
    ("post", "/api/redemptions", {"reward_id": 0}, 422, "validation_failed"),
    ("post", "/api/redemptions", {"reward_id": 999}, 404, "reward_not_found"),
    ("post", "/api/redemptions/confirm", {"code": ""}, 422, "validation_failed"),
    ("post", "/api/redemptions/confirm", {"code": "ZZZZ-ZZZZ"}, 404, "code_not_found"),
    ("post", "/api/redemptions/confirm", {"code": " - "}, 422, "code_required"),
    ("post", "/api/redemptions/till", {"pay_code": "NOPE", "reward_id": 1}, 404, "pay_code_invalid"),
    ("post", "/api/rewards", {"merchant_id": 1, "name": "x", "points_price": -5, "community_ids": [1]}, 422,
     "validation_failed"),
    ("post", "/api/rewards", {"merchant_id": 1, "name": "x", "points_price": 5, "stock": -1, "community_ids": [1]},
     422, "validation_failed"),
    ("post", "/api/rewards", {"merchant_id": 1, "name": "x", "points_price": 5, "community_ids": []}, 422,
     "validation_failed"),
    ("put", "/api/merchants/1/profile", {"webhook_url": "ftp://x.cn/h", "community_ids": []}, 422,
     "validation_failed"),
    ("get", "/api/merchants/1/statement?period_start=2026-02-01&period_end=2026-01-01", None, 422,
     "invalid_period"),
    ("get", "/api/merchants/1/statement?period_start=2026-13-01&period_end=2026-01-01", None, 422,
     "validation_failed"),
    ("get", "/api/redemptions?cursor=%%%", None, 422, "invalid_cursor"),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "code"), BAD_INPUT)
def test_bad_input_is_a_clear_problem(client, shop, volunteer, method, path, body, status, code):
    _, vol = volunteer(points=300)
    headers = shop.key_headers
    if path.startswith("/api/redemptions") and not path.startswith(("/api/redemptions/confirm",
                                                                    "/api/redemptions/till")):
        headers = {**vol, "Idempotency-Key": "bad-input"}
    if path.startswith("/api/merchants/1/profile"):
        headers = shop.admin_headers_street
    resp = getattr(client, method)(path, json=body, headers=headers) if body is not None else \
        getattr(client, method)(path, headers=headers)
    assert resp.status_code == status, resp.json
    assert resp.json["code"] == code
    assert resp.mimetype == "application/problem+json"


def test_redeeming_needs_an_idempotency_key_and_a_volunteer(client, shop, volunteer):
    _, headers = volunteer(points=300)
    resp = client.post("/api/redemptions", json={"reward_id": shop.reward.id}, headers=headers)
    assert resp.status_code == 428 and resp.json["code"] == "idempotency_key_required"
    merchant = client.post("/api/redemptions", json={"reward_id": shop.reward.id},
                           headers={**shop.key_headers, "Idempotency-Key": "m-1"})
    assert merchant.status_code == 401 and merchant.json["code"] == "auth_required"  # a key opens no person's call
    assert client.get("/api/redemptions").status_code == 401
