"""One error vocabulary: every code a raise names is in `timebank.messages.MESSAGES`, every template formats with the
parameters the raise passes, and the templates read as Chinese for people (no English, no internal ids)."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

import timebank
from timebank import errors
from timebank.ledger import errors as ledger_errors
from timebank.messages import HTTP_CODES, MESSAGES, describe, key_of, render

SOURCE = Path(timebank.__file__).parent
NOT_PARAMS = {"variant", "status", "title"}
PROBLEM_MEMBERS = {"type", "code", "detail", "instance", "request_id", "errors"}


def _error_classes() -> dict[str, type]:
    found, todo = {}, [errors.TimebankError, ledger_errors.LedgerError]
    while todo:
        cls = todo.pop()
        found[cls.__name__] = cls
        todo.extend(cls.__subclasses__())
    return found


CLASSES = _error_classes()


def _name(func: ast.expr) -> str | None:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def _fields(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}


def _check(key: str, given: set[str] | None, where: str) -> list[str]:
    if key not in MESSAGES:
        return [f"{where}: {key!r} is not in timebank/messages.py"]
    if given is not None and not _fields(MESSAGES[key]) <= given:
        return [f"{where}: {key!r} needs {sorted(_fields(MESSAGES[key]) - given)}"]
    return []


def problems_in(source: str, where: str) -> tuple[list[str], int]:
    """The raises in `source` whose code (and variant) is missing from the table or whose template needs a
    parameter the raise does not pass; and how many error constructions were checked."""
    found, checked = [], 0
    tree = ast.parse(source)
    renders = any(isinstance(n, ast.ImportFrom) and n.module == "timebank.messages"
                  and any(alias.name == "render" for alias in n.names) for n in ast.walk(tree))
    helper = {id(n) for d in ast.walk(tree) if isinstance(d, ast.FunctionDef) and d.name == "get_or_404"
              for n in ast.walk(d)}  # the helper raises the code its caller names (checked at the call)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or id(node) in helper:
            continue
        name = _name(node.func)
        at = f"{where}:{node.lineno}"
        keywords = {k.arg: k.value for k in node.keywords}
        if name in CLASSES:
            checked += 1
            if node.args:
                first = node.args[0]
                if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                    found.append(f"{at}: the code must be a literal string")
                    continue
                code = first.value
            else:
                code = CLASSES[name].code
            variant = keywords.get("variant")
            if variant is not None and not isinstance(variant, ast.Constant):
                found.append(f"{at}: the variant must be a literal string")
                continue
            given = None if None in keywords else set(keywords) - NOT_PARAMS
            if given and given & PROBLEM_MEMBERS:  # parameters are members of the problem body too
                found.append(f"{at}: parameter {sorted(given & PROBLEM_MEMBERS)} would hide a problem member")
            found += _check(key_of(code, variant.value if variant is not None else None), given, at)
        elif name == "get_or_404":
            checked += 1
            code = node.args[3] if len(node.args) > 3 else keywords.get("code")
            if not (isinstance(code, ast.Constant) and isinstance(code.value, str)):
                found.append(f"{at}: get_or_404 names its code as a literal string")
                continue
            found += _check(code.value, set(), at)
        elif name == "render" and renders and node.args and isinstance(node.args[0], ast.Constant):
            found += _check(node.args[0].value, None, at)
    return found, checked


def test_every_raise_names_a_code_in_the_table():
    found, checked = [], 0
    for path in sorted(SOURCE.rglob("*.py")):
        more, n = problems_in(path.read_text(encoding="utf-8"), str(path.relative_to(SOURCE.parent)))
        found += more
        checked += n
    assert checked > 250  # the walk really sees the raises
    assert found == []


def test_the_walk_catches_a_code_missing_from_the_table():
    source = ('raise NotFound("no_such_code_anywhere")\n'
              'raise InvalidInput("task_too_long")\n'
              'raise Forbidden("out_of_scope", variant="no_such_variant")\n'
              'get_or_404(session, Task, 1, "no_such_code_either")\n'
              'raise InvalidInput(f"task_{x}")\n')
    found, checked = problems_in(source, "example")
    assert checked == 5
    assert len(found) == 5


def test_http_level_codes_have_messages():
    for code in set(HTTP_CODES.values()) | {"malformed_json", "database_unavailable", "http_error"}:
        assert code in MESSAGES


# Latin allowed in a message: names of formats and headers, and what a person types (2025-H1, 2025-Q1).
_ALLOWED_LATIN = re.compile(r"API|JSON|CSV|UTF-8|MB|Idempotency-Key|-H1|-Q1")


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_templates_are_chinese_and_format(key):
    template = MESSAGES[key]
    assert re.search(r"[\u4e00-\u9fff]", template), key
    assert not re.search(r"[A-Za-z]", _ALLOWED_LATIN.sub("", re.sub(r"\{\w+\}", "", template))), key
    fields = _fields(template)
    assert not any(f == "id" or f.endswith("_id") for f in fields), key  # no internal ids
    assert template.format_map(dict.fromkeys(fields, 7))
    code, _, variant = key.partition(".")
    assert code in MESSAGES, key  # a variant refines a code that has its own message


def test_errors_compute_detail_from_the_table():
    exc = errors.RuleViolation("daily_cap_reached", daily_minutes_cap=480)
    assert exc.code == "daily_cap_reached" and exc.status == 422
    assert exc.detail == MESSAGES["daily_cap_reached"].format(daily_minutes_cap=480)
    assert exc.extra == {"daily_minutes_cap": 480}
    assert errors.Forbidden("out_of_scope", variant="person").detail == MESSAGES["out_of_scope.person"]
    assert errors.NotFound().detail == MESSAGES["not_found"]


def test_ledger_errors_are_rendered_by_the_translators():
    exc = ledger_errors.InsufficientFunds(variant="shortfall", account_id=8, shortfall=30)
    assert exc.code == "insufficient_funds"
    assert describe(exc) == MESSAGES["insufficient_funds.shortfall"].format(shortfall=30)
    assert "8" not in describe(exc)
    assert describe(ledger_errors.InvalidAmount("same_account")) == MESSAGES["same_account"]


def test_a_missing_parameter_falls_back_to_the_plain_message():
    assert render("insufficient_funds", "shortfall", {}) == MESSAGES["insufficient_funds"]
    assert render("no_such_code") == MESSAGES["http_error"]


def test_api_detail_is_the_tables_message(client):
    resp = client.get("/api/me")
    assert resp.status_code == 401
    assert resp.json["code"] == "auth_required"
    assert resp.json["detail"] == MESSAGES["auth_required"]
    resp = client.post("/api/auth/token", data=b'{"phone": "1",', content_type="application/json")
    assert resp.json["code"] == "malformed_json"
    assert resp.json["detail"] == MESSAGES["malformed_json"]
