"""`assetbuild gc`: keeps what `current` (of every environment) and the newest N past versions per asset point to,
removes the rest with its rows, reports the bytes freed, and never runs beside a build."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from assetbuild.trace.lock import BuildLock

PROJECT = {
    "assetbuild.toml": '[project]\nname = "gcp"\n[sources.src]\npath = "data/src.csv"\n',
    "data/src.csv": "id,v\n" + "".join(f"{i},{i * 3}\n" for i in range(200)),
    "assets/scaled.sql": "SELECT id, v * 2 AS v FROM src\n",
}


def _versions(root: Path, run_cli, factors) -> None:
    """Build `scaled` once per factor: one new materialization (and object) each."""
    for k in factors:
        (root / "assets" / "scaled.sql").write_text(f"SELECT id, v * {k} AS v FROM src\n")
        r = run_cli(root, "build", "--format", "json")
        assert r.code == 0, r


def _objects(root: Path) -> dict[str, int]:
    base = root / ".assetbuild" / "objects"
    return {p.relative_to(base).as_posix(): p.stat().st_size for p in base.rglob("*") if p.is_file()}


def _mats(root: Path, asset: str = "scaled") -> list[str]:
    with sqlite3.connect(root / ".assetbuild" / "state.db") as db:
        return [
            r[0]
            for r in db.execute(
                "SELECT content_hash FROM materializations WHERE asset = ? ORDER BY id", (asset,)
            )
        ]


def test_gc_keeps_current_and_the_newest_n(make_project, run_cli):
    root = make_project(PROJECT)
    _versions(root, run_cli, [2, 3, 4, 5])
    before = _objects(root)
    assert len(before) == 5 and len(_mats(root)) == 4  # src + four versions of scaled
    hashes = _mats(root)
    r = run_cli(root, "gc", "--keep", "1", "--format", "json")  # current + 1 past version
    assert r.code == 0, r
    removed = {o["object"] for o in r.json["removed_objects"]}
    assert removed == {k for k in before if hashes[0] in k or hashes[1] in k}
    assert r.json["bytes_freed"] == sum(before[k] for k in removed) > 0
    assert [m["content_hash"] for m in r.json["removed_materializations"]] == hashes[:2]
    assert set(_objects(root)) == set(before) - removed
    assert _mats(root) == hashes[2:]
    # what is current still works: nothing to do, and the data reads
    again = run_cli(root, "build", "--format", "json")
    assert again.json["summary"] == {"up_to_date": 2}, again
    assert run_cli(root, "query", "SELECT sum(v) AS s FROM scaled", "--format", "json").code == 0
    # the kept previous version restores instantly; a collected one has to be built again
    (root / "assets" / "scaled.sql").write_text("SELECT id, v * 4 AS v FROM src\n")
    assert _status(run_cli, root, "scaled") == "restored"
    (root / "assets" / "scaled.sql").write_text("SELECT id, v * 2 AS v FROM src\n")
    assert _status(run_cli, root, "scaled") == "built"


def _status(run_cli, root: Path, name: str) -> str:
    r = run_cli(root, "build", "--format", "json")
    return {a["name"]: a["status"] for a in r.json["assets"]}[name]


def test_keep_zero_leaves_only_current_and_revert_still_restores_with_keep(make_project, run_cli):
    root = make_project(PROJECT)
    _versions(root, run_cli, [2, 3])
    r = run_cli(root, "gc", "--keep", "0")
    assert r.code == 0 and "freed" in r.stdout, r
    (root / "assets" / "scaled.sql").write_text("SELECT id, v * 2 AS v FROM src\n")
    assert _status(run_cli, root, "scaled") == "built"  # version 2 was collected
    (root / "assets" / "scaled.sql").write_text("SELECT id, v * 3 AS v FROM src\n")
    r2 = run_cli(root, "build", "--format", "json")
    assert {a["name"]: a["status"] for a in r2.json["assets"]}["scaled"] == "restored"
    r0 = run_cli(root, "gc", "--keep", "0", "--format", "json")
    assert len(r0.json["removed_materializations"]) == 1 and len(_mats(root)) == 1


def test_dry_run_removes_nothing_and_reports_the_same(make_project, run_cli):
    root = make_project(PROJECT)
    _versions(root, run_cli, [2, 3, 4])
    before = _objects(root)
    dry = run_cli(root, "gc", "--keep", "0", "--dry-run", "--format", "json")
    assert dry.code == 0 and dry.json["dry_run"] is True, dry
    assert dry.json["bytes_freed"] > 0 and _objects(root) == before and len(_mats(root)) == 3
    real = run_cli(root, "gc", "--keep", "0", "--format", "json")
    assert real.json["bytes_freed"] == dry.json["bytes_freed"]
    assert real.json["removed_objects"] == dry.json["removed_objects"]
    text = run_cli(root, "gc", "--dry-run")
    assert text.code == 0 and "would free 0 B" in text.stdout, text


def test_other_environments_keep_their_current(make_project, run_cli):
    root = make_project(PROJECT)
    _versions(root, run_cli, [2])  # environment "default" points at version 2
    config = root / "assetbuild.toml"
    config.write_text(config.read_text().replace('name = "gcp"', 'name = "gcp"\nenvironment = "prod"'))
    _versions(root, run_cli, [3, 4])  # "prod" points at version 4
    first = _mats(root)[0]
    r = run_cli(root, "gc", "--keep", "0", "--format", "json")
    assert r.code == 0, r
    assert _mats(root) == [first, _mats(root)[-1]] and len(_mats(root)) == 2
    config.write_text(config.read_text().replace('environment = "prod"\n', ""))
    (root / "assets" / "scaled.sql").write_text("SELECT id, v * 2 AS v FROM src\n")
    assert _status(run_cli, root, "scaled") == "up_to_date"  # default's data survived


def test_orphan_objects_and_staging_leftovers_go(make_project, run_cli):
    root = make_project(PROJECT)
    _versions(root, run_cli, [2])
    orphan = root / ".assetbuild" / "objects" / "zz" / ("zz" + "0" * 30 + ".parquet")
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"x" * 1234)
    staged = root / ".assetbuild" / "staging" / "run-asset.parquet"
    staged.parent.mkdir(parents=True, exist_ok=True)
    staged.write_bytes(b"half")
    r = run_cli(root, "gc", "--format", "json")
    assert r.code == 0, r
    assert r.json["bytes_freed"] == 1234 and r.json["staging_files_removed"] == 1
    assert not orphan.exists() and not orphan.parent.exists() and not staged.exists()
    assert _status(run_cli, root, "scaled") == "up_to_date"


def test_gc_never_runs_beside_a_build(make_project, run_cli):
    root = make_project(PROJECT)
    _versions(root, run_cli, [2, 3])
    before = _objects(root)
    lock = BuildLock(root / ".assetbuild")
    lock.acquire(wait=False)  # as a running build holds it
    try:
        r = run_cli(root, "gc", "--keep", "0", "--no-wait", "--format", "json")
        assert r.code == 75, r
        assert "another build is running" in r.stderr
        assert _objects(root) == before
        dry = run_cli(root, "gc", "--keep", "0", "--dry-run")  # reading needs no lock
        assert dry.code == 0, dry
    finally:
        lock.release()
    assert run_cli(root, "gc", "--keep", "0").code == 0
    assert len(_objects(root)) == len(before) - 1


def test_gc_of_a_never_built_project(make_project, run_cli):
    root = make_project(PROJECT)
    r = run_cli(root, "gc", "--format", "json")
    assert r.code == 0 and r.json["bytes_freed"] == 0, r
    assert not (root / ".assetbuild").exists()


def test_an_object_shared_with_a_current_materialization_stays(make_project, run_cli):
    # `scaled` as v * 1 has exactly the data of `src`: one object, two materializations
    root = make_project(PROJECT)
    _versions(root, run_cli, [1, 3])
    assert len(_objects(root)) == 2
    r = run_cli(root, "gc", "--keep", "0", "--format", "json")
    assert r.code == 0, r
    assert len(r.json["removed_materializations"]) == 1  # scaled's old row goes ...
    assert r.json["removed_objects"] == [] and len(_objects(root)) == 2  # ... but src still needs the file
    assert _status(run_cli, root, "src") == "up_to_date"
