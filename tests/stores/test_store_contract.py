"""One contract for every trace store (as Hamilton and doit test theirs): each check below runs
over the SQLite `State` and `MemoryState`, and each object check over `LocalObjects` and
`MemoryObjects`. A new store (S3, a shared folder) is added to `STATES` / `OBJECTS` and must pass.

Every check can fail: `MUTANTS` holds, per check, a store broken in just the way that check is
about, and `test_*_contract_catches_its_mutant` asserts the check rejects it. A new check comes
with its mutant (`test_every_contract_has_a_mutant`).

Fast tier: nothing here imports polars or duckdb (test_fast_imports.py keeps it so).
"""

from __future__ import annotations

import datetime
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from assetbuild.hashing import hash_bytes
from assetbuild.model.stored import AssetRun, CheckRecord, Current, Materialization
from assetbuild.trace.memory import MemoryObjects, MemoryState
from assetbuild.trace.objects import LocalObjects, ObjectStore, object_relpath
from assetbuild.trace.protocols import CheckStore, KeyStore, Objects, RunLog, TraceStore
from assetbuild.trace.state import State

# -- the implementations ------------------------------------------------------------------


def _sqlite(tmp: Path) -> TraceStore:
    state = State.open(tmp / ".assetbuild")
    assert state is not None
    return state


def _memory(tmp: Path) -> TraceStore:
    return MemoryState()


STATES: dict[str, Callable[[Path], TraceStore]] = {"sqlite": _sqlite, "memory": _memory}


@dataclass
class ObjectsCase:
    """A store under test, and how to damage what it holds behind its back (disk rot, a hand edit)."""

    objects: Objects
    damage: Callable[[str, Callable[[bytes], bytes]], None]


def _local_objects(tmp: Path) -> ObjectsCase:
    objects = LocalObjects(tmp / ".assetbuild")

    def damage(rel: str, edit: Callable[[bytes], bytes]) -> None:
        p = objects.path(rel)
        p.write_bytes(edit(p.read_bytes()))

    return ObjectsCase(objects, damage)


def _memory_objects_of(cls: type[MemoryObjects]) -> Callable[[Path], ObjectsCase]:
    def make(tmp: Path) -> ObjectsCase:
        objects = cls(tmp / "memory-objects")

        def damage(rel: str, edit: Callable[[bytes], bytes]) -> None:
            objects._blobs[rel] = edit(objects._blobs[rel])

        return ObjectsCase(objects, damage)

    return make


OBJECTS: dict[str, Callable[[Path], ObjectsCase]] = {
    "local": _local_objects,
    "memory": _memory_objects_of(MemoryObjects),
}

StateCheck = Callable[[TraceStore], None]
ObjectsCheck = Callable[[ObjectsCase], None]
STATE_CONTRACT: dict[str, StateCheck] = {}
OBJECTS_CONTRACT: dict[str, ObjectsCheck] = {}


def state_contract(check: StateCheck) -> StateCheck:
    STATE_CONTRACT[check.__name__] = check
    return check


def objects_contract(check: ObjectsCheck) -> ObjectsCheck:
    OBJECTS_CONTRACT[check.__name__] = check
    return check


def _add(
    store: KeyStore,
    content: str,
    *,
    asset: str = "orders",
    key: str = "k1",
    quarantined: bool = False,
    run_id: str = "run-1",
) -> Materialization:
    return store.add_materialization(
        asset, key, content, 3, object_relpath(content), 100, f"fh-{content}",
        [("id", "BIGINT")], run_id, quarantined, {"kind": "sql"},
    )  # fmt: skip


def _ids(mats: Iterable[Materialization]) -> list[int]:
    return [m.id for m in mats]


# -- KeyStore -------------------------------------------------------------------------------


@state_contract
def find_returns_what_was_added_newest_first(store: TraceStore) -> None:
    m1 = _add(store, "c1")
    m2 = _add(store, "c2")
    other_key = _add(store, "c3", key="k2")
    other_asset = _add(store, "c4", asset="customers")
    assert m1.id < m2.id < other_key.id < other_asset.id
    assert store.find("orders", "k1") == [m2, m1]
    assert store.find("orders", "k2") == [other_key]
    assert store.find("customers", "k1") == [other_asset]
    assert store.find("orders", "nope") == [] and store.find("nope", "k1") == []


