"""The executors that run on this machine: source files, SQL on the embedded DuckDB, Python.

Each returns its result through `stage`: content hash, then Parquet in staging. They are built by
`local_executors`, the registry a build and `assetbuild test` both use.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assetbuild.executor.protocol import Deadline, Executors, InputRef, StagedOutput
from assetbuild.model.assets import AssetDef, Kind, Project, SourceFile

if TYPE_CHECKING:
    from assetbuild.executor.isolation import PythonWorkers
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

    def run(
        self, asset: AssetDef, inputs: Mapping[str, InputRef], staged: Path, deadline: Deadline | None = None
    ) -> StagedOutput:
        from assetbuild.executor.source import read_source

        files = tuple(SourceFile(n.removeprefix("file:"), r.content_hash, 0) for n, r in inputs.items())
        return stage(read_source(self.project.root, asset, files), staged)

    def cancel(self) -> None:
        pass  # reading files ends soon; the build stops after it

    def close(self) -> None:
        pass


class EmbeddedDuckDB:
    """SQL assets on one in-process DuckDB shared by the build (a cursor per asset)."""

    def __init__(
        self, dialect: str, readable: Sequence[Path], memory_limit: int | None, spill_dir: Path | None
    ) -> None:
        from assetbuild.executor.sql import SqlEngine

        self.dialect = dialect
        self.engine: SqlEngine = SqlEngine(readable=readable, memory_limit=memory_limit, spill_dir=spill_dir)

    def run(
        self, asset: AssetDef, inputs: Mapping[str, InputRef], staged: Path, deadline: Deadline | None = None
    ) -> StagedOutput:
        table = self.engine.run(asset, {n: r.path for n, r in inputs.items()}, deadline)
        return stage(table, staged, asset.ordered)

    def cancel(self) -> None:
        self.engine.cancel()

    def close(self) -> None:
        self.engine.close()


class PythonFunctions:
    """Python assets, each run in a worker process (executor/isolation.py) that writes its table.

    `loader` imports the project's modules in this process, for what must run here: `@check`
    functions and pandera schemas used by the checks.
    """

    def __init__(self, root: Path, log_dir: Path, memory_limit: int | None) -> None:
        from assetbuild.executor.isolation import PythonWorkers

        self.root = root
        self.workers: PythonWorkers = PythonWorkers(root, log_dir, memory_limit)
        self._loader: ModuleLoader | None = None

    @property
    def loader(self) -> ModuleLoader:
        if self._loader is None:
            from assetbuild.executor.python import ModuleLoader

            self._loader = ModuleLoader(self.root)
        return self._loader

    def run(
        self, asset: AssetDef, inputs: Mapping[str, InputRef], staged: Path, deadline: Deadline | None = None
    ) -> StagedOutput:
        return self.workers.run(asset, inputs, staged, deadline)

    def warm(self) -> None:
        self.workers.warm()

    def cancel(self) -> None:
        self.workers.cancel()

    def close(self) -> None:
        self.workers.close()


def engine_of(asset: AssetDef) -> str:
    if asset.kind is Kind.SOURCE:
        return "files"
    if asset.kind is Kind.PYTHON:
        return "python"
    return EMBEDDED_ENGINE


def local_executors(
    project: Project,
    readable: Sequence[Path] = (),
    log_dir: Path | None = None,
    spill_dir: Path | None = None,
) -> Executors:
    """The executors of this machine; SQL assets may read the store's objects (and `readable`).

    Python assets write what they print to `log_dir/ASSET.log`; DuckDB spills to `spill_dir`.
    """
    dirs = [project.store_dir / "objects", *readable]
    logs = log_dir if log_dir is not None else project.store_dir / "logs" / "latest"
    limit = project.memory_limit
    return Executors(
        {
            (Kind.SOURCE.value, "files"): lambda: SourceFiles(project),
            (Kind.SQL.value, EMBEDDED_ENGINE): lambda: EmbeddedDuckDB(
                project.dialect, dirs, limit, spill_dir
            ),
            (Kind.PYTHON.value, "python"): lambda: PythonFunctions(project.root, logs, limit),
        },
        engine_of,
    )


def module_loader(executors: Executors) -> ModuleLoader:
    """The loader of user code the build's Python assets use, shared with @check functions."""
    python = executors.get(Kind.PYTHON.value, "python")
    assert isinstance(python, PythonFunctions)
    return python.loader
