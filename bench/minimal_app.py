"""The reference endpoint for HTTP benchmarks: a minimal Flask + Flask-SQLAlchemy app whose one POST inserts a
row and commits, and whose one GET counts the rows. Served by gunicorn exactly like timebank, it shows what
this machine can do per request.

    BENCH_DATABASE_URL=postgresql+psycopg://... gunicorn -w 4 bench.minimal_app:app
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from flask import Flask, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class BenchHit(Base):
    __tablename__ = "bench_hit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    note: Mapped[str] = mapped_column(String(60))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("BENCH_DATABASE_URL", "sqlite:////tmp/minimal.db")
    db.init_app(app)

    @app.post("/hit")
    def hit():
        body = request.get_json(silent=True) or {}
        row = BenchHit(note=str(body.get("note", ""))[:60], at=datetime.now(UTC))
        db.session.add(row)
        db.session.commit()
        return {"id": row.id}, 201

    @app.get("/read")
    def read():
        return {"rows": db.session.query(BenchHit).count()}

    with app.app_context():
        db.create_all()
        db.engine.dispose()  # no connection inherited across gunicorn's fork
    return app


app = create_app()