@state_contract
def add_materialization_round_trips_every_field(store: TraceStore) -> None:
    parts = {"kind": "sql", "inputs": [["src", "h1"]], "config": {"n": 1}}
    schema = [("id", "BIGINT"), ("name", "VARCHAR")]
    before = time.time()
    m = store.add_materialization(
        "orders", "k1", "c1", None, "c1/c1.parquet", 123, "fh", schema, "run-1", True, parts
    )
    got = (m.asset, m.build_key, m.content_hash, m.rows, m.object, m.object_size, m.file_hash, m.run_id)
    assert got == ("orders", "k1", "c1", None, "c1/c1.parquet", 123, "fh", "run-1")
    assert m.quarantined is True and m.schema == schema and m.key_parts == parts
    assert before - 1 <= m.created_at <= time.time() + 1
    assert store.find("orders", "k1") == [m]
    assert store.materializations("orders") == [m] and store.materializations() == [m]
    stored = store.materializations()[0]
    assert stored.schema == schema and stored.key_parts == parts


@state_contract
def find_lists_quarantined_last(store: TraceStore) -> None:
    old = _add(store, "c1")
    newer_quarantined = _add(store, "c2", quarantined=True)
    assert _ids(store.find("orders", "k1")) == [old.id, newer_quarantined.id]
    store.publish("dev", "orders", newer_quarantined.id, None)  # unquarantined: now simply the newest
    assert _ids(store.find("orders", "k1")) == [newer_quarantined.id, old.id]


@state_contract
def materializations_lists_all_by_id_or_one_asset_newest_first(store: TraceStore) -> None:
    a1 = _add(store, "c1")
    b1 = _add(store, "c2", asset="customers")
    a2 = _add(store, "c3", key="k2")
    assert _ids(store.materializations()) == [a1.id, b1.id, a2.id]
    assert _ids(store.materializations("orders")) == [a2.id, a1.id]
    assert _ids(store.materializations("customers")) == [b1.id]
    assert store.materializations("nope") == []


@state_contract
def publish_moves_the_pointer_of_one_environment(store: TraceStore) -> None:
    assert store.environments() == [] and store.current("dev") == {}
    assert store.current_of("dev", "orders") is None
    m1, m2, m3 = _add(store, "c1"), _add(store, "c2"), _add(store, "c3")
    other = _add(store, "c4", asset="customers")
    store.publish("prod", "orders", m2.id, "ck2", passed=False)
    store.publish("dev", "orders", m1.id, "ck1")
    assert store.environments() == ["dev", "prod"]
    assert store.current_of("dev", "orders") == Current(m1, "ck1", True)
    assert store.current_of("prod", "orders") == Current(m2, "ck2", False)
    store.publish("dev", "orders", m3.id, "ck3")
    store.publish("dev", "customers", other.id, None)
    assert store.current("dev") == {
        "orders": Current(m3, "ck3", True),
        "customers": Current(other, None, True),
    }
    assert store.current("prod") == {"orders": Current(m2, "ck2", False)}
    assert store.current("test") == {}


@state_contract
def publish_clears_the_quarantine_mark(store: TraceStore) -> None:
    q = _add(store, "c1", quarantined=True)
    store.publish("dev", "orders", q.id, "ck")
    cur = store.current_of("dev", "orders")
    assert cur is not None and cur.mat.id == q.id and cur.mat.quarantined is False
    assert [m.quarantined for m in store.find("orders", "k1")] == [False]
    assert [m.quarantined for m in store.materializations()] == [False]


@state_contract
def publish_is_atomic_to_readers(store: TraceStore) -> None:
    """A reader never sees `current` on a materialization still marked quarantined."""
    first = _add(store, "c0")
    store.publish("dev", "orders", first.id, "ck")
    stop = threading.Event()
    torn: list[Current | None] = []

    def read() -> None:
        while not stop.is_set():
            cur = store.current_of("dev", "orders")
            if cur is None or cur.mat.quarantined:
                torn.append(cur)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(1, 31):
            last = _add(store, f"c{i}", quarantined=True)
            store.publish("dev", "orders", last.id, f"ck{i}")
    finally:
        stop.set()
        reader.join()
    assert torn == []
    cur = store.current_of("dev", "orders")
    assert cur is not None and cur.mat.id == last.id and cur.check_key == "ck30"


@state_contract
def set_current_checks_lands_only_on_the_data_judged(store: TraceStore) -> None:
    m1, m2 = _add(store, "c1"), _add(store, "c2")
    store.publish("dev", "orders", m1.id, "old", passed=True)
    assert store.set_current_checks("dev", "orders", m2.id, "new", False) is False  # moved (or never there)
    assert store.current_of("dev", "orders") == Current(m1, "old", True)
    assert store.set_current_checks("dev", "orders", m1.id, "new", False) is True
    assert store.current_of("dev", "orders") == Current(m1, "new", False)
    # no pointer: nothing to record on, and none is made
    assert store.set_current_checks("prod", "orders", m1.id, "x", True) is False
    assert store.set_current_checks("dev", "customers", m1.id, "x", True) is False
    assert store.current_of("prod", "orders") is None and store.current_of("dev", "customers") is None


