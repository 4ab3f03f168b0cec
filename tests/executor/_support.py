"""Helpers for the executor tests: in-process builds and frames written as Parquet sources."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import polars as pl

from assetbuild.model.results import BuildResult
from assetbuild.run.build import build


def run(root: Path, **kwargs: Any) -> BuildResult:
    return build(root, lineage=False, jobs=kwargs.pop("jobs", 1), **kwargs)


def statuses(result: BuildResult) -> dict[str, str]:
    return {a.name: a.status.value for a in result.assets}


def hashes(result: BuildResult) -> dict[str, str | None]:
    return {a.name: a.content_hash for a in result.assets}


def errors(result: BuildResult) -> dict[str, str]:
    return {a.name: a.error or "" for a in result.assets if a.error}


def parquet_source_toml(*names: str) -> str:
    lines = ['[project]\nname = "p"\n']
    for n in names:
        lines.append(f'[sources.{n}]\npath = "data/{n}.parquet"\n')
    return "\n".join(lines)


def write_source(root: Path, name: str, df: pl.DataFrame) -> None:
    (root / "data").mkdir(parents=True, exist_ok=True)
    df.write_parquet(root / "data" / f"{name}.parquet")


def clean_hashes(root: Path, dest: Path) -> dict[str, str | None]:
    """Content hashes of a forced build of a copy of `root` without its store."""
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(root, dest, ignore=shutil.ignore_patterns(".assetbuild"))
    result = run(dest, force=True)
    assert result.ok, errors(result)
    return hashes(result)
