"""A volunteer gives points to a relative named by mobile number (typed with spaces or +86), the way a volunteer
knows them; the transfer carries the giver and the note so the recipient's history names both."""

from __future__ import annotations

from tests.ledger.test_api import volunteer  # noqa: F401 - the fixture: 100 points in community A
from timebank.accounts import balances, gifts


def test_gift_by_phone_names_the_giver_and_the_note(client, session, volunteer, tree, as_user):  # noqa: F811
    person, headers = volunteer
    relative, rel_headers = as_user(home=tree.grid_b, name="王家人")
    typed = f"+86 {relative.phone[:3]} {relative.phone[3:7]} {relative.phone[7:]}"
    r = client.post("/api/gifts", json={"amount": 5, "to_phone": typed, "note": "生日快乐"},
                    headers={**headers, "Idempotency-Key": "by-phone"})
    assert r.status_code == 201, r.json
    assert client.get("/api/ledger/me", headers=rel_headers).json["points"]["available"] == 5

    account = balances.for_person(session, relative.id).points.account_id
    [(transfer, amount)] = balances.history(session, account, limit=5)
    assert gifts.label(session, transfer, amount) == "王志愿 赠送：“生日快乐”"
    mine = balances.for_person(session, person.id).points.account_id
    sent = [(t, a) for t, a in balances.history(session, mine, limit=5) if a < 0]
    assert gifts.label(session, *sent[0]) == "赠给 王**：“生日快乐”"


def test_gift_by_an_unknown_or_own_phone_is_refused(client, volunteer):  # noqa: F811
    person, headers = volunteer
    unknown = client.post("/api/gifts", json={"amount": 5, "to_phone": "13000000000"},
                          headers={**headers, "Idempotency-Key": "unknown-phone"})
    assert unknown.status_code == 404 and unknown.json["code"] == "person_not_found"
    assert "手机号" in unknown.json["detail"]
    own = client.post("/api/gifts", json={"amount": 5, "to_phone": person.phone},
                      headers={**headers, "Idempotency-Key": "own-phone"})
    assert own.status_code == 422 and own.json["code"] == "gift_to_self"
    both = client.post("/api/gifts", json={"amount": 5, "to_phone": "13000000000", "to_person_id": person.id},
                       headers={**headers, "Idempotency-Key": "both"})
    assert both.status_code == 422 and both.json["code"] == "one_recipient"
