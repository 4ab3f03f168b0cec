"""DESIGN §7 (fast no-op): deciding that nothing changed imports no heavy library and no user code.

Each command runs under `python -X importtime`, which lists every module the process imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .projects import BY_USER, CLEAN, PIPELINE

HEAVY = {"polars", "pyarrow", "duckdb", "pandera", "openlineage", "sqlglot", "pandas", "numpy"}
ASSETBUILD = str(Path(sys.executable).with_name("assetbuild"))


def imported(root: Path, *args: str) -> set[str]:
    """Top-level names of the modules `assetbuild ARGS` imports; asserts it succeeded."""
    p = subprocess.run(
        [sys.executable, "-X", "importtime", ASSETBUILD, "--project", str(root), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "OPENLINEAGE_DISABLED": "true"},
        timeout=120,
    )
    lines = p.stderr.splitlines()
    timing = [ln for ln in lines if ln.startswith("import time:")]
    assert p.returncode == 0, p.stdout + "\n".join(ln for ln in lines if ln not in timing)
    assert timing, "no -X importtime output"
    return {ln.rsplit("|", 1)[-1].strip().split(".")[0] for ln in timing}


def user_modules(mods: set[str]) -> set[str]:
    # asset files are loaded by path (not logged by -X importtime); the project module they
    # import, `limits`, goes through the import system and is logged
    return {m for m in mods if m.startswith("assetbuild_project") or m in ("clean", "limits")}


def _built_project(root: Path, run_cli) -> Path:
    files = {**PIPELINE, "assets/limits.py": "LIMIT = 0\n"}
    files["assets/clean.py"] = CLEAN.replace("LIMIT = 0\n", "from limits import LIMIT\n")
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    r = run_cli(root, "build")
    assert r.code == 0, r
    return root


@pytest.fixture(scope="module")
def unchanged(tmp_path_factory, run_cli) -> Path:
    """A built project that the tests using it never edit."""
    return _built_project(tmp_path_factory.mktemp("noop"), run_cli)


@pytest.fixture
def built(tmp_path, run_cli) -> Path:
    return _built_project(tmp_path, run_cli)


def test_the_probe_sees_heavy_imports(built):
    """The test can fail: a build that runs an asset does import polars, and one that runs a
    `@check` imports the user's module (Python assets themselves run in worker processes)."""
    (built / "assets/by_user.sql").write_text(BY_USER.replace("sum(amount)", "max(amount)"))
    (built / "assets/limits.py").write_text("LIMIT = 1\n")
    (built / "assets/checks.py").write_text(
        "from assetbuild import check\nfrom limits import LIMIT\n\n\n"
        "@check(asset='clean')\ndef has_rows(clean):\n    return clean.height >= LIMIT\n"
    )
    mods = imported(built, "build")
    assert {"polars", "duckdb", "sqlglot"} <= mods
    assert "limits" in user_modules(mods), "the @check ran and imported its project module"


def test_python_assets_run_outside_the_build_process(built):
    """clean.py runs (it imports limits) in a worker: the build's own process never imports it."""
    (built / "assets/limits.py").write_text("LIMIT = 1\n")
    p = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            ASSETBUILD,
            "--project",
            str(built),
            "build",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "OPENLINEAGE_DISABLED": "true"},
        timeout=120,
    )
    assert p.returncode == 0, p.stderr[-2000:]
    statuses = {a["name"]: a["status"] for a in json.loads(p.stdout)["assets"]}
    assert statuses["clean"] == "built", statuses
    mods = {
        ln.rsplit("|", 1)[-1].strip().split(".")[0]
        for ln in p.stderr.splitlines()
        if ln.startswith("import time:")
    }
    assert mods, "no -X importtime output"
    assert not user_modules(mods)


@pytest.mark.parametrize(
    "command", [("plan",), ("build",), ("plan", "--format", "json"), ("build", "-j", "2")]
)
def test_noop_imports_nothing_heavy(unchanged, command):
    mods = imported(unchanged, *command)
    assert not (mods & HEAVY), (
        f"`{' '.join(command)}` on an unchanged project imported {sorted(mods & HEAVY)}"
    )
    assert not user_modules(mods)


def test_formatting_only_sql_edit_imports_no_data_library(built, run_cli):
    (built / "assets/by_user.sql").write_text(
        "-- per user\nSELECT user_id,\n       SUM(amount) AS total,\n       COUNT(*) AS n\nFROM clean\nGROUP BY user_id;\n"
    )
    mods = imported(built, "build")
    assert "sqlglot" in mods, "the edited file is parsed again"
    assert not (mods & {"polars", "pyarrow", "duckdb", "pandera", "openlineage", "pandas"})
    assert not user_modules(mods)
    r = run_cli(built, "build", "--format", "json")
    assert r.json["summary"] == {"up_to_date": 6}
    assert not (imported(built, "build") & HEAVY), "the new parse is cached"


def test_comment_only_python_edit_imports_no_user_code(built):
    (built / "assets/clean.py").write_text(
        "# cleaning\n" + CLEAN.replace("LIMIT = 0\n", "from limits import LIMIT  # shared\n")
    )
    (built / "assets/limits.py").write_text('"""Thresholds."""\nLIMIT = 0  # zero\n')
    mods = imported(built, "build")
    assert not (mods & HEAVY)
    assert not user_modules(mods)


def test_noop_with_sql_and_expression_rules_imports_no_sqlglot(tmp_path, run_cli):
    root = _built_project(tmp_path, run_cli)
    (root / "rules").mkdir()
    (root / "rules/by_user.yaml").write_text(
        "asset: by_user\ntable:\n  sql: SELECT * FROM by_user WHERE n < 0\n"
        "  expression: {expression: 'total = total', severity: warn}\n"
    )
    assert run_cli(root, "build").code == 0  # the rules are parsed (and cached) once here
    assert not imported(root, "build") & HEAVY
    (root / "rules/by_user.yaml").write_text(
        "asset: by_user\ntable:\n  sql: SELECT * FROM by_user WHERE n < -1\n"
    )
    assert "sqlglot" in imported(root, "build"), "an edited rule file is parsed again"


def test_noop_of_a_project_without_rules_imports_no_yaml_and_no_network(unchanged):
    """Each of these crept onto the no-op path once (a package __init__, a transport module)."""
    assert not imported(unchanged, "build") & {"yaml", "socket", "tempfile", "openlineage"}
