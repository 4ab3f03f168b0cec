"""Lineage stays out of the way: importing it, or building with it disabled, loads nothing heavy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ("openlineage", "sqlglot", "polars", "duckdb", "requests", "yaml")


def loaded_after(code: str, cwd: Path, env: dict[str, str] | None = None) -> list[str]:
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=cwd, env=env
    ).stdout
    return [m for m in json.loads(out.splitlines()[-1]) if m in HEAVY]


def test_importing_the_lineage_package_and_listener_is_light(tmp_path: Path) -> None:
    assert (
        loaded_after(
            "import assetbuild.lineage, assetbuild.lineage.listener, assetbuild.lineage.outbox", tmp_path
        )
        == []
    )


def test_a_disabled_listener_imports_nothing_heavy(tmp_path: Path) -> None:
    import os

    tests = Path(__file__).resolve().parent
    code = (
        f"import sys; sys.path.insert(0, {str(tests)!r})\n"
        "from pathlib import Path\n"
        "from lineage_support import make_project, new_id\n"
        "from assetbuild.lineage.listener import OpenLineageListener\n"
        "from assetbuild.model.results import BuildResult\n"
        f"p = make_project(Path({str(tmp_path)!r}))\n"
        "l = OpenLineageListener(p, new_id())\n"
        "l.build_started(p, l.run_id, [])\n"
        "l.build_finished(p, BuildResult(l.run_id, []))\n"
        "assert not (p.root / '.assetbuild').exists()\n"
    )
    env = {**os.environ, "OPENLINEAGE_DISABLED": "true"}
    assert loaded_after(code, tmp_path, env) == []


def test_every_lazy_entry_point_of_the_lineage_package_resolves() -> None:
    import assetbuild.lineage as lineage

    for name in lineage.__all__:
        assert getattr(lineage, name) is not None, name
