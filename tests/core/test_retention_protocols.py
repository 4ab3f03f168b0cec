"""The build's retention (deliver/after_build.py) over the store protocols alone (MemoryState,
MemoryObjects): current and the newest `keep` past versions stay, and so does what was current
when the build began; the first pass, knowing nothing of readers, deletes nothing."""

from __future__ import annotations

from pathlib import Path

from assetbuild.deliver.after_build import apply_retention
from assetbuild.trace.memory import MemoryObjects, MemoryState


def _version(state: MemoryState, objects: MemoryObjects, asset: str, n: int) -> int:
    content = f"{n:02x}" + "0" * 30
    staged = objects.staging_path(f"r{n}", asset)
    staged.write_bytes(f"version {n}".encode())
    rel, size, file_hash = objects.commit(staged, content)
    return state.add_materialization(
        asset, f"k{n}", content, 1, rel, size, file_hash, [], f"r{n}", False, {}
    ).id


def test_keeps_current_newest_past_and_what_readers_may_hold(tmp_path: Path) -> None:
    state, objects = MemoryState(), MemoryObjects(tmp_path / "objects")
    store = tmp_path / "store"
    ids = [_version(state, objects, "a", n) for n in range(1, 3)]
    state.publish("default", "a", ids[1], None)
    first = apply_retention(store, state, objects, keep=0)
    assert first.removed_materializations == []  # no record yet: nothing known of readers
    more = [_version(state, objects, "a", n) for n in range(3, 7)]  # versions 3..6
    state.publish("default", "a", more[-1], None)  # 2 was current when this "build" began
    second = apply_retention(store, state, objects, keep=1)
    kept = {m.id for m in state.materializations()}
    assert kept == {ids[1], more[-2], more[-1]}  # what readers may hold, 1 past, current
    assert second.held_for_readers == 1
    assert {m.id for m in second.removed_materializations} == {ids[0], *more[:2]}
    assert set(objects.listing()) == {m.object for m in state.materializations()}
    third = apply_retention(store, state, objects, keep=0)
    assert {m.id for m in state.materializations()} == {more[-1]}  # version 2 held for one build only
    assert third.bytes_freed > 0


def test_an_object_another_asset_still_names_stays(tmp_path: Path) -> None:
    state, objects = MemoryState(), MemoryObjects(tmp_path / "objects")
    store = tmp_path / "store"
    a1 = _version(state, objects, "a", 1)
    b1 = _version(state, objects, "b", 1)  # the same content: one object, two rows
    state.publish("default", "a", a1, None)
    state.publish("default", "b", b1, None)
    apply_retention(store, state, objects, keep=0)
    a2 = _version(state, objects, "a", 2)
    state.publish("default", "a", a2, None)
    apply_retention(store, state, objects, keep=0)
    # a's old row goes (nothing needs it: b's current row keeps the file), the file stays
    assert {m.id for m in state.materializations()} == {a2, b1}
    assert set(objects.listing()) == {m.object for m in state.materializations()}
