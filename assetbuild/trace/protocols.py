"""The trace store as its users see it: small protocols, one per question asked of it.

- `KeyStore`: build key → materializations, and the `current` pointer of each environment.
- `CheckStore`: check verdicts by check key.
- `RunLog`: the history of runs and of each asset in them.
- `Objects`: content-addressed data files, staged before they are committed.

`State` (SQLite, trace/state.py) is a `KeyStore`, `CheckStore` and `RunLog`; `LocalObjects`
(trace/objects.py, also importable as `ObjectStore`) keeps objects in `.assetbuild/objects/`.
`MemoryState` and `MemoryObjects` (trace/memory.py) keep everything in memory. One contract
suite (tests/trace/test_store_contract.py) runs over every implementation, so a remote store
(S3, a shared folder) is correct when it passes it.

Standard library only: nothing here may import a data library.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from assetbuild.model.stored import AssetRun, CheckRecord, Current, Materialization


def _holds_nothing(path: Path, content_hash: str) -> bool:
    return False


@runtime_checkable
class KeyStore(Protocol):
    """What was built from what, and what each environment currently reads.

    A materialization is recorded quarantined (or not) by `add_materialization` and becomes
    visible to an environment only through `publish`, which moves that environment's pointer
    and clears the quarantine mark at once. Pointers of other environments never move with it.
    """

    def current(self, env: str) -> dict[str, Current]:
        """Every pointer of `env`, by asset."""
        ...

    def current_of(self, env: str, asset: str) -> Current | None: ...

    def environments(self) -> list[str]:
        """The environments with at least one pointer, sorted."""
        ...

    def find(self, asset: str, build_key: str) -> list[Materialization]:
        """Materializations with this build key: unquarantined first, then newest first."""
        ...

    def materializations(self, asset: str | None = None) -> list[Materialization]:
        """All of them by id when `asset` is None, else that asset's, newest first."""
        ...

    def newest_materialization(self, env: str, asset: str) -> Materialization | None:
        """The materialization a run in `env` wrote last for `asset`, published or not."""
        ...

    def pinned_materializations(self) -> set[int]:
        """Ids of the materializations some environment's pointer names (gc keeps them)."""
        ...

    def add_materialization(
        self,
        asset: str,
        build_key: str,
        content_hash: str,
        rows: int | None,
        obj: str,
        object_size: int,
        file_hash: str,
        schema: list[tuple[str, str]],
        run_id: str,
        quarantined: bool,
        key_parts: dict[str, Any],
    ) -> Materialization:
        """Record a materialization; returns it as stored, with its new (increasing) id."""
        ...

    def publish(self, env: str, asset: str, mat_id: int, check_key: str | None, passed: bool = True) -> None:
        """Point `env`'s `asset` at `mat_id` and unquarantine it, atomically."""
        ...

    def set_current_checks(self, env: str, asset: str, mat_id: int, check_key: str, passed: bool) -> bool:
        """Record a verdict on the pointer only while it still names `mat_id`; False if it moved."""
        ...

    def drop_current(self, env: str, assets: Iterable[str]) -> None: ...

    def delete_materializations(self, ids: Iterable[int]) -> int:
        """Forget these materializations, in one step; a pinned one is kept. Returns how many went."""
        ...


@runtime_checkable
class CheckStore(Protocol):
    """Verdicts by check key (which names the data's content hash and the rules' fingerprint)."""

    def checks(self, check_key: str) -> tuple[bool, list[dict[str, Any]]] | None: ...

    def check_record(self, check_key: str) -> CheckRecord | None: ...

    def put_checks(
        self,
        check_key: str,
        asset: str,
        content_hash: str,
        rules_fp: str,
        passed: bool,
        results: list[dict[str, Any]],
    ) -> None:
        """Store (or replace) the verdict under `check_key`."""
        ...


@runtime_checkable
class RunLog(Protocol):
    """The history: one entry per run, and one per asset of a finished run."""

    def start_run(self, run_id: str, command: str, env: str) -> None: ...

    def finish_run(
        self, run_id: str, status: str, summary: dict[str, int], asset_rows: list[tuple[Any, ...]]
    ) -> None:
        """Close a run and record its assets, atomically. Each row of `asset_rows` is (asset,
        status, reason, duration_s, error, build_key, content_hash, rows, checks-as-JSON-text)."""
        ...

    def asset_runs(self, asset: str, limit: int = 50) -> list[dict[str, Any]]:
        """The asset's results in finished runs, newest first."""
        ...

    def last_runs(self, limit: int = 20) -> list[dict[str, Any]]:
        """Runs, most recently started first."""
        ...

    def last_asset_run(self, env: str, asset: str) -> AssetRun | None:
        """The asset's latest result in a finished run of `env`, `skipped` ones aside."""
        ...


@runtime_checkable
class TraceStore(KeyStore, CheckStore, RunLog, Protocol):
    """All three, as one open store."""

    def close(self) -> None: ...


@runtime_checkable
class Objects(Protocol):
    """Content-addressed data files: an object's name follows from its content hash alone.

    A committed object is whole or absent, never partial. `intact` is the check before use:
    it compares the recorded size and byte hash with what the store holds.
    """

    def relpath(self, content_hash: str) -> str:
        """The object's name in the store (what a materialization records as `object`)."""
        ...

    def path(self, relpath: str) -> Path:
        """A local file holding the object (absent when the store does not hold it)."""
        ...

    def present(self, relpath: str, size: int) -> bool:
        """Cheap existence check: the object is there with this size (no bytes read)."""
        ...

    def intact(self, relpath: str, size: int | None, file_hash: str | None) -> bool:
        """The object is there with this size and byte hash (either None: not compared)."""
        ...

    def staging_path(self, run_id: str, asset: str) -> Path:
        """Where an executor writes an object before it is committed."""
        ...

    def commit(
        self, staged: Path, content_hash: str, holds: Callable[[Path, str], bool] = _holds_nothing
    ) -> tuple[str, int, str]:
        """Move a staged file to its content address; (relpath, size, file hash). Idempotent:
        an intact existing object with that content is kept and the staged file dropped."""
        ...

    def clear_staging(self) -> int:
        """Remove staged leftovers (only under the build lock); returns how many."""
        ...

    def listing(self) -> dict[str, int]:
        """Every stored object (and stray file) as {relpath: bytes}, for gc."""
        ...

    def remove(self, relpath: str) -> None:
        """Delete an object; no error when it is already gone."""
        ...
