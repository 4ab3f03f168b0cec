"""`assetbuild gc`: delete stored data that nothing needs any more, and say how many bytes it freed.

Kept: every materialization an environment's `current` points to, and the newest `keep` others
of each asset (so that reverting a change is still an instant restore); `keep` defaults to the
project's `[store] keep` (5), which every build also applies by itself (deliver/after_build.py).
Everything else loses its row in state.db, and an object file loses its last reason to exist
once no remaining row names it. Files under objects/ that no row names (left by a build killed
between writing and recording) go too.

It holds the build lock while deleting, so it never removes what a running build reads or writes.
`dry_run` only reads (no lock) and reports what would go.

With `exports=True` it also removes exports no asset writes any more (an asset deleted, an export
dropped or moved elsewhere): the build names them after it runs; only this removes them.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assetbuild.definitions.config import store_keep
from assetbuild.deliver.after_build import (
    REMOVE_HINT,
    Leftover,
    choose,
    forget_leftovers,
    leftover_exports,
    remembered_leftovers,
)
from assetbuild.errors import ProjectError
from assetbuild.model.assets import Project
from assetbuild.trace.lock import BuildLock
from assetbuild.trace.objects import LocalObjects
from assetbuild.trace.protocols import KeyStore, Objects
from assetbuild.trace.state import Materialization, State


@dataclass
class GcResult:
    dry_run: bool
    keep: int
    kept_materializations: int = 0
    removed_materializations: list[Materialization] = field(default_factory=list)
    removed_objects: list[tuple[str, int]] = field(default_factory=list)  # (object path, bytes)
    kept_objects: int = 0
    staging_files: int = 0
    removed_exports: list[Leftover] = field(default_factory=list)  # with exports=True
    left_exports: list[Leftover] = field(default_factory=list)  # without: what could go
    export_trouble: list[str] = field(default_factory=list)

    @property
    def bytes_freed(self) -> int:
        return sum(size for _, size in self.removed_objects)

    def to_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "keep": self.keep,
            "bytes_freed": self.bytes_freed,
            "removed_objects": [{"object": rel, "bytes": size} for rel, size in self.removed_objects],
            "removed_materializations": [
                {
                    "asset": m.asset,
                    "content_hash": m.content_hash,
                    "build_key": m.build_key,
                    "object": m.object,
                }
                for m in self.removed_materializations
            ],
            "kept_materializations": self.kept_materializations,
            "kept_objects": self.kept_objects,
            "staging_files_removed": self.staging_files,
            "removed_exports": [x.to_json() for x in self.removed_exports],
            "left_exports": [x.to_json() for x in self.left_exports],
            "errors": list(self.export_trouble),
        }

    def text(self) -> str:
        verb = "would free" if self.dry_run else "freed"
        lines = [
            f"{verb} {_size(self.bytes_freed)}: {len(self.removed_objects)} objects, "
            f"{len(self.removed_materializations)} materializations; kept {self.kept_objects} objects "
            f"({self.kept_materializations} materializations: current, and up to {self.keep} past ones per asset)"
        ]
        if self.staging_files:
            lines.append(f"removed {self.staging_files} leftover staging files of killed builds")
        removed = "would remove" if self.dry_run else "removed"
        lines.extend(f"{removed} export {x.path} (asset {x.asset}, {x.why})" for x in self.removed_exports)
        if self.left_exports:
            lines.append(f"left in place: {len(self.left_exports)} exports no asset writes any more:")
            lines.extend(f"  {x.path} (asset {x.asset}, {x.why})" for x in self.left_exports)
            lines.append(f"  remove them with `{REMOVE_HINT}`")
        lines.extend(f"error: {t}" for t in self.export_trouble)
        return "\n".join(lines)


def collect_garbage(
    project_dir: str | Path,
    keep: int | None = None,
    dry_run: bool = False,
    wait: bool = True,
    on_wait: Callable[[str], None] = lambda msg: None,
    exports: bool = False,
) -> GcResult:
    """Works on the store alone, so a project whose definitions are broken can still be cleaned
    (`keep` then comes from `[store] keep` unless given; `exports` needs the project to load, to
    know what its assets export now)."""
    root = Path(project_dir).resolve()
    if not root.is_dir():
        raise ProjectError(
            f"project folder not found: {root}", hint="pass --project DIR or cd into the project"
        )
    store_dir = root / ".assetbuild"
    if not (root / "assetbuild.toml").is_file() and not (root / "assets").is_dir() and not store_dir.is_dir():
        raise ProjectError(
            f"no assetbuild.toml, assets/ or .assetbuild/ in {root}: not a project",
            hint="run inside a project or pass --project DIR",
        )
    result = GcResult(dry_run=dry_run, keep=store_keep(root) if keep is None else keep)
    project = None
    if exports:
        from assetbuild.definitions.loader import load_project

        project = load_project(root)
    if not (store_dir / "state.db").exists():
        return result  # never built: nothing stored
    if dry_run:
        state = State.open(store_dir, readonly=True)
        assert state is not None
        try:
            # no snapshot: a read-only connection cannot BEGIN IMMEDIATE, and a dry run deletes nothing
            _decide(state, LocalObjects(store_dir), result)
            _exports(root, store_dir, project, result, state.environments())
        finally:
            state.close()
        return result
    lock = BuildLock(store_dir)
    lock.acquire(wait, on_wait)
    try:
        state = State.open(store_dir)
        assert state is not None
        try:
            objects = LocalObjects(store_dir)
            _decide(state, objects, result, snapshot=state.transaction())
            _delete(state, objects, result)
            result.staging_files = objects.clear_staging()
            _exports(root, store_dir, project, result, state.environments())
        finally:
            state.close()
    finally:
        lock.release()
    return result


def _decide(
    state: KeyStore,
    objects: Objects,
    result: GcResult,
    snapshot: AbstractContextManager[object] | None = None,
) -> None:
    """Fill `result` with what goes: what `choose` does not keep, and files no kept row names.

    `snapshot` makes the two reads one view of the store (State.transaction()). Nothing builds
    while gc holds the lock, so unlike a build's retention it keeps nothing for readers: asked
    to keep 0, it keeps only current.
    """
    with snapshot or nullcontext():
        pinned = state.pinned_materializations()
        mats = state.materializations()
    kept, result.removed_materializations, _ = choose(mats, pinned, result.keep)
    result.kept_materializations = len(kept)
    needed = {m.object for m in kept}
    on_disk = objects.listing()
    result.kept_objects = len(needed & set(on_disk))
    result.removed_objects = sorted((rel, size) for rel, size in on_disk.items() if rel not in needed)


def _delete(state: KeyStore, objects: Objects, result: GcResult) -> None:
    # rows first, in one step: a crash after it leaves unreferenced files, which the next gc
    # removes; never a row naming a file that is gone
    state.delete_materializations(m.id for m in result.removed_materializations)
    for rel, _ in result.removed_objects:
        objects.remove(rel)  # and its two-letter shard folder, once empty


def _exports(
    root: Path, store_dir: Path, project: Project | None, result: GcResult, environments: list[str]
) -> None:
    """Without a project (no --exports): name what the last build found left over. With one:
    find the leftovers afresh against today's definitions and remove them (unless a dry run)."""
    if project is None:
        result.left_exports = remembered_leftovers(store_dir, root)
        return
    left = leftover_exports(
        project, remember=not result.dry_run, environments={project.environment, *environments}
    )
    if result.dry_run:
        result.removed_exports = left
        return
    removed: list[Leftover] = []
    for x in left:
        try:
            _remove_export(root, store_dir, x)
            removed.append(x)
        except (OSError, ValueError) as e:
            result.export_trouble.append(f"could not remove export {x.path}: {e}")
    if removed:
        forget_leftovers(project, removed)
    result.removed_exports = removed


def _remove_export(root: Path, store_dir: Path, x: Leftover) -> None:
    """Delete one leftover export: a file, a folder of Parquet files, or a table in a DuckDB file."""
    path = (root / x.path).resolve()
    real_root, store = root.resolve(), store_dir.resolve()
    if path in (real_root, store) or real_root not in path.parents or store in path.parents:
        raise ValueError(f"{x.path} is not a path inside the project that an export may own")
    if x.kind == "duckdb":
        import duckdb

        # the file may hold other tables (other exports, someone's own): drop this one only
        conn = duckdb.connect(
            str(path), config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
        )
        try:
            table = (x.table or x.asset).replace('"', '""')
            conn.execute(f'DROP TABLE IF EXISTS "{table}"')
        finally:
            conn.close()
        return
    if path.is_dir() and not path.is_symlink():
        strangers = [
            p for p in path.rglob("*") if not p.is_dir() and p.suffix.lower() not in (".parquet", ".pq")
        ]
        if strangers:
            raise ValueError(
                f"it holds {strangers[0].relative_to(path).as_posix()}, which no export wrote; move it away first"
            )
        shutil.rmtree(path)
        return
    path.unlink(missing_ok=True)


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"
