"""`.assetbuild/warehouse.duckdb` shows each asset's current data, whatever the last build did:
a cold build, an incremental one, a restore, a failed check, a failed asset, a `gc`."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from ._support import assert_warehouse_current, build, cli, rows, statuses, warehouse, warehouse_views

SRC = "id,grp,v\n1,a,1\n2,a,2\n3,b,3\n"
SRC2 = SRC + "4,b,4\n5,c,5\n"
BAD = SRC + "6,c,50\n"  # fails clean's rule v <= 10
SRC3 = "id,grp,v\n1,a,7\n2,b,8\n"

FILES = {
    "assetbuild.toml": '[project]\nname = "wh"\n\n[sources.src]\npath = "data/src.csv"\n',
    "data/src.csv": SRC,
    "assets/clean.sql": "SELECT id, grp, v FROM src WHERE v >= 0\n",
    "assets/by_grp.sql": "SELECT grp, sum(v) AS total, count(*) AS n FROM clean GROUP BY grp\n",
    "assets/enriched.py": (
        "import polars as pl\n\nfrom assetbuild import asset\n\n\n@asset\n"
        "def enriched(clean: pl.DataFrame) -> pl.DataFrame:\n"
        '    return clean.with_columns((pl.col("v") * 10).alias("v10"))\n'
    ),
    "rules/clean.yaml": "asset: clean\ncolumns:\n  v: {max: 10}\n",
}
ASSETS = ["by_grp", "clean", "enriched", "src"]
BROKEN_PY = FILES["assets/enriched.py"].replace("return clean", "raise ValueError('boom')\n    return clean")


def test_views_follow_current_through_every_kind_of_build(make_project):
    root = make_project(FILES)

    # cold
    r = build(root)
    assert set(statuses(r).values()) == {"built"}
    cold = assert_warehouse_current(root, ASSETS, "cold build")
    assert rows(cold["by_grp"]) == [("a", 3, 2), ("b", 3, 1)]

    # incremental: new source rows reach every view
    (root / "data/src.csv").write_text(SRC2)
    r = build(root)
    assert statuses(r) == {"src": "built", "clean": "built", "by_grp": "built", "enriched": "built"}
    inc = assert_warehouse_current(root, ASSETS, "incremental build")
    assert rows(inc["by_grp"]) == [("a", 3, 2), ("b", 7, 2), ("c", 5, 1)]
    assert inc["enriched"].height == 5

    # restore: reverting the edit moves the pointers back, and the views with them
    (root / "data/src.csv").write_text(SRC)
    r = build(root)
    assert statuses(r)["clean"] == "restored", r
    restored = assert_warehouse_current(root, ASSETS, "restore")
    for name in ASSETS:
        assert rows(restored[name]) == rows(cold[name]), name

    # failed check: clean's new data is quarantined; its view (and downstream) keep the last good data
    (root / "data/src.csv").write_text(BAD)
    r = build(root, code=1)
    assert statuses(r) == {
        "src": "built",
        "clean": "check_failed",
        "by_grp": "blocked",
        "enriched": "blocked",
    }
    failed = assert_warehouse_current(root, ASSETS, "failed check")
    assert failed["src"]["v"].max() == 50  # the source itself was published
    for name in ("clean", "by_grp", "enriched"):
        assert rows(failed[name]) == rows(cold[name]), name
    assert 50 not in failed["clean"]["v"].to_list()

    # failed asset: enriched raises; its view keeps the last good data, the others move on
    (root / "data/src.csv").write_text(SRC3)
    (root / "assets/enriched.py").write_text(BROKEN_PY)
    r = build(root, code=1)
    assert statuses(r) == {"src": "built", "clean": "built", "by_grp": "built", "enriched": "failed"}
    broken = assert_warehouse_current(root, ASSETS, "failed asset")
    assert rows(broken["clean"]) == [(1, "a", 7), (2, "b", 8)]
    assert rows(broken["enriched"]) == rows(cold["enriched"])

    # gc --keep 1 deletes old objects but never one a view reads
    g = cli(root, "gc", "--keep", "1", "--format", "json")
    assert g.code == 0 and g.json["removed_objects"], str(g)
    after_gc = assert_warehouse_current(root, ASSETS, "gc --keep 1")
    for name in ASSETS:
        assert rows(after_gc[name]) == rows(broken[name]), name


def test_dropped_asset_loses_its_view_and_new_asset_gains_one(make_project):
    root = make_project(FILES)
    build(root)
    (root / "assets/enriched.py").unlink()
    (root / "assets/extra.sql").write_text("SELECT grp FROM by_grp WHERE total > 2\n")
    build(root)
    views = assert_warehouse_current(root, ["by_grp", "clean", "extra", "src"], "after a rename")
    assert "enriched" not in views
    conn = duckdb.connect(str(warehouse(root)), read_only=True)
    try:
        with pytest.raises(duckdb.CatalogException):
            conn.sql("SELECT * FROM enriched").fetchall()
    finally:
        conn.close()


def test_noop_build_leaves_the_warehouse_alone_and_a_deleted_one_comes_back(make_project):
    root = make_project(FILES)
    build(root)
    wh = warehouse(root)
    before = wh.stat().st_mtime_ns
    r = build(root)
    assert set(statuses(r).values()) == {"up_to_date"}
    assert wh.stat().st_mtime_ns == before, "a no-op build rewrote the warehouse"

    wh.unlink()
    build(root)
    assert wh.exists(), "a build did not recreate a deleted warehouse"
    assert_warehouse_current(root, ASSETS, "recreated")


def test_warehouse_is_a_file_of_views_only(make_project):
    """The warehouse holds views over the store's objects, not copies of the data."""
    root = make_project(FILES)
    build(root)
    conn = duckdb.connect(str(warehouse(root)), read_only=True)
    try:
        kinds = dict(conn.sql("SELECT table_name, table_type FROM information_schema.tables").fetchall())
        sqls = [r[0] for r in conn.sql("SELECT sql FROM duckdb_views() WHERE NOT internal").fetchall()]
    finally:
        conn.close()
    assert kinds == {n: "VIEW" for n in ASSETS}
    objects = str(Path(root, ".assetbuild", "objects").resolve())
    assert len(sqls) == len(ASSETS) and all(objects in s for s in sqls), sqls


def test_building_another_environment_keeps_the_default_views(make_project):
    """One schema per environment (`main` for the default): a build in `dev` with other data
    adds `dev.*` views and leaves the default environment's views as they were."""
    root = make_project(FILES)
    build(root)
    cold = warehouse_views(root)
    toml = root / "assetbuild.toml"
    toml.write_text(toml.read_text().replace('name = "wh"', 'name = "wh"\nenvironment = "dev"'))
    (root / "data/src.csv").write_text(SRC2)
    build(root)
    main = warehouse_views(root)
    assert sorted(main) == ASSETS
    for name in ASSETS:
        assert rows(main[name]) == rows(cold[name]), name
    conn = duckdb.connect(str(warehouse(root)), read_only=True)
    try:
        dev = conn.sql("SELECT * FROM dev.by_grp").pl()
    finally:
        conn.close()
    assert rows(dev) == [("a", 3, 2), ("b", 7, 2), ("c", 5, 1)]
