"""The allowed import directions (pyproject's import-linter contracts) hold: a pure ledger, domains below the
translators, no cycles. `make lint` runs the same check; this keeps it in the suite as well."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept(monkeypatch):
    lint_imports = pytest.importorskip("importlinter.cli").lint_imports
    monkeypatch.chdir(ROOT)
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0


def test_registries_are_declared_not_discovered():
    """No package scan fills a registry: who handles a topic, a cron slot or a tab is found by reading one list."""
    sources = [p for p in (ROOT / "timebank").rglob("*.py")]
    offenders = [str(p.relative_to(ROOT)) for p in sources
                 if "pkgutil" in p.read_text(encoding="utf-8") or "import_module(" in p.read_text(encoding="utf-8")]
    assert offenders == []
