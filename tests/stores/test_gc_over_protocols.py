"""gc decides and deletes through the store protocols alone, so it works on any store: here
on `MemoryState` and `MemoryObjects`, with no state.db and no objects folder."""

from __future__ import annotations

from pathlib import Path

from assetbuild.run.gc import GcResult, _decide, _delete
from assetbuild.trace.memory import MemoryObjects, MemoryState


def _version(state: MemoryState, objects: MemoryObjects, asset: str, n: int) -> int:
    content = f"{n:02x}" + "0" * 30
    staged = objects.staging_path(f"r{n}", asset)
    staged.write_bytes(f"{asset} version {n}".encode())
    rel, size, file_hash = objects.commit(staged, content)
    m = state.add_materialization(asset, f"k{n}", content, 1, rel, size, file_hash, [], f"r{n}", False, {})
    return m.id


def test_gc_keeps_pinned_and_newest_and_deletes_the_rest(tmp_path: Path) -> None:
    state, objects = MemoryState(), MemoryObjects(tmp_path)
    ids = [_version(state, objects, "scaled", n) for n in range(1, 6)]
    state.publish("prod", "scaled", ids[0], None)  # an old version another environment still reads
    state.publish("dev", "scaled", ids[4], None)
    result = GcResult(dry_run=False, keep=1)  # besides the two current ones
    _decide(state, objects, result)
    assert [m.id for m in result.removed_materializations] == ids[1:3]
    assert result.kept_materializations == 3 and result.kept_objects == 3
    removed = {m.object for m in result.removed_materializations}
    assert {rel for rel, _ in result.removed_objects} == removed
    _delete(state, objects, result)
    assert [m.id for m in state.materializations()] == [ids[0], ids[3], ids[4]]
    assert set(objects.listing()) == {m.object for m in state.materializations()}
    assert result.bytes_freed == sum(size for _, size in result.removed_objects) > 0
