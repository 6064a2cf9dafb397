"""Serve Swagger UI's assets from the installed package, so the docs page needs no third-party host."""

from __future__ import annotations

from flask import Flask, send_from_directory


def register_docs_assets(app: Flask) -> None:
    import swagger_ui_bundle

    folder = swagger_ui_bundle.swagger_ui_path

    @app.get("/api/swagger-ui/<path:filename>")
    def swagger_ui_asset(filename: str):
        return send_from_directory(folder, filename, max_age=86400)
