"""Structured (one JSON object per line) logs carrying the request or job id."""

from __future__ import annotations

import json
import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime

from gunicorn.glogging import Logger as GunicornLogger

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


# Bearer secrets that travel in URLs: 30-day portal links to appraisal letters (path) and the check-in QR token
# (query). A log keeps their first characters, enough to tell two apart, never enough to use one.
_SECRET_SEGMENT = re.compile(r"(/portal/)([^/?#\s]+)")
_SECRET_PARAM = re.compile(r"([?&](?:t|token|key|api_key)=)([^&#\s]+)")


def _mask(match: re.Match) -> str:
    return match.group(1) + match.group(2)[:4] + "…"


def redact(url: str | None) -> str | None:
    """A path or URL as logs may keep it."""
    if not url:
        return url
    return _SECRET_PARAM.sub(_mask, _SECRET_SEGMENT.sub(_mask, url))


class AccessLogger(GunicornLogger):
    """gunicorn's access log (`--logger-class timebank.logs.AccessLogger`), with the URL's secrets masked."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U", "q", "f"):
            if isinstance(atoms.get(key), str):
                atoms[key] = redact(atoms[key])
        return atoms


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        rid = request_id_var.get()
        if rid:
            data["request_id"] = rid
        for key, value in getattr(record, "fields", {}).items():
            data[key] = value
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


def configure(level: str = "INFO") -> None:
    root = logging.getLogger()
    if any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level)
