"""Environments deliver apart: a dev build's exports land under `out/dev/` (or wherever a
`{environment}` placeholder puts them), never over the default environment's, and the warehouse
shows dev's data in schema `dev`, never in `main`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
from test_lineage_backend_view import ORDERS_V2, write_project

from assetbuild.definitions.exports import parse_target
from assetbuild.deliver.exports import Exporter

ASSETBUILD = str(Path(sys.executable).parent / "assetbuild")


def parquet(path: Path, rows: list[int]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pl.DataFrame({"x": rows}).write_parquet(path)
    return path


def read(path: Path) -> list[int]:
    return pl.read_parquet(path)["x"].to_list()


def test_another_environment_exports_beside_the_default_one(tmp_path: Path) -> None:
    root, store = tmp_path / "proj", tmp_path / "proj" / ".assetbuild"
    store.mkdir(parents=True)
    target = parse_target("scored", "out/scored.parquet")
    default = Exporter(root, store)
    default.export("scored", target, parquet(tmp_path / "a.parquet", [1]), "h-default")
    default.save()

    dev = Exporter(root, store, "dev")
    assert dev.describe(target) == "out/dev/scored.parquet"
    assert dev.needed("scored", target, "h-dev")
    dev.export("scored", target, parquet(tmp_path / "b.parquet", [2]), "h-dev")
    dev.save()
    assert read(root / "out/scored.parquet") == [1]  # the default environment's, untouched
    assert read(root / "out/dev/scored.parquet") == [2]
    # each environment remembers its own exports: neither rewrites the other's next time
    assert not Exporter(root, store).needed("scored", target, "h-default")
    assert not Exporter(root, store, "dev").needed("scored", target, "h-dev")
    assert json.loads((store / "exports.json").read_text())["scored"]["target"] == "out/scored.parquet"
    assert (
        json.loads((store / "exports.dev.json").read_text())["scored"]["target"] == "out/dev/scored.parquet"
    )


def test_an_environment_placeholder_puts_every_environment_s_export_there(tmp_path: Path) -> None:
    root, store = tmp_path / "proj", tmp_path / "proj" / ".assetbuild"
    store.mkdir(parents=True)
    target = parse_target("scored", "exports/{environment}/scored.parquet")
    for env, rows in (("default", [1]), ("ci", [3])):
        Exporter(root, store, env).export("scored", target, parquet(tmp_path / f"{env}.parquet", rows), env)
    assert read(root / "exports/default/scored.parquet") == [1]
    assert read(root / "exports/ci/scored.parquet") == [3]


def cli_build(root: Path) -> dict[str, object]:
    env = {**os.environ, "OPENLINEAGE_DISABLED": "true"}
    r = subprocess.run(
        [ASSETBUILD, "--project", str(root), "build", "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    result: dict[str, object] = json.loads(r.stdout)
    return result


def scores(frame: pl.DataFrame) -> list[tuple[str, float]]:
    return sorted(frame.select("country", "score").rows())


def test_a_dev_build_leaves_the_default_environment_s_deliveries_alone(tmp_path: Path) -> None:
    root = write_project(tmp_path / "shop")
    cli_build(root)
    exported = root / "out/scored.parquet"
    default_scores = scores(pl.read_parquet(exported))

    toml = root / "assetbuild.toml"
    toml.write_text(toml.read_text().replace('name = "shop"', 'name = "shop"\nenvironment = "dev"'))
    (root / "data/orders.csv").write_text(ORDERS_V2)
    cli_build(root)

    conn = duckdb.connect(str(root / ".assetbuild/warehouse.duckdb"), read_only=True)
    try:
        main_view = scores(conn.sql("SELECT * FROM main.scored").pl())
        dev_view = scores(conn.sql("SELECT * FROM dev.scored").pl())
    finally:
        conn.close()
    assert main_view == default_scores != dev_view  # one schema per environment
    assert scores(pl.read_parquet(exported)) == default_scores
    assert scores(pl.read_parquet(root / "out/dev/scored.parquet")) == dev_view
