"""The layering rules (docs/architecture.md §Layers): nothing outside ui/ loads textual; each layer
imports only what it may (the import-linter contracts in pyproject.toml check the same
statically)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

NON_UI_MODULES = [
    "exact_tui.domain.states",
    "exact_tui.domain.money",
    "exact_tui.domain.text",
    "exact_tui.domain.vat",
    "exact_tui.store.engine",
    "exact_tui.store.models",
    "exact_tui.secret_store",
    "exact_tui.config",
    "exact_tui.services.jobs",
    "exact_tui.services.status",
    "exact_tui.services.doctor",
    "exact_tui.services.ingest",
    "exact_tui.sandbox",
    "exact_tui.cli",
]

PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'exact_tui'))))
"""


def _loaded(module: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, module], capture_output=True, text=True, check=True
    )
    return list(json.loads(out.stdout))


@pytest.mark.parametrize("module", NON_UI_MODULES)
def test_textual_never_loads_outside_ui(module: str) -> None:
    loaded = _loaded(module)
    assert module in loaded  # the probe really imported it
    assert not [m for m in loaded if m.startswith("textual")]


@pytest.mark.parametrize("module", ["exact_tui.domain.states", "exact_tui.domain.vat"])
def test_domain_imports_nothing_of_the_project(module: str) -> None:
    project = [m for m in _loaded(module) if m.startswith("exact_tui.")]
    assert all(m.startswith("exact_tui.domain") for m in project), project


def test_store_imports_only_domain() -> None:
    project = [m for m in _loaded("exact_tui.store.engine") if m.startswith("exact_tui.")]
    assert all(m.startswith(("exact_tui.domain", "exact_tui.store")) for m in project), project
