"""`assetbuild gc`: delete stored data that nothing needs any more, and say how many bytes it freed.

Kept: every materialization an environment's `current` points to, and the newest `keep` of each
asset (so that reverting a change is still an instant restore). Everything else loses its row in
state.db, and an object file loses its last reason to exist once no remaining row names it. Files
under objects/ that no row names (left by a build killed between writing and recording) go too.

It holds the build lock while deleting, so it never removes what a running build reads or writes.
`dry_run` only reads (no lock) and reports what would go.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assetbuild.errors import ProjectError
from assetbuild.trace.lock import BuildLock
from assetbuild.trace.objects import LocalObjects
from assetbuild.trace.protocols import KeyStore, Objects
from assetbuild.trace.state import Materialization, State

DEFAULT_KEEP = 3


@dataclass
class GcResult:
    dry_run: bool
    keep: int
    kept_materializations: int = 0
    removed_materializations: list[Materialization] = field(default_factory=list)
    removed_objects: list[tuple[str, int]] = field(default_factory=list)  # (object path, bytes)
    kept_objects: int = 0
    staging_files: int = 0

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
        }

    def text(self) -> str:
        verb = "would free" if self.dry_run else "freed"
        lines = [
            f"{verb} {_size(self.bytes_freed)}: {len(self.removed_objects)} objects, "
            f"{len(self.removed_materializations)} materializations; kept {self.kept_objects} objects "
            f"({self.kept_materializations} materializations: current, and the last {self.keep} per asset)"
        ]
        if self.staging_files:
            lines.append(f"removed {self.staging_files} leftover staging files of killed builds")
        return "\n".join(lines)


def collect_garbage(
    project_dir: str | Path,
    keep: int = DEFAULT_KEEP,
    dry_run: bool = False,
    wait: bool = True,
    on_wait: Callable[[str], None] = lambda msg: None,
) -> GcResult:
    """Works on the store alone, so a project whose definitions are broken can still be cleaned."""
    root = Path(project_dir).resolve()
    if not root.is_dir():
        raise ProjectError(
            f"project folder not found: {root}", hint="pass --project DIR or cd into the project"
        )
    store_dir = root / ".assetbuild"
    result = GcResult(dry_run=dry_run, keep=keep)
    if not (root / "assetbuild.toml").is_file() and not (root / "assets").is_dir() and not store_dir.is_dir():
        raise ProjectError(
            f"no assetbuild.toml, assets/ or .assetbuild/ in {root}: not a project",
            hint="run inside a project or pass --project DIR",
        )
    if not (store_dir / "state.db").exists():
        return result  # never built: nothing stored
    if dry_run:
        state = State.open(store_dir, readonly=True)
        assert state is not None
        try:
            # no snapshot: a read-only connection cannot BEGIN IMMEDIATE, and a dry run deletes nothing
            _decide(state, LocalObjects(store_dir), result)
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
    """Fill `result` with what goes: 1. pinned by a current pointer, 2. recent, 3. the rest goes.

    `snapshot` makes the two reads one view of the store (State.transaction()).
    """
    with snapshot or nullcontext():
        pinned = state.pinned_materializations()
        mats = state.materializations()
    by_asset: dict[str, list[Materialization]] = {}
    for m in mats:
        by_asset.setdefault(m.asset, []).append(m)
    kept: list[Materialization] = []
    for group in by_asset.values():
        group.sort(key=lambda m: (m.created_at, m.id), reverse=True)
        for i, m in enumerate(group):
            if m.id in pinned or i < result.keep:
                kept.append(m)
            else:
                result.removed_materializations.append(m)
    result.removed_materializations.sort(key=lambda m: m.id)  # oldest first
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


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"
