"""Links people open: every absolute URL the service prints, encodes in a QR code or sends is built here,
from `config.public_base_url` (the configured public address, else the address actually served)."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import current_app, has_request_context, request

from timebank import config


def public_base_url() -> str:
    """`TIMEBANK_PUBLIC_BASE_URL`, else this request's host, else the address `serve-all` bound."""
    host_url = request.host_url if has_request_context() else None
    return config.public_base_url(current_app.config, host_url)


def absolute(path: str, **query) -> str:
    """An absolute link to `path` on this site (query parameters encoded)."""
    url = public_base_url() + path
    return f"{url}?{urlencode(query)}" if query else url


def checkin_url(token: str) -> str:
    """What the site's rotating QR code encodes: the volunteer app's check-in page with the signed token."""
    return absolute("/app/checkin", t=token)
