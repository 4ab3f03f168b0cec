"""The trace store in memory: `MemoryState` (a `KeyStore`, `CheckStore` and `RunLog`) and
`MemoryObjects` (`Objects`), with the same semantics as `State` and `LocalObjects`.

For tests and embedding, and the reference a remote store is compared with: the contract suite
(tests/trace/test_store_contract.py) runs over these and the SQLite/local ones alike. Standard
library only (plus assetbuild.hashing, so byte hashes match the local store's).

Values cross the boundary as copies (check results and run summaries are kept as JSON text, as
state.db keeps them), so a caller mutating what it got back never changes what is stored.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from assetbuild.hashing import hash_bytes
from assetbuild.model.stored import AssetRun, CheckRecord, Current, Materialization
from assetbuild.trace.objects import object_relpath

if TYPE_CHECKING:
    from assetbuild.trace.protocols import Objects, TraceStore


_T = TypeVar("_T")


@dataclass(frozen=True)
class _Pointer:
    mat_id: int
    check_key: str | None
    passed: bool
    updated_at: float


@dataclass(frozen=True)
class _Verdict:
    asset: str
    content_hash: str
    rules_fingerprint: str
    passed: bool
    results_json: str
    created_at: float


@dataclass
class _Run:
    run_id: str
    command: str
    env: str
    started_at: float
    finished_at: float | None = None
    status: str | None = None
    summary: str | None = None


_ASSET_RUN_KEYS = (
    "run_id",
    "status",
    "reason",
    "duration_s",
    "error",
    "build_key",
    "content_hash",
    "rows",
    "checks",
    "finished_at",
)


def _newest(rows: list[tuple[float, _T]], limit: int) -> list[_T]:
    """The payloads of (time, payload) `rows`, given in insertion order, newest first: SQLite's
    `ORDER BY time DESC, rowid DESC LIMIT limit` (a negative limit is no limit there too)."""
    order = sorted(range(len(rows)), key=lambda i: (rows[i][0], i), reverse=True)
    return [rows[i][1] for i in (order if limit < 0 else order[:limit])]


class MemoryState:
    """A trace store in dicts. Thread-safe: every call takes one lock, so each is atomic."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._mats: dict[int, Materialization] = {}
        self._next_id = 1
        self._current: dict[tuple[str, str], _Pointer] = {}
        self._checks: dict[str, _Verdict] = {}
        self._runs: dict[str, _Run] = {}
        self._asset_runs: list[tuple[str, dict[str, Any]]] = []  # (asset, row as stored)

    def close(self) -> None:
        pass

    # -- KeyStore: reading ---------------------------------------------------------------

    def current(self, env: str) -> dict[str, Current]:
        with self._lock:
            out = {}
            for (e, asset), p in self._current.items():
                mat = self._mats.get(p.mat_id)
                if e == env and mat is not None:  # a pointer to a missing row is not visible (a JOIN)
                    out[asset] = Current(mat, p.check_key, p.passed)
            return out

    def current_of(self, env: str, asset: str) -> Current | None:
        with self._lock:
            p = self._current.get((env, asset))
            mat = self._mats.get(p.mat_id) if p else None
            return Current(mat, p.check_key, p.passed) if p and mat else None

    def environments(self) -> list[str]:
        with self._lock:
            return sorted({env for env, _ in self._current})

    def find(self, asset: str, build_key: str) -> list[Materialization]:
        """Stored materializations with this build key, unquarantined first, then newest first."""
        with self._lock:
            found = [m for m in self._mats.values() if m.asset == asset and m.build_key == build_key]
        return sorted(found, key=lambda m: (m.quarantined, -m.created_at, -m.id))

    def materializations(self, asset: str | None = None) -> list[Materialization]:
        with self._lock:
            mats = list(self._mats.values())
        if asset is None:
            return sorted(mats, key=lambda m: m.id)
        return sorted((m for m in mats if m.asset == asset), key=lambda m: (m.created_at, m.id), reverse=True)

    def newest_materialization(self, env: str, asset: str) -> Materialization | None:
        with self._lock:
            ran_in_env = {r.run_id for r in self._runs.values() if r.env == env}
            mats = [m for m in self._mats.values() if m.asset == asset and m.run_id in ran_in_env]
        return max(mats, key=lambda m: (m.created_at, m.id), default=None)

    def pinned_materializations(self) -> set[int]:
        with self._lock:
            return {p.mat_id for p in self._current.values()}

    # -- KeyStore: writing ---------------------------------------------------------------

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
        schema_json, parts_json = json.dumps(schema), json.dumps(key_parts)
        with self._lock:
            mid = self._next_id
            self._next_id += 1
            mat = Materialization(mid, asset, build_key, content_hash, rows, obj, object_size, file_hash,
                                  schema_json, run_id, time.time(), bool(quarantined), parts_json)  # fmt: skip
            self._mats[mid] = mat
        return mat

    def publish(self, env: str, asset: str, mat_id: int, check_key: str | None, passed: bool = True) -> None:
        """Point `current` at a materialization and clear its quarantine mark, under one lock."""
        with self._lock:
            self._set_pointer(env, asset, mat_id, check_key, passed)
            self._unquarantine(mat_id)

    def _set_pointer(self, env: str, asset: str, mat_id: int, check_key: str | None, passed: bool) -> None:
        with self._lock:
            self._current[(env, asset)] = _Pointer(mat_id, check_key, bool(passed), time.time())

    def _unquarantine(self, mat_id: int) -> None:
        with self._lock:
            mat = self._mats.get(mat_id)
            if mat is not None and mat.quarantined:
                self._mats[mat_id] = dataclasses.replace(mat, quarantined=False)

    def set_current_checks(self, env: str, asset: str, mat_id: int, check_key: str, passed: bool) -> bool:
        """Record a verdict on `current` only while it still points at `mat_id`."""
        with self._lock:
            p = self._current.get((env, asset))
            if p is None or p.mat_id != mat_id:
                return False
            self._current[(env, asset)] = dataclasses.replace(p, check_key=check_key, passed=bool(passed))
            return True

    def drop_current(self, env: str, assets: Iterable[str]) -> None:
        names = list(assets)
        with self._lock:
            for a in names:
                self._current.pop((env, a), None)

    def delete_materializations(self, ids: Iterable[int]) -> int:
        wanted = list(ids)
        with self._lock:
            pinned = self.pinned_materializations()
            gone = 0
            for i in wanted:
                if i not in pinned and self._mats.pop(i, None) is not None:
                    gone += 1
            return gone

    # -- CheckStore ----------------------------------------------------------------------

    def checks(self, check_key: str) -> tuple[bool, list[dict[str, Any]]] | None:
        with self._lock:
            v = self._checks.get(check_key)
        return (v.passed, json.loads(v.results_json)) if v else None

    def check_record(self, check_key: str) -> CheckRecord | None:
        with self._lock:
            v = self._checks.get(check_key)
        if v is None:
            return None
        return CheckRecord(v.passed, json.loads(v.results_json), v.content_hash, v.rules_fingerprint)

    def put_checks(
        self,
        check_key: str,
        asset: str,
        content_hash: str,
        rules_fp: str,
        passed: bool,
        results: list[dict[str, Any]],
    ) -> None:
        verdict = _Verdict(
            asset, content_hash, rules_fp, bool(passed), json.dumps(results, default=str), time.time()
        )
        with self._lock:
            self._checks[check_key] = verdict

    # -- RunLog --------------------------------------------------------------------------

    def start_run(self, run_id: str, command: str, env: str) -> None:
        with self._lock:
            if run_id in self._runs:
                raise ValueError(f"run {run_id!r} was already started")
            self._runs[run_id] = _Run(run_id, command, env, time.time())

    def finish_run(
        self, run_id: str, status: str, summary: dict[str, int], asset_rows: list[tuple[Any, ...]]
    ) -> None:
        summary_json = json.dumps(summary)
        stored = []
        for r in asset_rows:
            row = dict(zip(_ASSET_RUN_KEYS[1:-1], r[1:], strict=True))
            stored.append((r[0], {"run_id": run_id, **row}))
        with self._lock:
            now = time.time()
            run = self._runs.get(run_id)
            if run is not None:
                run.finished_at, run.status, run.summary = now, status, summary_json
            for asset, row in stored:
                self._asset_runs.append((asset, {**row, "finished_at": now}))

    def asset_runs(self, asset: str, limit: int = 50) -> list[dict[str, Any]]:
        with self._lock:
            rows = [(row["finished_at"], dict(row)) for a, row in self._asset_runs if a == asset]
        out = []
        for d in _newest(rows, limit):
            d["checks"] = json.loads(d["checks"]) if d["checks"] else []
            out.append(d)
        return out

    def last_runs(self, limit: int = 20) -> list[dict[str, Any]]:
        with self._lock:
            rows = [(r.started_at, dataclasses.asdict(r)) for r in self._runs.values()]
        return _newest(rows, limit)

    def last_asset_run(self, env: str, asset: str) -> AssetRun | None:
        with self._lock:
            in_env = {r.run_id for r in self._runs.values() if r.env == env}
            rows = [
                (row["finished_at"], row)
                for a, row in self._asset_runs
                if a == asset and row["run_id"] in in_env and row["status"] != "skipped"
            ]
        newest = _newest(rows, 1)
        if not newest:
            return None
        d = newest[0]
        checks = json.loads(d["checks"]) if d["checks"] else []
        return AssetRun(d["run_id"], d["status"], d["reason"] or "", d["build_key"], d["content_hash"], checks,
                        d["finished_at"])  # fmt: skip


