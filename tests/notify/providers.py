"""Fake providers on loopback, real HTTP servers (not mocks): an SMS gateway that checks each request's HMAC
signature and sends a repeated `out_id` once, and WeChat's token and subscription-message endpoints, which
check the access token and dedupe on `client_msg_id`. Both record every request they receive.

Modes: "accept"; "error" (503); "timeout" (record and send, then answer only after the caller gave up: the
provider received the message although the caller saw a timeout); "block" (hold the request until released).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from timebank.notify.channels import APP_KEY_HEADER, NONCE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER

APP_KEY, APP_SECRET = "tb-test-app", "tb-test-secret"
APPID, WECHAT_SECRET = "wx1234567890abcdef", "wechat-test-secret"


@dataclass
class Sent:
    """A message the provider accepted and sent to the handset: once per idempotency id."""

    out_id: str
    to: str
    template: str
    params: dict


@dataclass
class _Base:
    mode: str = "accept"
    hold_seconds: float = 3.0
    requests: list = field(default_factory=list)
    sent: dict = field(default_factory=dict)  # idempotency id -> Sent
    rejected: list = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    def deliver(self, sent: Sent) -> bool:
        """Dedupe on the idempotency id; True when this request sent the message."""
        with self.lock:
            if sent.out_id in self.sent:
                return False
            self.sent[sent.out_id] = sent
            return True

    def sent_to(self, to: str) -> list[Sent]:
        return [s for s in self.sent.values() if s.to == to]

    def wait_for(self, count: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while len(self.sent) < count and time.monotonic() < deadline:
            time.sleep(0.02)


class _Handler(BaseHTTPRequestHandler):
    fake: _Base

    def log_message(self, *args):
        pass

    def _answer(self, status: int, payload: dict) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _after_send(self, payload: dict) -> None:
        fake = self.fake
        fake.arrived.set()
        if fake.mode == "timeout":
            time.sleep(fake.hold_seconds)
        if fake.mode == "block":
            fake.release.wait(60)
        self._answer(200, payload)


class FakeSmsGateway(_Base):
    def check(self, headers: dict, body: bytes) -> str | None:
        if headers.get(APP_KEY_HEADER) != APP_KEY:
            return "unknown app key"
        ts, nonce = headers.get(TIMESTAMP_HEADER, ""), headers.get(NONCE_HEADER, "")
        if not ts.isdigit() or abs(time.time() - int(ts)) > 300:
            return "stale timestamp"
        expected = hmac.new(APP_SECRET.encode(), f"{APP_KEY}\n{ts}\n{nonce}\n".encode() + body,
                            hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, headers.get(SIGNATURE_HEADER, "")):
            return "bad signature"
        return None


class FakeWechat(_Base):
    token: str = "ACCESS_TOKEN_1"
    token_fetches: int = 0
    expire_next: bool = False  # answer the next send with 40001 (token expired) once

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _sms_handler(fake: FakeSmsGateway):
    class Handler(_Handler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = dict(self.headers.items())
            with fake.lock:
                fake.requests.append((headers, body))
            error = fake.check(headers, body)
            if error:
                fake.rejected.append(error)
                return self._answer(401, {"code": "SIGNATURE_INVALID", "message": error})
            if fake.mode == "error":
                return self._answer(503, {"code": "BUSY"})
            msg = json.loads(body)
            fake.deliver(Sent(msg["out_id"], msg["phone"], msg["template_id"], msg["params"]))
            self._after_send({"code": "OK", "message_id": f"sms-{msg['out_id']}"})

    Handler.fake = fake
    return Handler


def _wechat_handler(fake: FakeWechat):
    class Handler(_Handler):
        def do_GET(self):  # noqa: N802
            url = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(url.query))
            if url.path != "/cgi-bin/token" or query.get("appid") != APPID or query.get("secret") != WECHAT_SECRET:
                return self._answer(200, {"errcode": 40013, "errmsg": "invalid appid"})
            fake.token_fetches += 1
            fake.token = f"ACCESS_TOKEN_{fake.token_fetches}"
            self._answer(200, {"access_token": fake.token, "expires_in": 7200})

        def do_POST(self):  # noqa: N802
            url = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(url.query))
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with fake.lock:
                fake.requests.append((dict(self.headers.items()), body))
            if url.path != "/cgi-bin/message/subscribe/send":
                return self._answer(404, {})
            if fake.expire_next:
                fake.expire_next = False
                return self._answer(200, {"errcode": 42001, "errmsg": "access_token expired"})
            if query.get("access_token") != fake.token:
                fake.rejected.append("bad token")
                return self._answer(200, {"errcode": 40001, "errmsg": "invalid credential"})
            if fake.mode == "error":
                return self._answer(503, {})
            msg = json.loads(body)
            fake.deliver(Sent(msg["client_msg_id"], msg["touser"], msg["template_id"], msg["data"]))
            self._after_send({"errcode": 0, "errmsg": "ok", "msgid": hash(msg["client_msg_id"]) & 0xFFFFFF})

    Handler.fake = fake
    return Handler


class Running:
    """Serve `fake` on a free loopback port until `stop()`."""

    def __init__(self, fake: _Base, handler) -> None:
        self.fake = fake
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        fake.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.fake.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def start_sms() -> tuple[FakeSmsGateway, Running]:
    fake = FakeSmsGateway()
    return fake, Running(fake, _sms_handler(fake))


def start_wechat() -> tuple[FakeWechat, Running]:
    fake = FakeWechat()
    return fake, Running(fake, _wechat_handler(fake))
