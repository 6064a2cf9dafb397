"""HTTP API: one flask-smorest blueprint module per resource, discovered and registered here."""

from __future__ import annotations

import importlib
import pkgutil

from flask import Flask

_NOT_RESOURCES = {"base", "auth", "docs", "errors", "pagination", "transaction", "schemas", "fields"}


def register_blueprints(app: Flask, api) -> None:
    package = importlib.import_module(__name__)
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name in _NOT_RESOURCES or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        blp = getattr(module, "blp", None)
        if blp is not None:
            api.register_blueprint(blp)
