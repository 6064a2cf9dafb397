"""Channel adapters: how one message leaves the service. Flask-free; the job builds `ChannelConfig` from the app's
configuration. Each adapter returns an `Outcome` and never raises for network or provider failures.

* `sms`: a configurable HTTP gateway, as Chinese SMS providers expect: a JSON POST with the template id and its
  parameters, signed with HMAC-SHA256 over app key, timestamp, nonce and body (headers below). `out_id` is the
  delivery's idempotency id: the gateway sends a repeated `out_id` once.
* `wechat`: a subscription message (`message/subscribe/send`: touser OpenID, template_id, data), after the
  access-token exchange with appid and secret; the token is cached until shortly before it expires and
  dropped when WeChat says it is no longer valid.
* `email`: the SMTP settings the appraisal letters use; the Message-ID is derived from the delivery id.
* `log`: writes a line (addresses masked) — the demo's default for every channel not made live.

Phones and OpenIDs are never logged in full (`mask`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import smtplib
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.message import EmailMessage

log = logging.getLogger("timebank.notify")

APP_KEY_HEADER = "X-Tb-App-Key"
TIMESTAMP_HEADER = "X-Tb-Timestamp"
NONCE_HEADER = "X-Tb-Nonce"
SIGNATURE_HEADER = "X-Tb-Signature"
TOKEN_MARGIN_SECONDS = 300
WECHAT_TOKEN_INVALID = {40001, 40014, 42001}


@dataclass(frozen=True)
class ChannelConfig:
    live: frozenset[str] = frozenset()  # channels sent for real; the others go to the log adapter
    timeout: float = 5.0
    sms_url: str = ""
    sms_app_key: str = ""
    sms_app_secret: str = ""
    sms_sign_name: str = "爱心银行"
    wechat_api_base: str = "https://api.weixin.qq.com"
    wechat_appid: str = ""
    wechat_secret: str = ""
    wechat_page: str = "pages/inbox/index"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    mail_from: str = "timebank@localhost"


@dataclass(frozen=True)
class Message:
    """What an adapter needs, read under the lease: no session during the provider call."""

    delivery_id: int
    kind: str
    channel: str
    address: str | None  # phone, e-mail address or OpenID; None when the person has none
    title: str
    body: str
    params: dict
    sms_template: str
    wechat_template: str
    wechat_data: dict

    @property
    def idempotency_id(self) -> str:
        return f"tb-{self.delivery_id}"


@dataclass(frozen=True)
class Outcome:
    ok: bool
    retryable: bool
    provider_ref: str | None = None
    error: str | None = None
    elapsed: float = 0.0


def mask(address: str | None) -> str:
    """138****0005 for a phone, ab***@example.cn for an e-mail, oAbC****wxyz for an OpenID."""
    if not address:
        return ""
    if "@" in address:
        local, _, domain = address.partition("@")
        return f"{local[:2]}***@{domain}"
    if address.isdigit() and len(address) >= 7:
        return f"{address[:3]}****{address[-4:]}"
    return f"{address[:4]}****{address[-4:]}" if len(address) > 8 else "****"


def sign_sms(secret: str, app_key: str, timestamp: str, nonce: str, body: bytes) -> str:
    """hex HMAC-SHA256(secret, app_key + "\\n" + timestamp + "\\n" + nonce + "\\n" + body)."""
    message = f"{app_key}\n{timestamp}\n{nonce}\n".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _post_json(url: str, payload: dict, headers: dict, timeout: float) -> tuple[int | None, dict, str | None]:
    """(status, parsed answer, error). Timeouts and connection errors come back as (None, {}, error)."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return _send_bytes(url, body, headers, timeout)


