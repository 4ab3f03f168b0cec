"""The executor seam: what runs an asset, seen from the build. Standard library only.

An executor takes an asset and references to its inputs (a local Parquet object today; a table
in an engine or a remote object tomorrow) and leaves a complete staged object behind, with its
content hash, row count and schema. The build then commits it to the store, records it
quarantined, gates it and publishes it; it never looks inside the data itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from assetbuild.model.assets import AssetDef


@dataclass(frozen=True)
class InputRef:
    """Where the data of one input is, and which data it is."""

    name: str
    path: Path
    content_hash: str


@dataclass(frozen=True)
class StagedOutput:
    """A complete object in staging, described."""

    path: Path
    content_hash: str
    rows: int
    schema: list[tuple[str, str]]
    # the data itself, when the executor has it in memory anyway (the checks then need not read
    # the object back); None when it stayed in an engine
    frame: Any = None


@dataclass(frozen=True)
class Deadline:
    """When a run must have finished (time.monotonic()), and why, in words for the failure."""

    at: float
    why: str

    def left(self) -> float:
        return self.at - time.monotonic()


class Executor(Protocol):
    def run(
        self, asset: AssetDef, inputs: Mapping[str, InputRef], staged: Path, deadline: Deadline | None = None
    ) -> StagedOutput:
        """Leave the asset's table complete at `staged`; past `deadline` stop and fail."""
        ...

    def cancel(self) -> None:
        """Stop all running work now (the build was interrupted); called from another thread."""
        ...

    def close(self) -> None: ...


class Executors:
    """The registry: one executor per (asset kind, engine), made on first use, closed together.

    `engine_of` names the engine an asset runs on (`duckdb` for SQL, `python`, `files` for sources
    today); an executor for a new engine is one more factory.
    """

    def __init__(
        self,
        factories: Mapping[tuple[str, str], Callable[[], Executor]],
        engine_of: Callable[[AssetDef], str],
    ) -> None:
        self._factories = dict(factories)
        self._engine_of = engine_of
        self._made: dict[tuple[str, str], Executor] = {}
        self._lock = threading.Lock()

    def for_asset(self, asset: AssetDef) -> Executor:
        return self.get(asset.kind.value, self._engine_of(asset))

    def get(self, kind: str, engine: str) -> Executor:
        key = (kind, engine)
        with self._lock:
            if key not in self._made:
                factory = self._factories.get(key)
                if factory is None:
                    raise LookupError(f"no executor for {key[0]} assets on engine '{key[1]}'")
                self._made[key] = factory()
            return self._made[key]

    def run(
        self, asset: AssetDef, inputs: Mapping[str, InputRef], staged: Path, deadline: Deadline | None = None
    ) -> StagedOutput:
        return self.for_asset(asset).run(asset, inputs, staged, deadline)

    def warm(self, kind: str, engine: str) -> None:
        """Let the executor of (kind, engine) get ready ahead of its first asset, if it can
        (an executor may have a `warm()` method: starting a process, opening a session)."""
        warm = getattr(self.get(kind, engine), "warm", None)
        if warm is not None:
            warm()

    def cancel(self) -> None:
        """Stop what every executor made so far is running (Ctrl-C), without waiting for it."""
        with self._lock:
            made = list(self._made.values())
        for executor in made:
            executor.cancel()

    def close(self) -> None:
        with self._lock:
            made, self._made = list(self._made.values()), {}
        for executor in made:
            executor.close()