@state_contract
def drop_current_forgets_pointers_of_one_environment(store: TraceStore) -> None:
    m1, m2 = _add(store, "c1"), _add(store, "c2", asset="customers")
    store.publish("dev", "orders", m1.id, None)
    store.publish("dev", "customers", m2.id, None)
    store.publish("prod", "orders", m1.id, None)
    store.drop_current("dev", iter(["orders", "never-published"]))
    assert set(store.current("dev")) == {"customers"}
    assert set(store.current("prod")) == {"orders"}
    store.drop_current("dev", ["customers"])
    assert store.environments() == ["prod"]
    assert _ids(store.materializations()) == [m1.id, m2.id]  # the rows stay


@state_contract
def pinned_materializations_are_what_pointers_name(store: TraceStore) -> None:
    assert store.pinned_materializations() == set()
    m1, m2, m3 = _add(store, "c1"), _add(store, "c2"), _add(store, "c3")
    store.publish("dev", "orders", m1.id, None)
    store.publish("prod", "orders", m2.id, None)
    assert store.pinned_materializations() == {m1.id, m2.id}
    store.publish("dev", "orders", m3.id, None)
    assert store.pinned_materializations() == {m2.id, m3.id}
    store.drop_current("prod", ["orders"])
    assert store.pinned_materializations() == {m3.id}


@state_contract
def delete_materializations_keeps_pinned_rows(store: TraceStore) -> None:
    m1, m2, m3 = _add(store, "c1"), _add(store, "c2"), _add(store, "c3")
    store.publish("dev", "orders", m3.id, None)
    assert store.delete_materializations([m1.id, m3.id, 10_000]) == 1
    assert _ids(store.materializations()) == [m2.id, m3.id]
    assert _ids(store.find("orders", "k1")) == [m3.id, m2.id]
    cur = store.current_of("dev", "orders")
    assert cur is not None and cur.mat.id == m3.id
    assert store.delete_materializations(i for i in [m2.id]) == 1
    assert store.delete_materializations([]) == 0
    assert _ids(store.materializations()) == [m3.id]


@state_contract
def newest_materialization_is_per_environment(store: TraceStore) -> None:
    store.start_run("r-dev", "build", "dev")
    store.start_run("r-prod", "build", "prod")
    _add(store, "c1", run_id="r-dev")
    prod = _add(store, "c2", run_id="r-prod")
    dev = _add(store, "c3", run_id="r-dev", quarantined=True)  # published or not
    _add(store, "c4", run_id="r-unknown")  # no run says which environment it was for
    _add(store, "c5", asset="customers", run_id="r-dev")
    newest_dev, newest_prod = (
        store.newest_materialization("dev", "orders"),
        store.newest_materialization("prod", "orders"),
    )
    assert newest_dev is not None and newest_dev.id == dev.id
    assert newest_prod is not None and newest_prod.id == prod.id
    assert store.newest_materialization("test", "orders") is None
    assert store.newest_materialization("prod", "customers") is None


# -- CheckStore -----------------------------------------------------------------------------

RESULTS: list[dict[str, Any]] = [
    {"rule": "row_count", "passed": True, "observed": 3, "on": datetime.date(2024, 1, 2)},
    {"rule": "unique", "passed": False, "columns": ("id",), "severity": "error"},
]
# as stored: JSON, with what JSON cannot hold as text
RESULTS_STORED: list[dict[str, Any]] = [
    {"rule": "row_count", "passed": True, "observed": 3, "on": "2024-01-02"},
    {"rule": "unique", "passed": False, "columns": ["id"], "severity": "error"},
]


@state_contract
def check_results_round_trip(store: TraceStore) -> None:
    assert store.checks("ck") is None and store.check_record("ck") is None
    store.put_checks("ck", "orders", "content-1", "rules-1", False, RESULTS)
    assert store.checks("ck") == (False, RESULTS_STORED)
    assert store.check_record("ck") == CheckRecord(False, RESULTS_STORED, "content-1", "rules-1")
    store.put_checks("ck-ok", "orders", "content-2", "rules-1", True, [])
    assert store.check_record("ck-ok") == CheckRecord(True, [], "content-2", "rules-1")
    assert store.checks("other") is None


@state_contract
def put_checks_replaces_the_verdict(store: TraceStore) -> None:
    store.put_checks("ck", "orders", "content-1", "rules-1", False, RESULTS)
    store.put_checks("ck", "orders", "content-2", "rules-2", True, [{"rule": "x", "passed": True}])
    assert store.checks("ck") == (True, [{"rule": "x", "passed": True}])
    assert store.check_record("ck") == CheckRecord(
        True, [{"rule": "x", "passed": True}], "content-2", "rules-2"
    )


