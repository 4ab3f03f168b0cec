"""The frozen definitions a project declares: assets of three kinds, and the project around them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any


class Kind(StrEnum):
    SOURCE = "source"
    PYTHON = "python"
    SQL = "sql"


@dataclass(frozen=True)
class AssetDef:
    """One named table and how it is made.

    `fingerprint` covers what the asset *does* (canonical SQL, normalised Python AST with its
    helpers, or a source's format and options); `config` holds only settings that change data.
    Descriptive metadata (description, tags, owner) never enters the build key.
    """

    name: str
    kind: Kind
    path: str  # project-relative file that defines it (assetbuild.toml for sources)
    line: int
    upstream: tuple[str, ...]
    fingerprint: str
    config: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    description: str | None = None
    tags: tuple[str, ...] = ()
    owner: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)  # the user's own
    # sql: the line each upstream table is named on (for errors that point at it)
    upstream_lines: dict[str, int] = field(default_factory=dict, hash=False, compare=False)
    retries: int = 0
    # python: the function name and which parameters want a LazyFrame
    function: str | None = None
    lazy_params: tuple[str, ...] = ()
    schema_model: str | None = None  # name of a pandera DataFrameModel in the asset's module
    export: str | None = None
    # sql: the query text as written
    sql: str | None = None
    # source: glob patterns (project-relative) and the reader's format and options
    patterns: tuple[str, ...] = ()
    format: str | None = None
    # an ordered table (a top-level ORDER BY, or @asset(ordered=True)): its row order is content
    ordered: bool = False
    # how long one run may take before it is stopped and fails (None: no limit)
    timeout_s: float | None = None
    # python: the parts the fingerprint is made of, each hashed ("helper _positive": ...), so
    # that a rebuild can name the part that changed; never part of the build key itself
    code_parts: dict[str, str] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class SourceFile:
    """One file a source reads, identified by its content hash."""

    path: str  # project-relative
    hash: str
    size: int


@dataclass(frozen=True)
class PythonCheck:
    """A `@check(asset=...)` function: returns a bool or the failing rows."""

    asset: str
    name: str
    path: str  # project-relative file
    function: str
    line: int
    severity: str
    description: str | None
    fingerprint: str


@dataclass(frozen=True)
class Project:
    """A loaded project: its assets in a valid DAG (no cycles, no unknown upstream)."""

    root: Path
    name: str
    assets: dict[str, AssetDef]
    downstream: dict[str, tuple[str, ...]]
    order: tuple[str, ...]  # a topological order
    exports: dict[str, Any] = field(default_factory=dict)  # asset -> path or {path, partition_by}
    lineage: dict[str, Any] = field(default_factory=dict)
    environment: str = "default"
    dialect: str = "duckdb"  # the SQL dialect assets are written in
    jobs: int | None = None  # [build] jobs: assets run at once (default: the cores)
    python_checks: dict[str, tuple[PythonCheck, ...]] = field(default_factory=dict)
    timeout_s: float | None = None  # [build] timeout: the whole build's
    memory_limit: int | None = None  # [build] memory_limit in bytes

    @property
    def store_dir(self) -> Path:
        return self.root / ".assetbuild"
