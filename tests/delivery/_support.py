"""Helpers for the delivery tests: what the warehouse, the store and `show` say about an asset."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, NamedTuple

import duckdb
import polars as pl

from assetbuild.executor.content import content_hash

ASSETBUILD = str(Path(sys.executable).with_name("assetbuild"))


class Result(NamedTuple):
    code: int
    stdout: str
    stderr: str
    json: Any

    def __str__(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


def cli(root: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    """`assetbuild --project ROOT ARGS...` in a subprocess, lineage off (like tests/conftest.py)."""
    full_env = {**os.environ, "OPENLINEAGE_DISABLED": "true", **(env or {})}
    full_env.pop("ASSETBUILD_DEBUG", None)
    p = subprocess.run(
        [ASSETBUILD, "--project", str(root), *args], capture_output=True, text=True, env=full_env, timeout=120
    )
    try:
        parsed = json.loads(p.stdout) if p.stdout.strip() else None
    except ValueError:
        parsed = None
    return Result(p.returncode, p.stdout, p.stderr, parsed)


def warehouse(root: Path) -> Path:
    return root / ".assetbuild" / "warehouse.duckdb"


def warehouse_views(root: Path) -> dict[str, pl.DataFrame]:
    """Every view of the warehouse (main schema) as a DataFrame, read through a read-only connection."""
    conn = duckdb.connect(str(warehouse(root)), read_only=True)
    try:
        names = [
            r[0]
            for r in conn.sql(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1"
            ).fetchall()
        ]
        return {n: conn.sql(f'SELECT * FROM "{n}"').pl() for n in names}
    finally:
        conn.close()


def rows(df: pl.DataFrame) -> list[tuple[Any, ...]]:
    """The rows as a sorted list (content, not order)."""
    return sorted(df.rows(), key=repr)


def show_json(root: Path, asset: str, *args: str) -> dict[str, Any]:
    r = cli(root, "show", asset, "--format", "json", *args)
    assert r.code == 0 and isinstance(r.json, dict), str(r)
    return r.json


def build(root: Path, *args: str, code: int = 0) -> dict[str, Any]:
    r = cli(root, "build", "--format", "json", *args)
    assert r.code == code and isinstance(r.json, dict), str(r)
    return r.json


def statuses(result: dict[str, Any]) -> dict[str, str]:
    return {a["name"]: a["status"] for a in result["assets"]}


def assert_warehouse_current(root: Path, assets: list[str], step: str) -> dict[str, pl.DataFrame]:
    """Each asset's warehouse view holds exactly its current data: the object `show --format json`
    names, what `assetbuild.read` returns, and the current content hash. Returns the views."""
    import assetbuild

    views = warehouse_views(root)
    assert sorted(views) == sorted(assets), f"{step}: warehouse views {sorted(views)}"
    for i, name in enumerate(sorted(assets)):
        cur = assetbuild.show(root, name)["current"]  # what `show --format json` prints ...
        if i == 0:  # ... as the CLI shows (once per step: each CLI call costs a process)
            assert show_json(root, name)["current"] == cur, f"{step}: show --format json for {name}"
        assert cur is not None, f"{step}: {name} has no current materialization"
        stored = pl.read_parquet(cur["object"])
        read = assetbuild.read(name, project=root)
        view = views[name]
        assert view.columns == stored.columns == read.columns, f"{step}: {name} columns"
        assert rows(view) == rows(stored) == rows(read), f"{step}: {name}: view and current differ"
        assert content_hash(read) == cur["content_hash"], f"{step}: {name}: read() hash"
        assert content_hash(view) == cur["content_hash"], f"{step}: {name}: warehouse hash"
    return views


def leftovers(*roots: Path) -> list[str]:
    """Temporary files of atomic writes that should never outlive a build."""
    found = []
    for root in roots:
        for p in root.rglob("*"):
            if (
                "assetbuild-tmp" in p.name
                or "assetbuild-old" in p.name
                or p.name.endswith((".tmp", ".tmp.wal"))
            ):
                found.append(str(p.relative_to(root)))
    return found


def write_files(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root