@state_contract
def check_results_are_copies(store: TraceStore) -> None:
    given = [{"rule": "x", "passed": True}]
    store.put_checks("ck", "orders", "c", "r", True, given)
    given[0]["passed"] = False
    got = store.checks("ck")
    assert got is not None
    got[1][0]["rule"] = "changed"
    got[1].append({})
    assert store.checks("ck") == (True, [{"rule": "x", "passed": True}])
    record = store.check_record("ck")
    assert record is not None and record.results == [{"rule": "x", "passed": True}]


# -- RunLog ---------------------------------------------------------------------------------

RUN_KEYS = {"run_id", "command", "env", "started_at", "finished_at", "status", "summary"}


def _row(asset: str, status: str, *, reason: str | None = "why", error: str | None = None,
         content: str = "c1", checks: list[dict[str, Any]] | None = None) -> tuple[Any, ...]:  # fmt: skip
    """One `finish_run` row: (asset, status, reason, duration_s, error, build_key, content_hash,
    rows, checks as JSON text)."""
    return (asset, status, reason, 0.5, error, "k1", content, 3, json.dumps(checks) if checks else None)


@state_contract
def runs_are_listed_newest_first(store: TraceStore) -> None:
    assert store.last_runs() == []
    store.start_run("r1", "build", "dev")
    store.start_run("r2", "check", "prod")
    runs = store.last_runs()
    assert [r["run_id"] for r in runs] == ["r2", "r1"]
    assert set(runs[0]) == RUN_KEYS
    assert (runs[0]["command"], runs[0]["env"], runs[0]["finished_at"], runs[0]["status"]) == (
        "check",
        "prod",
        None,
        None,
    )
    store.finish_run("r1", "ok", {"built": 2}, [])
    r1 = store.last_runs()[1]
    assert r1["run_id"] == "r1" and r1["status"] == "ok" and json.loads(r1["summary"]) == {"built": 2}
    assert r1["finished_at"] >= r1["started_at"]
    assert [r["run_id"] for r in store.last_runs(limit=1)] == ["r2"]


@state_contract
def asset_runs_are_newest_first_with_checks_decoded(store: TraceStore) -> None:
    store.start_run("r1", "build", "dev")
    store.finish_run(
        "r1",
        "ok",
        {"built": 2},
        [_row("orders", "built", checks=[{"rule": "x"}]), _row("customers", "built")],
    )
    store.start_run("r2", "build", "dev")
    store.finish_run("r2", "failed", {"failed": 1}, [_row("orders", "failed", error="boom", content="c2")])
    runs = store.asset_runs("orders")
    assert [r["run_id"] for r in runs] == ["r2", "r1"]
    assert runs[1] == {
        "run_id": "r1", "status": "built", "reason": "why", "duration_s": 0.5, "error": None, "build_key": "k1",
        "content_hash": "c1", "rows": 3, "checks": [{"rule": "x"}], "finished_at": runs[1]["finished_at"],
    }  # fmt: skip
    assert runs[0]["error"] == "boom" and runs[0]["checks"] == [] and runs[0]["content_hash"] == "c2"
    assert runs[0]["finished_at"] >= runs[1]["finished_at"]
    assert [r["run_id"] for r in store.asset_runs("orders", limit=1)] == ["r2"]
    assert [r["run_id"] for r in store.asset_runs("customers")] == ["r1"]
    assert store.asset_runs("nope") == []


@state_contract
def last_asset_run_is_per_environment_and_skips_skipped(store: TraceStore) -> None:
    store.start_run("r1", "build", "dev")
    store.finish_run("r1", "ok", {}, [_row("orders", "built", checks=[{"rule": "x"}])])
    store.start_run("r2", "build", "prod")
    store.finish_run("r2", "ok", {}, [_row("orders", "restored", content="c2")])
    store.start_run("r3", "build", "dev")
    store.finish_run("r3", "failed", {}, [_row("orders", "skipped", reason=None)])
    last = store.last_asset_run("dev", "orders")
    assert last == AssetRun(
        "r1", "built", "why", "k1", "c1", [{"rule": "x"}], last.finished_at if last else 0
    )
    prod = store.last_asset_run("prod", "orders")
    assert prod is not None and (prod.run_id, prod.status, prod.content_hash) == ("r2", "restored", "c2")
    assert store.last_asset_run("test", "orders") is None and store.last_asset_run("dev", "customers") is None
    store.start_run("r4", "build", "dev")
    store.finish_run("r4", "failed", {}, [_row("orders", "failed", reason=None, error="boom")])
    last = store.last_asset_run("dev", "orders")
    assert last is not None and (last.run_id, last.reason, last.checks) == ("r4", "", [])


# -- Objects --------------------------------------------------------------------------------

DATA = b"PAR1" + bytes(range(256)) * 4 + b"PAR1"
HASH = "ab" + "1" * 30  # a content hash is the table's; the store only names files by it
OTHER = b"PAR1 another table PAR1"
OTHER_HASH = "cd" + "2" * 30


