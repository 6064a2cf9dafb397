"""The bulk import's pages, shared by the console (an admin's import) and the employer portal (its own members):
upload → preview (counts, errors per row) → choose the mode → import → result.

Between the preview and the import the file waits in Redis for 30 minutes, under a random token and bound to the
person who uploaded it, so the import checks and writes exactly what was previewed without a second upload."""

from __future__ import annotations

import secrets

from flask import current_app, flash, request

from timebank import labels
from timebank.errors import DomainError, InvalidInput
from timebank.extensions import db, redis_ext
from timebank.joining import imports
from timebank.messages import describe
from timebank.pages import page_actor, run_action

UPLOAD_TTL_SECONDS = 30 * 60


def _key(token: str) -> str:
    return f"joining:upload:{page_actor().person_id}:{token}"


def _keep(data: bytes, name: str) -> str:
    token = secrets.token_urlsafe(16)
    redis_ext.connection.hset(_key(token), mapping={"data": data, "name": name.encode()})
    redis_ext.connection.expire(_key(token), UPLOAD_TTL_SECONDS)
    return token


def _kept(token: str) -> tuple[bytes, str]:
    found = redis_ext.connection.hgetall(_key(token)) if token and token.isascii() and len(token) < 64 else {}
    if not found:
        raise InvalidInput("import_upload_expired")
    return found[b"data"], found[b"name"].decode()


def handle(employer_id: int | None = None) -> dict:
    """The template's variables for the import page: a preview after an upload, a result after an import."""
    out = {"headers": list(labels.IMPORT_HEADERS.values()), "modes": labels.IMPORT_MODES, "preview": None,
           "result": None, "token": None, "max_rows": imports.MAX_ROWS, "max_mb": imports.MAX_BYTES // 2**20}
    if request.method != "POST":
        return out
    key = current_app.config["ID_NUMBER_HASH_KEY"]
    if request.form.get("action") == "commit":
        token = request.form.get("token", "")
        mode = request.form.get("mode", "")

        def commit():
            data, name = _kept(token)
            return imports.commit(db.session, page_actor(), data, name, mode=mode, id_number_key=key,
                                  employer_id=employer_id)

        result = run_action(commit)
        if result is not None:
            redis_ext.connection.delete(_key(token))
            flash(f"导入完成：新增 {result.batch.created} 人，已存在未变 {result.batch.unchanged} 人，"
                  f"未导入 {result.batch.refused} 行。", "ok")
            out["result"] = result
        return out
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("请选择要上传的 Excel 或 CSV 文件。", "error")
        return out
    data = upload.read(imports.MAX_BYTES + 1)
    try:
        checked = imports.preview(db.session, page_actor(), data, upload.filename, id_number_key=key,
                                  employer_id=employer_id)
    except DomainError as exc:
        db.session.rollback()
        flash(describe(exc), "error")
        return out
    db.session.rollback()
    out["preview"] = checked
    out["token"] = _keep(data, checked.file_name)
    return out
