"""In-process builds import project code: undo that after each test so tests cannot see each other's modules."""

from __future__ import annotations

import sys

import pytest


@pytest.fixture(autouse=True)
def _forget_project_imports(tmp_path_factory: pytest.TempPathFactory):
    path, modules = list(sys.path), set(sys.modules)
    yield
    base = str(tmp_path_factory.getbasetemp())
    sys.path[:] = path
    for name in set(sys.modules) - modules:
        file = getattr(sys.modules[name], "__file__", None) or ""
        if name.startswith("assetbuild_project_") or file.startswith(base):
            del sys.modules[name]