def _stage(objects: Objects, data: bytes, run_id: str = "r1", asset: str = "orders") -> Path:
    staged = objects.staging_path(run_id, asset)
    staged.write_bytes(data)
    return staged


@objects_contract
def commit_moves_staged_bytes_to_their_content_address(case: ObjectsCase) -> None:
    o = case.objects
    staged = _stage(o, DATA)
    rel, size, file_hash = o.commit(staged, HASH)
    # one naming for every store: a materialization recorded by one reads from any
    assert rel == o.relpath(HASH) == object_relpath(HASH)
    assert (size, file_hash) == (len(DATA), hash_bytes(DATA))
    assert not staged.exists()
    assert o.path(rel).read_bytes() == DATA
    assert o.intact(rel, size, file_hash) and o.present(rel, size)
    assert not o.present(rel, size + 1)
    assert o.listing() == {rel: size}


@objects_contract
def commit_twice_keeps_one_object(case: ObjectsCase) -> None:
    o = case.objects
    first = o.commit(_stage(o, DATA, "r1"), HASH)
    again = _stage(o, DATA, "r2")
    assert o.commit(again, HASH) == first
    assert not again.exists()
    assert o.listing() == {first[0]: len(DATA)}
    other = o.commit(_stage(o, OTHER, "r3"), OTHER_HASH)
    assert o.listing() == {first[0]: len(DATA), other[0]: len(OTHER)}


@objects_contract
def commit_never_adopts_a_damaged_object(case: ObjectsCase) -> None:
    o = case.objects
    committed = o.commit(_stage(o, DATA), HASH)
    case.damage(committed[0], lambda b: b[:-3])
    assert o.commit(_stage(o, DATA, "r2"), HASH) == committed
    assert o.intact(*committed) and o.path(committed[0]).read_bytes() == DATA


@objects_contract
def commit_asks_holds_about_other_bytes_of_that_content(case: ObjectsCase) -> None:
    o = case.objects
    rel, size, file_hash = o.commit(_stage(o, DATA), HASH)
    asked: list[tuple[bytes, str]] = []

    def holds(path: Path, content_hash: str) -> bool:
        asked.append((path.read_bytes(), content_hash))
        return True

    reordered = DATA[::-1]  # other bytes, the same table (another row order, say)
    staged = _stage(o, reordered, "r2")
    assert o.commit(staged, HASH, holds) == (rel, size, file_hash)  # the existing object is kept
    assert asked == [(DATA, HASH)] and not staged.exists()
    asked.clear()
    o.commit(_stage(o, DATA, "r3"), HASH, holds)
    assert asked == []  # identical bytes need no reading
    replaced = o.commit(_stage(o, reordered, "r4"), HASH, lambda p, h: False)
    assert replaced == (rel, len(reordered), hash_bytes(reordered))
    assert o.path(rel).read_bytes() == reordered and o.intact(*replaced)


@objects_contract
def intact_detects_a_flipped_byte_and_truncation(case: ObjectsCase) -> None:
    o = case.objects
    rel, size, file_hash = o.commit(_stage(o, DATA), HASH)
    assert o.intact(rel, size, file_hash) and o.intact(rel, None, None) and o.intact(rel, size, None)
    mid = len(DATA) // 2
    case.damage(rel, lambda b: b[:mid] + bytes([b[mid] ^ 0x01]) + b[mid + 1 :])
    assert not o.intact(rel, size, file_hash)
    assert not o.intact(rel, None, file_hash)
    assert o.intact(rel, size, None) and o.present(rel, size)  # size alone cannot tell
    case.damage(rel, lambda b: b[:-1])
    assert not o.intact(rel, size, None) and not o.present(rel, size)
    missing = o.relpath(OTHER_HASH)
    assert not o.intact(missing, None, None) and not o.present(missing, 0)
    assert not o.path(missing).exists()


@objects_contract
def clear_staging_removes_leftovers_only(case: ObjectsCase) -> None:
    o = case.objects
    paths = [
        o.staging_path("r1", "orders"),
        o.staging_path("r1", "customers"),
        o.staging_path("r2", "orders"),
    ]
    assert len(set(paths)) == 3 and all(p.parent.is_dir() for p in paths)
    paths[0].write_bytes(b"half a file")
    paths[1].write_bytes(b"another")
    committed = o.commit(_stage(o, DATA, "r3", "kept"), HASH)
    assert o.clear_staging() == 2
    assert not paths[0].exists() and not paths[1].exists()
    assert o.intact(*committed)
    assert o.clear_staging() == 0


