"""Redemption fixtures: a merchant with a key, a staff login, a webhook pointing at a REAL merchant HTTP server
on loopback (started here, not mocked), a reward, and volunteers with points credited through the ledger."""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import bearer
from timebank import ledger
from timebank.ops.webhook_verify import DELIVERY_HEADER, WebhookVerificationError, verify
from timebank.people import credit_code, partners
from timebank.people import persons as people
from timebank.people.access import SYSTEM
from timebank.people.models import Role
from timebank.redemption import rewards

_codes = itertools.count(1000)


@dataclass
class Received:
    headers: dict
    body: bytes
    event: dict | None
    error: str | None

    @property
    def delivery_id(self) -> str:
        return self.headers.get(DELIVERY_HEADER)


class MerchantServer:
    """A merchant's webhook receiver on 127.0.0.1. It checks every request with `webhook_verify` (401 when the
    signature or timestamp is bad) and answers as `mode` says: accept, refuse, slow, error, or block (wait for
    `release_block`)."""

    def __init__(self) -> None:
        self.secret = ""
        self.mode = "accept"
        self.delay = 0.0
        self.received: list[Received] = []
        self.arrived = threading.Event()
        self._unblock = threading.Event()
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self.port = 0
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/timebank"

    def start(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k: v for k, v in self.headers.items()}
                try:
                    event, error = verify(server.secret, headers, body), None
                except WebhookVerificationError as exc:
                    event, error = None, str(exc)
                with server._lock:
                    server.received.append(Received(headers, body, event, error))
                server.arrived.set()
                if error:
                    return self._answer(401, {"error": error})
                if server.mode == "block":
                    server._unblock.wait(60)
                if server.mode == "slow":
                    time.sleep(server.delay)
                if server.mode == "error":
                    return self._answer(503, {"error": "maintenance"})
                if server.mode == "refuse":
                    return self._answer(200, {"decision": "refuse", "reason": "货架上已无此商品"})
                return self._answer(200, {"decision": "accept"})

            def _answer(self, status, payload):
                data = json.dumps(payload, ensure_ascii=False).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the caller gave up (timeout)
                    pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def release_block(self) -> None:
        self._unblock.set()

    def verified(self) -> list[Received]:
        return [r for r in self.received if r.event is not None]


@pytest.fixture
def merchant_server():
    server = MerchantServer()
    yield server
    server.release_block()
    server.stop()


@dataclass
class Shop:
    tree: object
    merchant: object
    key_headers: dict
    admin: object
    admin_headers: dict
    admin_headers_street: dict
    reward: object
    server: MerchantServer
    secret: str
    extra: dict = field(default_factory=dict)


@pytest.fixture
def give_points(session):
    """Credit a volunteer's points from their community's issuer, as the verification credit path does."""
    seq = itertools.count(1)

    def give(person, amount: int) -> None:
        community = rewards.volunteer_community(session, person.id)
        issuer = ledger.account_for(session, owner_kind=ledger.OwnerKind.issuer, owner_id=community.id,
                                    ledger=ledger.Ledger.points, org_id=community.id)
        account = rewards.volunteer_account(session, person.id, community.id)
        ledger.transfer(session, key=f"test:credit:{person.id}:{next(seq)}", debit_account_id=issuer.id,
                        credit_account_id=account.id, amount=amount, ledger=ledger.Ledger.points,
                        code=ledger.Code.credit)
        session.commit()

    return give


@pytest.fixture
def make_merchant(session, app, tree):
    def make(name: str = "联盟超市", communities=None, webhook_url: str | None = None):
        merchant = partners.create_merchant(session, SYSTEM, name=name,
                                            credit_code_value=credit_code.make(f"9233010{next(_codes):010d}"),
                                            org_id=tree.street.id)
        _, key = partners.issue_api_key(session, SYSTEM, merchant_id=merchant.id, label="till")
        _, secret = rewards.set_profile(session, SYSTEM, merchant.id, webhook_url=webhook_url,
                                        community_ids=[c.id for c in (communities or [tree.community_a])])
        session.commit()
        return merchant, {"X-API-Key": key}, secret

    return make


@pytest.fixture
def shop(session, app, tree, make_merchant, make_person, merchant_server) -> Shop:
    app.config["WEBHOOK_TIMEOUT_SECONDS"] = 2.0
    merchant, key_headers, secret = make_merchant(webhook_url=merchant_server.url,
                                                  communities=[tree.community_a, tree.community_b])
    merchant_server.secret = secret
    reward = rewards.create_reward(session, SYSTEM, merchant_id=merchant.id, name="大米 5kg", points_price=100,
                                   stock=10, community_ids=[tree.community_a.id, tree.community_b.id])
    admin = make_person(name="社区管理员", home=tree.community_a, roles=((Role.community_admin, tree.community_a),))
    street_admin = make_person(name="街道管理员", home=tree.community_a, roles=((Role.street_admin, tree.street),))
    session.commit()
    return Shop(tree=tree, merchant=merchant, key_headers=key_headers, admin=admin,
                admin_headers=bearer(app, admin), admin_headers_street=bearer(app, street_admin), reward=reward,
                server=merchant_server, secret=secret)


@pytest.fixture
def volunteer(app, make_person, give_points, tree):
    """`volunteer(points=300, home=community)` -> (person, auth headers)."""
    def make(points: int = 300, home=None, name: str = "志愿者"):
        person = make_person(name=name, home=home or tree.community_a)
        if points:
            give_points(person, points)
        return person, bearer(app, person)

    return make


@pytest.fixture
def staff(session, app, make_person, tree):
    """A merchant_staff login on `merchant` -> auth headers."""
    def make(merchant):
        person = make_person(name="店员", home=tree.community_a)
        people.grant(session, None, person, Role.merchant_staff, merchant_id=merchant.id)
        session.commit()
        return bearer(app, person)

    return make


_keys = itertools.count(1)


def redeem(client, headers, reward_id, key: str | None = None):
    return client.post("/api/redemptions", json={"reward_id": reward_id},
                       headers={**headers, "Idempotency-Key": key or f"redeem-{next(_keys)}"})


def available(session, person) -> int:
    """The volunteer's spendable points; ends the read so workers (SQLite's single writer) are not blocked."""
    try:
        return rewards.available_points(session, person.id)
    finally:
        session.rollback()
