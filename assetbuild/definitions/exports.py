"""Export targets as the project states them (`[exports]`, `@asset(export=...)`): path, format,
table, partitioning. Checked when the project loads; written by deliver/exports.py."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assetbuild.errors import ProjectError


@dataclass(frozen=True)
class ExportTarget:
    path: str  # project-relative
    kind: str  # parquet | csv | folder | duckdb
    table: str | None = None
    partition_by: tuple[str, ...] = ()

    def describe(self) -> str:
        return f"{self.path}#{self.table}" if self.table else self.path

    def record_entry(self, content_hash: str) -> dict[str, Any]:
        """What exports.json remembers: a change of any of it (data, path, format, partitioning)
        means the export must be written again."""
        return {
            "content_hash": content_hash,
            "target": self.describe(),
            "kind": self.kind,
            "partition_by": list(self.partition_by),
        }


def parse_target(asset: str, spec: Any) -> ExportTarget:
    if isinstance(spec, dict):
        path = spec.get("path")
        partition = spec.get("partition_by", ())
        if isinstance(partition, str):
            partition = (partition,)
        if not isinstance(path, str):
            raise ProjectError(f"export of '{asset}' needs a path", "assetbuild.toml")
        if not isinstance(partition, (list, tuple)) or not all(isinstance(c, str) and c for c in partition):
            raise ProjectError(
                f"export of '{asset}': partition_by must be a column name or a list of them",
                "assetbuild.toml",
            )
        if partition:  # a partitioned export is always a folder, whatever the path looks like
            return ExportTarget(path.rstrip("/"), "folder", None, tuple(partition))
        return parse_target(asset, path)
    if not isinstance(spec, str):
        raise ProjectError(f"export of '{asset}' must be a path or a table", "assetbuild.toml")
    if "#" in spec:
        path, table = spec.split("#", 1)
        return ExportTarget(path, "duckdb", table or asset)
    lower = spec.lower()
    if lower.endswith((".duckdb", ".db")):
        return ExportTarget(spec, "duckdb", asset)
    if lower.endswith(".csv"):
        return ExportTarget(spec, "csv")
    if lower.endswith((".parquet", ".pq")):
        return ExportTarget(spec, "parquet")
    if spec.endswith("/"):
        return ExportTarget(spec.rstrip("/"), "folder")
    raise ProjectError(
        f"export of '{asset}' to '{spec}': cannot tell the format",
        "assetbuild.toml",
        hint="end the path in .parquet, .csv, .duckdb (or 'file.duckdb#table'), or '/' for a folder",
    )


def check_export_target(
    asset: str, spec: Any, file: str, line: int | None = None, col: int | None = None
) -> None:
    """An export target, parsed and kept inside the project and out of its store; a mistake
    names `file` (assetbuild.toml, or the decorator's file) and where in it."""
    try:
        path = parse_target(asset, spec).path
    except ProjectError as e:
        raise ProjectError(e.message, file, line or e.line, col or e.col, hint=e.hint) from None
    normal = os.path.normpath(path)
    if Path(path).is_absolute() or normal == ".." or normal.startswith("../"):
        raise ProjectError(
            f"export of '{asset}' to '{path}' leaves the project",
            file,
            line,
            col,
            hint="export paths are relative to the project folder",
        )
    if normal in (".", ".assetbuild") or normal.startswith(".assetbuild/"):
        raise ProjectError(
            f"export of '{asset}' to '{path}' would overwrite the project folder or its store",
            file,
            line,
            col,
            hint=f"export to a file or folder of its own, e.g. out/{asset}.parquet",
        )