@objects_contract
def listing_and_remove_are_what_gc_sees(case: ObjectsCase) -> None:
    o = case.objects
    assert o.listing() == {}
    first = o.commit(_stage(o, DATA, "r1"), HASH)
    second = o.commit(_stage(o, OTHER, "r2"), OTHER_HASH)
    assert o.listing() == {first[0]: first[1], second[0]: second[1]}
    o.remove(first[0])
    assert o.listing() == {second[0]: second[1]}
    assert not o.path(first[0]).exists() and not o.intact(first[0], None, None) and not o.present(*first[:2])
    o.remove(first[0])  # gone already: no error
    assert o.intact(*second)
    assert o.commit(_stage(o, DATA, "r3"), HASH) == first  # and it can come back


# -- broken stores, one per check -------------------------------------------------------------


class _SqliteFindOldestFirst(State):
    def find(self, asset: str, build_key: str) -> list[Materialization]:
        return list(reversed(super().find(asset, build_key)))


def _sqlite_find_oldest_first(tmp: Path) -> TraceStore:
    state = _SqliteFindOldestFirst.open(tmp / ".assetbuild")
    assert state is not None
    return state


class _ForgetsKeyParts(MemoryState):
    def add_materialization(self, asset, build_key, content_hash, rows, obj, object_size, file_hash, schema,
                            run_id, quarantined, key_parts):  # type: ignore[no-untyped-def]  # fmt: skip
        return super().add_materialization(asset, build_key, content_hash, rows, obj, object_size, file_hash,
                                           schema, run_id, quarantined, {})  # fmt: skip


class _FindIgnoresQuarantine(MemoryState):
    def find(self, asset: str, build_key: str) -> list[Materialization]:
        return sorted(super().find(asset, build_key), key=lambda m: (-m.created_at, -m.id))


class _IgnoresAssetFilter(MemoryState):
    def materializations(self, asset: str | None = None) -> list[Materialization]:
        mats = super().materializations()
        return mats if asset is None else mats[::-1]


class _PublishesEverywhere(MemoryState):
    def publish(self, env: str, asset: str, mat_id: int, check_key: str | None, passed: bool = True) -> None:
        for e in {env, *self.environments()}:
            super().publish(e, asset, mat_id, check_key, passed)


class _KeepsQuarantine(MemoryState):
    def publish(self, env: str, asset: str, mat_id: int, check_key: str | None, passed: bool = True) -> None:
        self._set_pointer(env, asset, mat_id, check_key, passed)


class _PublishInTwoSteps(MemoryState):
    def publish(self, env: str, asset: str, mat_id: int, check_key: str | None, passed: bool = True) -> None:
        self._set_pointer(env, asset, mat_id, check_key, passed)
        time.sleep(0.005)  # a reader runs here
        self._unquarantine(mat_id)


class _VerdictOnAnyData(MemoryState):
    def set_current_checks(self, env: str, asset: str, mat_id: int, check_key: str, passed: bool) -> bool:
        cur = self.current_of(env, asset)
        return super().set_current_checks(env, asset, cur.mat.id if cur else mat_id, check_key, passed)


class _DropsEverywhere(MemoryState):
    def drop_current(self, env: str, assets: Iterable[str]) -> None:
        names = list(assets)
        for e in self.environments():
            super().drop_current(e, names)


class _PinsOneEnvironment(MemoryState):
    def pinned_materializations(self) -> set[int]:
        return {c.mat.id for e in self.environments()[:1] for c in self.current(e).values()}


class _DeletesPinned(MemoryState):
    def delete_materializations(self, ids: Iterable[int]) -> int:
        with self._lock:
            return sum(self._mats.pop(i, None) is not None for i in list(ids))


class _NewestOfAnyEnvironment(MemoryState):
    def newest_materialization(self, env: str, asset: str) -> Materialization | None:
        mats = self.materializations(asset)
        return mats[0] if mats else None


class _SwapsRecordFields(MemoryState):
    def check_record(self, check_key: str) -> CheckRecord | None:
        r = super().check_record(check_key)
        return CheckRecord(r.passed, r.results, r.rules_fingerprint, r.content_hash) if r else None


class _FirstVerdictWins(MemoryState):
    def put_checks(self, check_key, asset, content_hash, rules_fp, passed, results):  # type: ignore[no-untyped-def]
        if self.checks(check_key) is None:
            super().put_checks(check_key, asset, content_hash, rules_fp, passed, results)


class _SharesResults(MemoryState):
    def __init__(self) -> None:
        super().__init__()
        self._raw: dict[str, tuple[bool, list[dict[str, Any]]]] = {}

    def put_checks(self, check_key, asset, content_hash, rules_fp, passed, results):  # type: ignore[no-untyped-def]
        super().put_checks(check_key, asset, content_hash, rules_fp, passed, results)
        self._raw[check_key] = (passed, results)

    def checks(self, check_key: str) -> tuple[bool, list[dict[str, Any]]] | None:
        return self._raw.get(check_key)


