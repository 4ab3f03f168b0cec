"""The executors that run on this machine: source files, SQL on the embedded DuckDB, Python.

Each returns its result through `stage`: content hash, then Parquet in staging. They are built by
`local_executors`, the registry a build and `assetbuild test` both use.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assetbuild.executor.protocol import Executors, InputRef, StagedOutput
from assetbuild.model.assets import AssetDef, Kind, Project, SourceFile

if TYPE_CHECKING:
    from assetbuild.executor.python import ModuleLoader
    from assetbuild.executor.sql import SqlEngine

EMBEDDED_ENGINE = "duckdb"


def stage(frame: Any, staged: Path, ordered: bool = False) -> StagedOutput:
    """Hash and write an asset's table; an ordered table's hash covers its row order."""
    from assetbuild.executor.content import content_hash, schema_of, write_parquet

    digest = content_hash(frame, ordered=ordered)
    write_parquet(frame, staged)
    return StagedOutput(staged, digest, frame.height, schema_of(frame), frame)


class SourceFiles:
    """A source's files, as observed by the build; its inputs are the files (`file:PATH`)."""

    def __init__(self, project: Project) -> None:
        self.project = project

    def run(self, asset: AssetDef, inputs: Mapping[str, InputRef], staged: Path) -> StagedOutput:
        from assetbuild.executor.source import read_source

        files = tuple(SourceFile(n.removeprefix("file:"), r.content_hash, 0) for n, r in inputs.items())
        return stage(read_source(self.project.root, asset, files), staged)

    def close(self) -> None:
        pass


class EmbeddedDuckDB:
    """SQL assets on one in-process DuckDB shared by the build (a cursor per asset)."""

    def __init__(self, dialect: str, readable: Sequence[Path]) -> None:
        from assetbuild.executor.sql import SqlEngine

        self.dialect = dialect
        self.engine: SqlEngine = SqlEngine(readable=readable)

    def run(self, asset: AssetDef, inputs: Mapping[str, InputRef], staged: Path) -> StagedOutput:
        return stage(self.engine.run(asset, {n: r.path for n, r in inputs.items()}), staged, asset.ordered)

    def close(self) -> None:
        self.engine.close()


class PythonFunctions:
    """Python assets in this process, their modules imported once per build."""

    def __init__(self, root: Path) -> None:
        from assetbuild.executor.python import ModuleLoader

        self.loader: ModuleLoader = ModuleLoader(root)

    def run(self, asset: AssetDef, inputs: Mapping[str, InputRef], staged: Path) -> StagedOutput:
        from assetbuild.executor.python import run_python

        return stage(
            run_python(asset, self.loader, {n: r.path for n, r in inputs.items()}), staged, asset.ordered
        )

    def close(self) -> None:
        pass


def engine_of(asset: AssetDef) -> str:
    if asset.kind is Kind.SOURCE:
        return "files"
    if asset.kind is Kind.PYTHON:
        return "python"
    return EMBEDDED_ENGINE


def local_executors(project: Project, readable: Sequence[Path] = ()) -> Executors:
    """The executors of this machine; SQL assets may read the store's objects (and `readable`)."""
    dirs = [project.store_dir / "objects", *readable]
    return Executors(
        {
            (Kind.SOURCE.value, "files"): lambda: SourceFiles(project),
            (Kind.SQL.value, EMBEDDED_ENGINE): lambda: EmbeddedDuckDB(project.dialect, dirs),
            (Kind.PYTHON.value, "python"): lambda: PythonFunctions(project.root),
        },
        engine_of,
    )


def module_loader(executors: Executors) -> ModuleLoader:
    """The loader of user code the build's Python assets use, shared with @check functions."""
    python = executors.get(Kind.PYTHON.value, "python")
    assert isinstance(python, PythonFunctions)
    return python.loader
