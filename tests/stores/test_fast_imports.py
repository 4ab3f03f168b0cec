"""The fast tier (`make test-fast`) stays fast: the store protocols, the in-memory stores, the
decision core and these tests load neither polars nor duckdb."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ("polars", "duckdb")
REPO = Path(__file__).resolve().parents[2]

PROBE = """
import importlib, json, pkgutil, sys
import assetbuild.core
names = ["assetbuild.trace.protocols", "assetbuild.trace.memory"]
names += ["assetbuild.core." + m.name for m in pkgutil.iter_modules(assetbuild.core.__path__)]
names += sys.argv[1:]
for name in names:
    importlib.import_module(name)
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(%r))
print(json.dumps({"imported": names, "heavy": heavy}))
"""


def _probe(*extra: str) -> dict[str, list[str]]:
    p = subprocess.run(
        [sys.executable, "-c", PROBE % (HEAVY,), *extra],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    out: dict[str, list[str]] = json.loads(p.stdout)
    return out


def test_protocols_memory_stores_and_core_load_no_data_library() -> None:
    out = _probe()
    assert "assetbuild.core.rebuilder" in out["imported"]  # the core modules were found
    assert out["heavy"] == []


def test_the_fast_tier_tests_load_no_data_library() -> None:
    tests = sorted(f"tests.stores.{p.stem}" for p in Path(__file__).parent.glob("test_*.py"))
    assert "tests.stores.test_store_contract" in tests
    out = _probe("assetbuild.trace.state", "assetbuild.trace.objects", "assetbuild.run.gc", *tests)
    assert out["heavy"] == []


def test_the_probe_sees_a_data_library_when_one_loads() -> None:
    out = _probe("json", "duckdb")  # a probe that cannot fail would prove nothing
    assert out["heavy"] == ["duckdb"]