class _RunsOldestFirst(MemoryState):
    def last_runs(self, limit: int = 20) -> list[dict[str, Any]]:
        return list(reversed(super().last_runs(-1)))[:limit]


class _IgnoresLimit(MemoryState):
    def asset_runs(self, asset: str, limit: int = 50) -> list[dict[str, Any]]:
        return super().asset_runs(asset, -1)


class _CountsSkipped(MemoryState):
    def last_asset_run(self, env: str, asset: str) -> AssetRun | None:
        rows = [
            r
            for r in self.asset_runs(asset, -1)
            if r["run_id"] in {x["run_id"] for x in self.last_runs(-1) if x["env"] == env}
        ]
        if not rows:
            return None
        d = rows[0]
        return AssetRun(d["run_id"], d["status"], d["reason"] or "", d["build_key"], d["content_hash"], d["checks"], d["finished_at"])  # fmt: skip


class _KeepsStaged(MemoryObjects):
    def commit(self, staged: Path, content_hash: str, holds: Callable[[Path, str], bool] = lambda p, h: False) -> tuple[str, int, str]:  # fmt: skip
        data = staged.read_bytes()
        out = super().commit(staged, content_hash, holds)
        staged.write_bytes(data)
        return out


class _CopyPerCommit(MemoryObjects):
    def commit(self, staged: Path, content_hash: str, holds: Callable[[Path, str], bool] = lambda p, h: False) -> tuple[str, int, str]:  # fmt: skip
        rel = self.relpath(content_hash)
        if rel in self._blobs:
            rel = f"{rel}.{len(self._blobs)}"
        data = staged.read_bytes()
        self._blobs[rel] = data
        staged.unlink()
        return rel, len(data), hash_bytes(data)


class _AdoptsWhateverIsThere(MemoryObjects):
    def commit(self, staged: Path, content_hash: str, holds: Callable[[Path, str], bool] = lambda p, h: False) -> tuple[str, int, str]:  # fmt: skip
        return super().commit(staged, content_hash, lambda p, h: True)


class _NeverAsksHolds(MemoryObjects):
    def commit(self, staged: Path, content_hash: str, holds: Callable[[Path, str], bool] = lambda p, h: False) -> tuple[str, int, str]:  # fmt: skip
        return super().commit(staged, content_hash)


class _SizeOnlyIntact(MemoryObjects):
    def intact(self, relpath: str, size: int | None, file_hash: str | None) -> bool:
        return super().intact(relpath, size, None)


class _StagingNeverCleared(MemoryObjects):
    def clear_staging(self) -> int:
        return 0


class _RemoveForgetsNothing(MemoryObjects):
    def remove(self, relpath: str) -> None:
        pass


def _memory_state_of(cls: type[MemoryState]) -> Callable[[Path], TraceStore]:
    return lambda tmp: cls()


MUTANTS: dict[str, Callable[[Path], TraceStore]] = {
    "find_returns_what_was_added_newest_first": _sqlite_find_oldest_first,
    "add_materialization_round_trips_every_field": _memory_state_of(_ForgetsKeyParts),
    "find_lists_quarantined_last": _memory_state_of(_FindIgnoresQuarantine),
    "materializations_lists_all_by_id_or_one_asset_newest_first": _memory_state_of(_IgnoresAssetFilter),
    "publish_moves_the_pointer_of_one_environment": _memory_state_of(_PublishesEverywhere),
    "publish_clears_the_quarantine_mark": _memory_state_of(_KeepsQuarantine),
    "publish_is_atomic_to_readers": _memory_state_of(_PublishInTwoSteps),
    "set_current_checks_lands_only_on_the_data_judged": _memory_state_of(_VerdictOnAnyData),
    "drop_current_forgets_pointers_of_one_environment": _memory_state_of(_DropsEverywhere),
    "pinned_materializations_are_what_pointers_name": _memory_state_of(_PinsOneEnvironment),
    "delete_materializations_keeps_pinned_rows": _memory_state_of(_DeletesPinned),
    "newest_materialization_is_per_environment": _memory_state_of(_NewestOfAnyEnvironment),
    "check_results_round_trip": _memory_state_of(_SwapsRecordFields),
    "put_checks_replaces_the_verdict": _memory_state_of(_FirstVerdictWins),
    "check_results_are_copies": _memory_state_of(_SharesResults),
    "runs_are_listed_newest_first": _memory_state_of(_RunsOldestFirst),
    "asset_runs_are_newest_first_with_checks_decoded": _memory_state_of(_IgnoresLimit),
    "last_asset_run_is_per_environment_and_skips_skipped": _memory_state_of(_CountsSkipped),
}

