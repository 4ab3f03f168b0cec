"""`[store] keep = N`: after every build that moved data, each asset keeps its current
materialization (in every environment) and its newest N past ones; the rest is deleted, rows and
files. What the build just replaced is kept until the next build (a reader that started before
the build may still be reading it). A bad value is a project error (exit 2) at its line."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

PROJECT = {
    "assetbuild.toml": '[project]\nname = "keep"\n[sources.src]\npath = "data/src.csv"\n',
    "data/src.csv": "id,v\n" + "".join(f"{i},{i * 3}\n" for i in range(50)),
    "assets/scaled.sql": "SELECT id, v * 2 AS v FROM src\n",
}


def _config(root: Path, store: str) -> None:
    (root / "assetbuild.toml").write_text(PROJECT["assetbuild.toml"] + store)


def _versions(root: Path, run_cli, factors) -> None:
    """Build `scaled` once per factor: one new materialization (and object) each."""
    for k in factors:
        (root / "assets" / "scaled.sql").write_text(f"SELECT id, v * {k} AS v FROM src\n")
        r = run_cli(root, "build", "--format", "json")
        assert r.code == 0, r


def _mats(root: Path, asset: str = "scaled") -> list[str]:
    with sqlite3.connect(root / ".assetbuild" / "state.db") as db:
        return [
            r[0]
            for r in db.execute(
                "SELECT content_hash FROM materializations WHERE asset = ? ORDER BY id", (asset,)
            )
        ]


def _current(root: Path, asset: str = "scaled") -> str:
    with sqlite3.connect(root / ".assetbuild" / "state.db") as db:
        (h,) = db.execute(
            "SELECT m.content_hash FROM current c JOIN materializations m ON m.id = c.materialization "
            "WHERE c.asset = ? AND c.env = 'default'",
            (asset,),
        ).fetchone()
        return str(h)


def _objects(root: Path) -> set[str]:
    base = root / ".assetbuild" / "objects"
    return {p.name.removesuffix(".parquet") for p in base.rglob("*.parquet")}


def test_default_keeps_current_and_the_five_newest_past(make_project, run_cli):
    root = make_project(PROJECT)
    _versions(root, run_cli, range(2, 12))  # ten versions of `scaled`
    mats = _mats(root)
    # current + 5 past; nothing by hand: every build applied the retention itself
    assert len(mats) == 6, mats
    assert mats[-1] == _current(root)
    assert _objects(root) == set(mats) | set(_mats(root, "src"))
    # the newest kept past version restores instantly; an older one is built again
    (root / "assets" / "scaled.sql").write_text("SELECT id, v * 6 AS v FROM src\n")
    assert _status(run_cli, root) == "restored"
    (root / "assets" / "scaled.sql").write_text("SELECT id, v * 2 AS v FROM src\n")
    assert _status(run_cli, root) == "built"


def _status(run_cli, root: Path, name: str = "scaled") -> str:
    r = run_cli(root, "build", "--format", "json")
    assert r.code == 0, r
    return {a["name"]: a["status"] for a in r.json["assets"]}[name]


def test_keep_zero_keeps_current_and_what_the_last_build_replaced(make_project, run_cli):
    root = make_project(PROJECT)
    _config(root, "\n[store]\nkeep = 0\n")
    _versions(root, run_cli, [2, 3, 4, 5])
    mats = _mats(root)
    # the version of build 3 was current when build 4 began: a reader may still hold it
    assert len(mats) == 2, mats
    assert mats[-1] == _current(root)
    # `gc` (nothing builds while it holds the lock) then leaves only current
    r = run_cli(root, "gc", "--format", "json")
    assert r.code == 0 and r.json["keep"] == 0, r
    assert _mats(root) == [_current(root)]


def test_other_environments_current_is_never_deleted(make_project, run_cli):
    root = make_project(PROJECT)
    _config(root, "\n[store]\nkeep = 0\n")
    _versions(root, run_cli, [2])
    prod = _current(root)
    (root / "assetbuild.toml").write_text(
        PROJECT["assetbuild.toml"].replace('name = "keep"', 'name = "keep"\nenvironment = "dev"')
        + "\n[store]\nkeep = 0\n"
    )
    _versions(root, run_cli, [3, 4, 5, 6])
    assert prod in _mats(root)  # "default" still points at it
    assert len(_mats(root)) == 3  # default's current, dev's current, what dev's last build replaced


def test_a_no_op_build_does_not_scan_the_store(make_project, run_cli):
    # a build that moved nothing deletes nothing and leaves the store's bytes as they were
    root = make_project(PROJECT)
    _config(root, "\n[store]\nkeep = 0\n")
    _versions(root, run_cli, [2, 3])
    before = _mats(root)
    r = run_cli(root, "build", "--format", "json")
    assert r.code == 0 and r.json["summary"] == {"up_to_date": 2}, r
    assert _mats(root) == before


def test_a_reader_that_started_before_the_build_keeps_its_data(make_project, run_cli):
    """A notebook holds a lazy frame over the current data; a build with keep = 0 replaces it;
    the frame still reads, because the replaced object survives until the next build."""
    root = make_project(PROJECT)
    _config(root, "\n[store]\nkeep = 0\n")
    _versions(root, run_cli, [2, 3])
    import assetbuild

    frame = assetbuild.read("scaled", project=root, lazy=True)
    _versions(root, run_cli, [4])
    assert frame.collect()["v"].sum() == sum(i * 3 * 3 for i in range(50))


@pytest.mark.parametrize(
    "value, words",
    [
        ("-1", "whole number >= 0"),
        ('"5"', "whole number >= 0"),
        ("2.5", "whole number >= 0"),
        ("true", "whole number >= 0"),
    ],
)
def test_invalid_keep_exits_2_naming_the_line(make_project, run_cli, value, words):
    root = make_project(PROJECT)
    _config(root, f"\n[store]\nkeep = {value}\n")
    for command in ("build", "gc", "plan"):
        r = run_cli(root, command)
        assert r.code == 2, (command, r)
        assert "assetbuild.toml:7" in r.stderr and words in r.stderr and "Traceback" not in r.stderr, r


def test_unknown_store_key_exits_2_with_a_hint(make_project, run_cli):
    root = make_project(PROJECT)
    _config(root, "\n[store]\nkepe = 3\n")
    r = run_cli(root, "build")
    assert r.code == 2 and "assetbuild.toml:7" in r.stderr and "keep" in r.stderr, r


def test_gc_defaults_to_the_projects_keep(make_project, run_cli):
    root = make_project(PROJECT)
    _config(root, "\n[store]\nkeep = 7\n")
    _versions(root, run_cli, [2, 3, 4])
    r = run_cli(root, "gc", "--dry-run", "--format", "json")
    assert r.code == 0 and r.json["keep"] == 7 and r.json["removed_materializations"] == [], r
    r = run_cli(root, "gc", "--keep", "1", "--format", "json")  # the flag still wins
    assert r.code == 0 and r.json["keep"] == 1 and len(r.json["removed_materializations"]) == 1, r


def test_two_builds_at_once_both_apply_it(make_project, run_cli):
    """Two builds at once: neither corrupts the other's store (the lock orders them), and both
    apply the retention."""
    root = make_project(PROJECT)
    _config(root, "\n[store]\nkeep = 1\n")
    _versions(root, run_cli, [2, 3, 4])
    results = []

    def build() -> None:
        results.append(run_cli(root, "build", "--format", "json"))

    (root / "assets" / "scaled.sql").write_text("SELECT id, v * 9 AS v FROM src\n")
    threads = [threading.Thread(target=build) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.code == 0 for r in results), results
    assert len(_mats(root)) <= 3
    assert _current(root) in _objects(root)
