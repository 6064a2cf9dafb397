"""Extensions are app-free globals, initialised in one fixed order by `create_app`."""

from __future__ import annotations

import redis
from flask import Flask, current_app
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from timebank.db_base import Base, include_object
from timebank.redis_conn import connect

db = SQLAlchemy(model_class=Base, disable_autonaming=True)
migrate = Migrate(compare_type=True, render_as_batch=True, include_object=include_object)


class RedisExtension:
    """Lazily opens the app's Redis connection; tests swap `app.extensions['redis']` to simulate an outage."""

    def init_app(self, app: Flask) -> None:
        app.extensions["redis"] = None

    @property
    def connection(self) -> redis.Redis:
        app = current_app._get_current_object()
        conn = app.extensions.get("redis")
        if conn is None:
            conn = connect(app.config["REDIS_URL"], app.config["REDIS_EMBEDDED_PATH"])
            app.extensions["redis"] = conn
        return conn


redis_ext = RedisExtension()
