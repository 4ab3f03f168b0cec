"""After a build has published: exports of assets whose content changed, the warehouse views, then
the store's retention (`[store] keep`). Also: exports that no asset writes any more.

Runs once per build, after the graph settles. Errors (a full disk, a locked target) are returned,
not raised: the data is already published, only its delivery failed, and the build says so.
News that is no failure (an export left behind, what the retention could not delete) goes to
`notes`.

Retention keeps, per asset, every materialization an environment's `current` points to, the
newest `keep` others, and what was current in any environment when this build began: a reader
(`assetbuild.read(lazy=True)`, `query`, a BI tool on the warehouse file) that resolved a pointer
before the build moved it may still be reading that object, so it goes at the next build at the
earliest. `.assetbuild/retention.json` remembers those objects from one build to the next.
`assetbuild gc` (run/gc.py) applies the same choice by hand, under the build lock.

Leftover exports: `.assetbuild/exports.json` (deliver/exports.py) remembers what each asset
exported where. An entry whose asset is gone or exports elsewhere now names a file nothing
rewrites; the build says so each time, and `assetbuild gc --exports` removes it. Where an asset's
target moved, exports.json forgets the old path once the new one is written, so the old one is
kept in `.assetbuild/exports-left.json`, which also lists what the last build found left over
(for `gc` to mention without loading the project).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assetbuild.definitions.config import store_keep
from assetbuild.definitions.exports import ExportTarget, parse_target
from assetbuild.deliver.exports import Exporter
from assetbuild.deliver.warehouse import refresh_warehouse
from assetbuild.errors import ProjectError
from assetbuild.model.assets import Project
from assetbuild.model.stored import Current, Materialization
from assetbuild.trace.protocols import KeyStore, Objects

RETENTION_RECORD = "retention.json"
LEFT_RECORD = "exports-left.json"
REMOVE_HINT = "assetbuild gc --exports"


def deliver(
    project: Project,
    state: KeyStore,
    env: str,
    objects: Objects,
    current: Mapping[str, Current] | None = None,
    notes: list[str] | None = None,
    retain: bool = True,
) -> list[str]:
    """After publishing: exports of changed assets, the warehouse views, the retention. Returns errors.

    `current` may pass the pointers as the build read them when it moved none of them (then
    nothing new can be collected, and the retention, which reads every row, is skipped).
    `notes` receives leftover exports and retention trouble; `retain=False` skips the retention
    (a build that failed keeps everything for whoever looks into it)."""
    errors: list[str] = []
    notes = notes if notes is not None else []
    moved = current is None
    if current is None:
        current = state.current(env)
    exporter: Exporter | None = None
    moved_away: list[Leftover] = []
    for asset, spec in project.exports.items():
        cur = current.get(asset)
        if cur is None or not cur.checks_passed:
            continue  # never deliver data that fails an error rule
        target = parse_target(asset, spec)
        exporter = exporter or Exporter(project.root, project.store_dir, env)
        if not exporter.needed(asset, target, cur.mat.content_hash):
            continue
        before = exporter.record.get(asset)
        try:
            exporter.export(asset, target, objects.path(cur.mat.object), cur.mat.content_hash)
        except Exception as e:
            errors.append(
                f"export of '{asset}' to {exporter.describe(target)} failed: {e}; the previous export is intact"
            )
            continue
        old = _from_record(asset, before) if before else None
        if old is not None and old.target != exporter.describe(target):
            moved_away.append(old)  # exports.json now names the new path only
    if exporter is not None:
        try:
            exporter.save()
        except OSError as e:
            errors.append(f"recording exports failed: {e}")
    # one schema per environment (`main` for the default): a build refreshes its own
    # environment's views and keeps every other environment's
    schemas: dict[str, dict[str, str]] = {}
    for other in state.environments():
        pointers = current if other == env else state.current(other)
        schemas["main" if other == "default" else other] = {
            n: str(objects.path(c.mat.object)) for n, c in pointers.items() if n in project.assets
        }
    try:
        refresh_warehouse(project.store_dir, schemas)
    except Exception as e:
        errors.append(f"updating .assetbuild/warehouse.duckdb failed: {e}")
    try:
        left = leftover_exports(
            project,
            moved_away,
            exporter.record if exporter else None,
            environments={env, *state.environments()},
        )
        notes.extend(left_note(x) for x in left)
    except OSError as e:
        notes.append(f"looking for exports left behind failed: {e}")
    if retain and moved:
        try:
            keep = store_keep(project.root)  # valid: the project loaded with it
            retention = apply_retention(project.store_dir, state, objects, keep)
            notes.extend(retention.trouble)
        except (OSError, sqlite3.Error, ProjectError) as e:  # e.g. assetbuild.toml edited meanwhile
            notes.append(f"removing old materializations ([store] keep) failed: {e}; `assetbuild gc` retries")
    return errors


# -- retention -------------------------------------------------------------------------------------


@dataclass
class Retention:
    """What a retention pass keeps and removes (`gc` reports it; a build applies it quietly)."""

    keep: int
    kept_materializations: int = 0
    removed_materializations: list[Materialization] = field(default_factory=list)
    removed_objects: list[tuple[str, int]] = field(default_factory=list)  # (object path, bytes)
    held_for_readers: int = 0  # kept only because they were current when this build began
    trouble: list[str] = field(default_factory=list)

    @property
    def bytes_freed(self) -> int:
        return sum(size for _, size in self.removed_objects)


def choose(
    mats: Iterable[Materialization], pinned: Collection[int], keep: int, held: Collection[str] = ()
) -> tuple[list[Materialization], list[Materialization], int]:
    """(kept, removed, how many were kept only for `held`): per asset, every materialization a
    `current` pointer names and the newest `keep` others; then, for each object in `held` that
    nothing kept names, one row naming it (so that its file stays, and goes by a later pass)."""
    by_asset: dict[str, list[Materialization]] = {}
    for m in mats:
        by_asset.setdefault(m.asset, []).append(m)
    kept: list[Materialization] = []
    removed: list[Materialization] = []
    for group in by_asset.values():
        group.sort(key=lambda m: (m.created_at, m.id), reverse=True)
        past = 0
        for m in group:
            if m.id in pinned:
                kept.append(m)
            elif past < keep:
                kept.append(m)
                past += 1
            else:
                removed.append(m)
    needed = {m.object for m in kept}
    for_readers = [m for m in removed if m.object in held and m.object not in needed]
    keep_too: dict[str, Materialization] = {}
    for m in sorted(for_readers, key=lambda m: (m.created_at, m.id), reverse=True):
        keep_too.setdefault(m.object, m)  # the newest row of each held object
    kept.extend(keep_too.values())
    removed = sorted((m for m in removed if m.object not in keep_too), key=lambda m: m.id)  # oldest first
    return kept, removed, len(keep_too)


def apply_retention(store_dir: Path, state: KeyStore, objects: Objects, keep: int) -> Retention:
    """After a build (under its lock): delete what `choose` does not keep, rows then files.

    Objects are found from the rows (a file shared by two materializations goes with the last of
    them); files no row names are left to `gc`, so a build never lists the objects folder."""
    result = Retention(keep)
    pinned = state.pinned_materializations()
    mats = state.materializations()
    now_current = sorted({m.object for m in mats if m.id in pinned})
    record = store_dir / RETENTION_RECORD
    held = _read_held(record)
    if held is None:
        # nothing is known of what readers may hold (the first build, or a store from before
        # retention): delete nothing this time, and remember what is current for the next one
        _write_json(record, {"current_objects": now_current})
        result.kept_materializations = len(mats)
        return result
    kept, removed, result.held_for_readers = choose(mats, pinned, keep, held)
    result.kept_materializations = len(kept)
    result.removed_materializations = removed
    needed = {m.object for m in kept}
    sizes: dict[str, int] = {}
    for m in removed:
        if m.object not in needed:
            sizes[m.object] = m.object_size
    result.removed_objects = sorted(sizes.items())
    # rows first, in one step: a crash after it leaves unreferenced files, which `gc` removes;
    # never a row naming a file that is gone
    state.delete_materializations(m.id for m in removed)
    for rel in sizes:
        try:
            objects.remove(rel)
        except OSError as e:
            result.trouble.append(f"could not delete {rel} ({e}); `assetbuild gc` removes it later")
    _write_json(record, {"current_objects": now_current})
    return result


def _read_held(record: Path) -> set[str] | None:
    try:
        data = json.loads(record.read_text())
        return {str(o) for o in data["current_objects"]}
    except (OSError, ValueError, KeyError, TypeError):
        return None


# -- exports left behind ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Leftover:
    """An export nothing rewrites any more: `target` as exports.json names it (`path#table` for
    a DuckDB table), the asset that wrote it, and `why` in words."""

    asset: str
    target: str
    kind: str
    why: str = ""

    @property
    def path(self) -> str:
        return self.target.split("#", 1)[0] if self.kind == "duckdb" else self.target

    @property
    def table(self) -> str | None:
        return self.target.split("#", 1)[1] if self.kind == "duckdb" and "#" in self.target else None

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "table": self.table,
            "asset": self.asset,
            "kind": self.kind,
            "why": self.why,
        }


def left_note(left: Leftover) -> str:
    what = f"table {left.table} in {left.path}" if left.table else left.path
    return f"{what} was exported by asset {left.asset}, {left.why}; remove it with `{REMOVE_HINT}`"


def leftover_exports(
    project: Project,
    moved_away: Iterable[Leftover] = (),
    record: Mapping[str, Any] | None = None,
    remember: bool = True,
    environments: Iterable[str] = ("default",),
) -> list[Leftover]:
    """Exports no asset of `project` writes any more whose files still exist, and remember them
    (with `moved_away`, old targets exports.json has just forgotten) in exports-left.json unless
    `remember` is False (a dry run writes nothing)."""
    store = project.store_dir
    if record is None:
        record = _read_json(store / "exports.json") or {}
    remembered = _read_json(store / LEFT_RECORD) or {}
    targets = _export_targets(project)
    # every environment writes its own copy (out/dev/x.parquet beside out/x.parquet): none of
    # them is left over while its asset is exported
    placed = [Exporter(project.root, store, e).target_of(t) for e in environments for t in targets.values()]
    written = {t.describe() for t in placed}
    written_paths = {t.path for t in placed}
    found: dict[str, Leftover] = {}
    candidates = [*(_from_json(d) for d in remembered.get("left", ())), *moved_away]
    candidates += [x for a, e in record.items() if (x := _from_record(a, e)) is not None]
    for x in candidates:
        if x is None or x.target in found:
            continue
        if x.target in written or (x.kind != "duckdb" and x.path in written_paths):
            continue  # some asset writes there now: not left over
        if x.asset in targets:
            why = f"which now exports to {targets[x.asset].describe()}"
        elif x.asset in project.assets:
            why = "which is no longer exported"
        else:
            why = "which no longer exists"
        if _exists(project.root, x.path):
            found[x.target] = Leftover(x.asset, x.target, x.kind, why)
    left = sorted(found.values(), key=lambda x: x.target)
    body = {"left": [x.to_json() | {"target": x.target} for x in left]}
    if remember and body != remembered and (left or remembered):
        _write_json(store / LEFT_RECORD, body)
    return left


def remembered_leftovers(store_dir: Path, root: Path) -> list[Leftover]:
    """What the last build found left over and still exists, without loading the project."""
    data = _read_json(store_dir / LEFT_RECORD) or {}
    out = [x for d in data.get("left", ()) if (x := _from_json(d)) is not None]
    return [x for x in out if _exists(root, x.path)]


def forget_leftovers(project: Project, removed: Collection[Leftover]) -> None:
    """After `gc --exports`: drop the removed targets from exports.json and exports-left.json."""
    gone = {x.target for x in removed}
    exporter = Exporter(project.root, project.store_dir)
    for asset, entry in list(exporter.record.items()):
        if isinstance(entry, dict) and entry.get("target") in gone:
            del exporter.record[asset]
    exporter.save()
    remembered = _read_json(project.store_dir / LEFT_RECORD) or {}
    left = [d for d in remembered.get("left", ()) if d.get("target") not in gone]
    _write_json(project.store_dir / LEFT_RECORD, {"left": left})


def _export_targets(project: Project) -> dict[str, ExportTarget]:
    return {a: parse_target(a, spec) for a, spec in project.exports.items()}


def _from_record(asset: str, entry: Any) -> Leftover | None:
    if not isinstance(entry, dict) or not isinstance(entry.get("target"), str):
        return None
    return Leftover(asset, entry["target"], str(entry.get("kind") or "parquet"))


def _from_json(d: Any) -> Leftover | None:
    if not isinstance(d, dict) or not isinstance(d.get("target"), str) or not isinstance(d.get("asset"), str):
        return None
    return Leftover(d["asset"], d["target"], str(d.get("kind") or "parquet"), str(d.get("why") or ""))


def _exists(root: Path, rel: str) -> bool:
    p = root / rel
    return p.exists() or p.is_symlink()


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _write_json(path: Path, value: Any) -> None:
    """Written aside and renamed: a reader never finds half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(value, indent=1, sort_keys=True))
    os.replace(tmp, path)