OBJECTS_MUTANTS: dict[str, Callable[[Path], ObjectsCase]] = {
    "commit_moves_staged_bytes_to_their_content_address": _memory_objects_of(_KeepsStaged),
    "commit_twice_keeps_one_object": _memory_objects_of(_CopyPerCommit),
    "commit_never_adopts_a_damaged_object": _memory_objects_of(_AdoptsWhateverIsThere),
    "commit_asks_holds_about_other_bytes_of_that_content": _memory_objects_of(_NeverAsksHolds),
    "intact_detects_a_flipped_byte_and_truncation": _memory_objects_of(_SizeOnlyIntact),
    "clear_staging_removes_leftovers_only": _memory_objects_of(_StagingNeverCleared),
    "listing_and_remove_are_what_gc_sees": _memory_objects_of(_RemoveForgetsNothing),
}


# -- the tests --------------------------------------------------------------------------------


@pytest.fixture(params=sorted(STATES))
def make_state(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], TraceStore]:
    return lambda: STATES[request.param](tmp_path)


@pytest.mark.parametrize("check", sorted(STATE_CONTRACT))
def test_state_contract(check: str, make_state: Callable[[], TraceStore]) -> None:
    store = make_state()
    try:
        STATE_CONTRACT[check](store)
    finally:
        store.close()


@pytest.mark.parametrize("impl", sorted(OBJECTS))
@pytest.mark.parametrize("check", sorted(OBJECTS_CONTRACT))
def test_objects_contract(check: str, impl: str, tmp_path: Path) -> None:
    OBJECTS_CONTRACT[check](OBJECTS[impl](tmp_path))


@pytest.mark.parametrize("check", sorted(STATE_CONTRACT))
def test_state_contract_catches_its_mutant(check: str, tmp_path: Path) -> None:
    broken = MUTANTS[check](tmp_path)
    try:
        with pytest.raises(AssertionError):
            STATE_CONTRACT[check](broken)
    finally:
        broken.close()


@pytest.mark.parametrize("check", sorted(OBJECTS_CONTRACT))
def test_objects_contract_catches_its_mutant(check: str, tmp_path: Path) -> None:
    with pytest.raises(AssertionError):
        OBJECTS_CONTRACT[check](OBJECTS_MUTANTS[check](tmp_path))


def test_every_contract_has_a_mutant() -> None:
    assert set(MUTANTS) == set(STATE_CONTRACT)
    assert set(OBJECTS_MUTANTS) == set(OBJECTS_CONTRACT)


@pytest.mark.parametrize("impl", sorted(STATES))
def test_states_implement_the_protocols(impl: str, tmp_path: Path) -> None:
    store = STATES[impl](tmp_path)
    try:
        for protocol in (KeyStore, CheckStore, RunLog, TraceStore):
            assert isinstance(store, protocol), protocol.__name__
    finally:
        store.close()


@pytest.mark.parametrize("impl", sorted(OBJECTS))
def test_object_stores_implement_the_protocol(impl: str, tmp_path: Path) -> None:
    assert isinstance(OBJECTS[impl](tmp_path).objects, Objects)


def test_the_former_class_name_still_imports() -> None:
    assert ObjectStore is LocalObjects


# -- what only one implementation has ---------------------------------------------------------


def test_local_listing_includes_stray_files_and_remove_drops_the_empty_shard(tmp_path: Path) -> None:
    objects = LocalObjects(tmp_path / ".assetbuild")
    rel, size, _ = objects.commit(_stage(objects, DATA), HASH)
    stray = objects.root / "zz" / "left-by-a-killed-build.parquet.tmp"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"xyz")
    assert objects.listing() == {rel: size, "zz/left-by-a-killed-build.parquet.tmp": 3}
    objects.remove(rel)
    assert not objects.path(rel).parent.exists()  # the shard folder went with its last object
    objects.remove("zz/left-by-a-killed-build.parquet.tmp")
    assert objects.listing() == {} and objects.root.is_dir()


def test_sqlite_state_persists_across_opens(tmp_path: Path) -> None:
    state = _sqlite(tmp_path)
    m = _add(state, "c1", quarantined=True)
    state.publish("dev", "orders", m.id, "ck")
    state.close()
    again = State.open(tmp_path / ".assetbuild", readonly=True)
    assert again is not None
    try:
        cur = again.current_of("dev", "orders")
        assert cur is not None and cur.mat.id == m.id and not cur.mat.quarantined
        assert again.pinned_materializations() == {m.id}
    finally:
        again.close()


def test_memory_objects_remove_their_scratch_folder_when_dropped() -> None:
    import gc

    objects = MemoryObjects()
    scratch = objects.staging_path("r1", "orders").parent.parent
    assert scratch.is_dir()
    del objects
    gc.collect()
    assert not scratch.exists()
