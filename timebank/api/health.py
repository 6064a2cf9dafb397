"""Liveness and readiness probes."""

from __future__ import annotations

from flask import jsonify
from sqlalchemy import text

from timebank.api.base import Blueprint
from timebank.extensions import db, redis_ext

blp = Blueprint("health", __name__, description="Operations probes")


@blp.route("/healthz")
@blp.doc(security=[])
def healthz():
    """The process is alive."""
    return jsonify(status="ok")


@blp.route("/readyz")
@blp.doc(security=[], responses={"503": {"description": "A dependency is unreachable"}})
def readyz():
    """The database and Redis answer."""
    checks = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        checks["database"] = f"error: {type(exc).__name__}"
    finally:
        db.session.rollback()
    try:
        redis_ext.connection.ping()
        checks["redis"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["redis"] = f"error: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    resp = jsonify(status="ready" if ready else "not_ready", checks=checks)
    resp.status_code = 200 if ready else 503
    return resp
