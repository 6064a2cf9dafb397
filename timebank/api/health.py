"""Liveness and readiness probes."""

from __future__ import annotations

import marshmallow as ma
from flask import jsonify
from sqlalchemy import text

from timebank.api.base import Blueprint
from timebank.extensions import db, redis_ext

blp = Blueprint("health", __name__, description="Operations probes")


class HealthOut(ma.Schema):
    status = ma.fields.String(metadata={"description": "ok"})


class ReadyChecks(ma.Schema):
    database = ma.fields.String(metadata={"description": "ok, or error: <kind>"})
    redis = ma.fields.String(metadata={"description": "ok, or error: <kind>"})


class ReadyOut(ma.Schema):
    status = ma.fields.String(metadata={"description": "ready or not_ready"})
    checks = ma.fields.Nested(ReadyChecks)


@blp.route("/healthz")
@blp.doc(security=[])
@blp.response(200, HealthOut)
def healthz():
    """The process is alive."""
    return {"status": "ok"}


@blp.route("/readyz")
@blp.doc(security=[])
@blp.response(200, ReadyOut)
@blp.alt_response(503, schema=ReadyOut, description="A dependency is unreachable")
def readyz():
    """The database and Redis answer."""
    checks = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        checks["database"] = f"error: {type(exc).__name__}"
    finally:
        try:
            db.session.rollback()
        except Exception:  # noqa: BLE001 - the connection is gone; the pool has dropped it
            db.session.close()
    try:
        redis_ext.connection.ping()
        checks["redis"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["redis"] = f"error: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    resp = jsonify(status="ready" if ready else "not_ready", checks=checks)
    resp.status_code = 200 if ready else 503
    return resp