class MemoryObjects:
    """Objects as bytes in a dict, keyed by the same names as `LocalObjects` uses.

    Staged files and the files `path` hands out live in a scratch folder (a fresh temporary one,
    removed with this object, unless `scratch` is given): an executor writes and reads files. What
    `path` returns is written from the stored bytes on each call, as a remote store would fetch
    into a local cache; the dict is what is stored, so only it is judged by `intact`.
    """

    def __init__(self, scratch: Path | None = None) -> None:
        if scratch is None:
            scratch = Path(tempfile.mkdtemp(prefix="assetbuild-objects-"))
            self._cleanup = weakref.finalize(self, shutil.rmtree, str(scratch), True)
        self._lock = threading.RLock()
        self._blobs: dict[str, bytes] = {}
        self.staging = scratch / "staging"
        self._fetched = scratch / "objects"

    def relpath(self, content_hash: str) -> str:
        return object_relpath(content_hash)

    def path(self, relpath: str) -> Path:
        p = self._fetched / relpath
        with self._lock:
            data = self._blobs.get(relpath)
            if data is None:
                p.unlink(missing_ok=True)
                return p
            p.parent.mkdir(parents=True, exist_ok=True)
            tmp = p.with_name(f"{p.name}.{threading.get_ident()}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, p)
        return p

    def present(self, relpath: str, size: int) -> bool:
        with self._lock:
            data = self._blobs.get(relpath)
        return data is not None and len(data) == size

    def intact(self, relpath: str, size: int | None, file_hash: str | None) -> bool:
        with self._lock:
            data = self._blobs.get(relpath)
        if data is None or (size is not None and len(data) != size):
            return False
        return file_hash is None or hash_bytes(data) == file_hash

    def staging_path(self, run_id: str, asset: str) -> Path:
        self.staging.mkdir(parents=True, exist_ok=True)
        return self.staging / f"{run_id}-{asset}.parquet"

    def commit(
        self, staged: Path, content_hash: str, holds: Callable[[Path, str], bool] = lambda p, h: False
    ) -> tuple[str, int, str]:
        """Keep a staged file's bytes under its content address (see `LocalObjects.commit`)."""
        rel = self.relpath(content_hash)
        data = staged.read_bytes()
        digest = hash_bytes(data)
        with self._lock:
            existing = self._blobs.get(rel)
            if existing is not None:
                existing_digest = hash_bytes(existing)
                if existing_digest == digest or holds(self.path(rel), content_hash):
                    staged.unlink(missing_ok=True)
                    return rel, len(existing), existing_digest
            self._blobs[rel] = data
        staged.unlink(missing_ok=True)
        return rel, len(data), digest

    def clear_staging(self) -> int:
        removed = 0
        if self.staging.is_dir():
            for f in self.staging.iterdir():
                try:
                    f.unlink()
                    removed += 1
                except OSError:
                    pass
        return removed

    def listing(self) -> dict[str, int]:
        with self._lock:
            return {rel: len(data) for rel, data in self._blobs.items()}

    def remove(self, relpath: str) -> None:
        with self._lock:
            self._blobs.pop(relpath, None)
            (self._fetched / relpath).unlink(missing_ok=True)


if TYPE_CHECKING:

    def _implements(state: MemoryState, objects: MemoryObjects) -> tuple[TraceStore, Objects]:
        return state, objects  # mypy checks both classes against the protocols