def _send_bytes(url: str, body: bytes | None, headers: dict, timeout: float,
                method: str = "POST") -> tuple[int | None, dict, str | None]:
    request = urllib.request.Request(url, data=body, method=method,
                                     headers={"Content-Type": "application/json; charset=utf-8", **headers})
    try:
        with _opener.open(request, timeout=timeout) as resp:
            status, text = resp.status, resp.read(65536).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        status, text = exc.code, (exc.read(65536) or b"").decode("utf-8", "replace")
    except TimeoutError as exc:
        return None, {}, f"timeout after {timeout}s: {exc}"
    except (urllib.error.URLError, OSError) as exc:
        return None, {}, f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"[:300]
    try:
        answer = json.loads(text) if text else {}
    except ValueError:
        answer = {}
    return status, answer if isinstance(answer, dict) else {}, None


def _http_outcome(status: int | None, answer: dict, error: str | None, started: float,
                  ok_ref: str | None) -> Outcome:
    elapsed = time.perf_counter() - started
    if status is None:
        return Outcome(False, True, None, error, elapsed)
    if 200 <= status < 300:
        return Outcome(True, False, ok_ref, None, elapsed)
    retryable = status in (408, 425, 429) or status >= 500
    return Outcome(False, retryable, None, f"HTTP {status}: {json.dumps(answer, ensure_ascii=False)[:200]}",
                   elapsed)


def send_sms(config: ChannelConfig, message: Message) -> Outcome:
    if not message.address:
        return Outcome(False, False, error="no phone")
    payload = {"phone": message.address, "sign_name": config.sms_sign_name, "template_id": message.sms_template,
               "params": {k: str(v) for k, v in message.params.items()}, "out_id": message.idempotency_id}
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    timestamp, nonce = str(int(time.time())), secrets.token_hex(12)
    headers = {APP_KEY_HEADER: config.sms_app_key, TIMESTAMP_HEADER: timestamp, NONCE_HEADER: nonce,
               SIGNATURE_HEADER: sign_sms(config.sms_app_secret, config.sms_app_key, timestamp, nonce, body)}
    started = time.perf_counter()
    status, answer, error = _send_bytes(config.sms_url, body, headers, config.timeout)
    if status is not None and 200 <= status < 300 and str(answer.get("code", "OK")).upper() != "OK":
        # The gateway answered but refused (bad template, blocked number): no retry helps.
        return Outcome(False, False, None, f"gateway: {answer.get('code')} {answer.get('message', '')}"[:300],
                       time.perf_counter() - started)
    return _http_outcome(status, answer, error, started, str(answer.get("message_id") or "") or None)


class WechatTokens:
    """access_token per appid, cached in the process until `TOKEN_MARGIN_SECONDS` before it expires."""

    def __init__(self) -> None:
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()
        self._exchange = threading.Lock()
        self.fetches = 0

    def get(self, config: ChannelConfig) -> tuple[str | None, str | None]:
        with self._exchange:  # one exchange at a time: concurrent senders wait for it and share its token
            return self._get(config)

    def _get(self, config: ChannelConfig) -> tuple[str | None, str | None]:
        with self._lock:
            cached = self._tokens.get(config.wechat_appid)
            if cached and cached[1] > time.monotonic():
                return cached[0], None
        query = urllib.parse.urlencode({"grant_type": "client_credential", "appid": config.wechat_appid,
                                        "secret": config.wechat_secret})
        status, answer, error = _send_bytes(f"{config.wechat_api_base}/cgi-bin/token?{query}", None, {},
                                            config.timeout, method="GET")
        self.fetches += 1
        token = answer.get("access_token")
        if status != 200 or not token:
            return None, error or f"token exchange failed: {answer.get('errcode')} {answer.get('errmsg', '')}"
        lifetime = max(int(answer.get("expires_in", 7200)) - TOKEN_MARGIN_SECONDS, 1)
        with self._lock:
            self._tokens[config.wechat_appid] = (token, time.monotonic() + lifetime)
        return token, None

    def drop(self, config: ChannelConfig) -> None:
        with self._lock:
            self._tokens.pop(config.wechat_appid, None)


wechat_tokens = WechatTokens()


