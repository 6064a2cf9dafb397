"""HTTP helpers the two web translators (the API and the pages) share."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response


def attachment(content: bytes, mimetype: str, name: str) -> Response:
    """A download the browser saves (never caches), named as the service names it (UTF-8 file names)."""
    resp = Response(content, mimetype=mimetype)
    resp.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    resp.headers["Cache-Control"] = "no-store"
    return resp
