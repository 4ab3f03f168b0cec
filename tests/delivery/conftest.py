"""In-process calls never talk to a lineage backend, and forget the project modules they imported."""

from __future__ import annotations

import sys

import pytest


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory):
    monkeypatch.setenv("OPENLINEAGE_DISABLED", "true")
    path, modules = list(sys.path), set(sys.modules)
    yield
    base = str(tmp_path_factory.getbasetemp())
    sys.path[:] = path
    for name in set(sys.modules) - modules:
        file = getattr(sys.modules[name], "__file__", None) or ""
        if name.startswith("assetbuild_project_") or file.startswith(base):
            del sys.modules[name]