def send_wechat(config: ChannelConfig, message: Message) -> Outcome:
    if not message.address:
        return Outcome(False, False, error="no openid")
    started = time.perf_counter()
    for _ in range(2):  # a token WeChat no longer accepts is exchanged again, once
        token, error = wechat_tokens.get(config)
        if token is None:
            return Outcome(False, True, None, error, time.perf_counter() - started)
        payload = {"touser": message.address, "template_id": message.wechat_template, "page": config.wechat_page,
                   "data": message.wechat_data, "client_msg_id": message.idempotency_id}
        url = f"{config.wechat_api_base}/cgi-bin/message/subscribe/send?access_token={urllib.parse.quote(token)}"
        status, answer, error = _post_json(url, payload, {}, config.timeout)
        errcode = int(answer.get("errcode", 0) or 0) if status == 200 else None
        if errcode in WECHAT_TOKEN_INVALID:
            wechat_tokens.drop(config)
            continue
        if errcode:  # 43101: the person has not subscribed; 40003: bad OpenID — no retry helps
            return Outcome(False, errcode == -1, None, f"wechat errcode {errcode}: {answer.get('errmsg', '')}",
                           time.perf_counter() - started)
        return _http_outcome(status, answer, error, started, str(answer.get("msgid") or "") or None)
    return Outcome(False, True, None, "wechat token rejected twice", time.perf_counter() - started)


def send_email(config: ChannelConfig, message: Message) -> Outcome:
    if not message.address:
        return Outcome(False, False, error="no e-mail address")
    mail = EmailMessage()
    mail["From"] = config.mail_from
    mail["To"] = message.address
    mail["Subject"] = f"【爱心银行】{message.title}"
    mail["Message-ID"] = f"<{message.idempotency_id}@timebank>"
    mail.set_content(message.body)
    started = time.perf_counter()
    try:
        with smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=config.timeout) as smtp:
            if config.smtp_starttls:
                smtp.starttls()
            if config.smtp_user:
                smtp.login(config.smtp_user, config.smtp_password or "")
            smtp.send_message(mail)
    except smtplib.SMTPRecipientsRefused as exc:
        return Outcome(False, False, None, f"refused: {exc}"[:300], time.perf_counter() - started)
    except (smtplib.SMTPException, OSError) as exc:
        return Outcome(False, True, None, f"{type(exc).__name__}: {exc}"[:300], time.perf_counter() - started)
    return Outcome(True, False, mail["Message-ID"], None, time.perf_counter() - started)


def send_log(config: ChannelConfig, message: Message) -> Outcome:
    """The demo's channel: what would have gone out, with the address masked (and a code never shown)."""
    log.info("notification (log channel)", extra={"fields": {
        "delivery_id": message.delivery_id, "channel": message.channel, "kind": message.kind,
        "to": mask(message.address), "template": message.sms_template}})
    return Outcome(True, False, f"log-{message.delivery_id}")


ADAPTERS = {"sms": send_sms, "wechat": send_wechat, "email": send_email}


def send_all(config: ChannelConfig, messages: list[Message], concurrency: int = 1) -> list[tuple[int, Outcome]]:
    """Each message's outcome, with up to `concurrency` provider calls in flight: a gateway a few hundred
    milliseconds away would otherwise hold a sender to a handful of messages a second. Adapters are thread-safe
    (a new connection per call; the WeChat token cache is locked)."""
    if concurrency <= 1 or len(messages) <= 1:
        return [(m.delivery_id, send(config, m)) for m in messages]
    with ThreadPoolExecutor(max_workers=min(concurrency, len(messages)), thread_name_prefix="notify-send") as pool:
        return list(zip([m.delivery_id for m in messages], pool.map(lambda m: send(config, m), messages),
                        strict=True))


def send(config: ChannelConfig, message: Message) -> Outcome:
    adapter = ADAPTERS.get(message.channel) if message.channel in config.live else None
    outcome = (adapter or send_log)(config, message)
    log.info("notification attempt", extra={"fields": {
        "delivery_id": message.delivery_id, "channel": message.channel, "kind": message.kind,
        "to": mask(message.address), "ok": outcome.ok, "ms": round(outcome.elapsed * 1000, 1),
        "error": outcome.error}})
    return outcome


