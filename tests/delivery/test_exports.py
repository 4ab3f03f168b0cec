"""Exports: published data delivered to the user's paths, atomically, only when it changed, never
from data that failed an error rule, and never outside the project."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest

import assetbuild
from assetbuild.deliver import exports as exports_module
from assetbuild.run.build import build as build_in_process

from ._support import build, cli, leftovers, rows, statuses

SRC = "id,day,amount\n1,mon,10\n2,tue,20\n3,mon,5\n4,wed,7\n"
SRC2 = SRC + "5,tue,30\n6,thu,1\n"
TOO_BIG = SRC + "7,fri,5000\n"  # totals.total > 1000: an error; summary.amount > 500: a warning

TOML = """\
[project]
name = "ex"

[sources.src]
path = "data/src.csv"

[exports]
daily = {path = "out/daily", partition_by = "day"}
totals = "out/totals.parquet"
clean = "out/clean.csv"
summary = "out/wh.duckdb#summary_t"
"""

FILES = {
    "assetbuild.toml": TOML,
    "data/src.csv": SRC,
    "assets/clean.sql": "SELECT id, day, amount FROM src\n",
    "assets/daily.sql": "SELECT day, id, amount FROM clean\n",
    "assets/totals.sql": "SELECT count(*) AS n, sum(amount) AS total FROM clean\n",
    "assets/summary.sql": "SELECT day, sum(amount) AS amount FROM clean GROUP BY day\n",
    "assets/scored.py": (
        "import polars as pl\n\nfrom assetbuild import asset\n\n\n"
        '@asset(export="out/scored.csv")\n'
        "def scored(clean: pl.DataFrame) -> pl.DataFrame:\n"
        '    return clean.select("id", (pl.col("amount") * 2).alias("score"))\n'
    ),
    "rules/totals.yaml": "asset: totals\ncolumns:\n  total: {max: 1000}\n",
    "rules/summary.yaml": "asset: summary\ncolumns:\n  amount: {max: 500, severity: warn}\n",
}
EXPORTED = ["clean", "daily", "scored", "summary", "totals"]


def exported(root: Path) -> dict[str, pl.DataFrame]:
    """What each export holds, read the way its users would."""
    out = root / "out"
    conn = duckdb.connect(str(out / "wh.duckdb"), read_only=True)
    try:
        summary = conn.sql("SELECT * FROM summary_t").pl()
    finally:
        conn.close()
    return {
        "clean": pl.read_csv(out / "clean.csv"),
        "daily": pl.read_parquet(out / "daily" / "**" / "*.parquet", hive_partitioning=True),
        "scored": pl.read_csv(out / "scored.csv"),
        "summary": summary,
        "totals": pl.read_parquet(out / "totals.parquet"),
    }


def assert_exports_current(root: Path) -> dict[str, pl.DataFrame]:
    got = exported(root)
    for name in EXPORTED:
        want = assetbuild.read(name, project=root)
        assert rows(got[name].select(want.columns)) == rows(want), f"export of {name}"
    return got


def stamps(root: Path) -> dict[str, int]:
    """mtime_ns of every file and folder under out/."""
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in sorted((root / "out").rglob("*"))}


def test_every_kind_of_export_lands(make_project):
    root = make_project(FILES)
    r = build(root)
    assert set(statuses(r).values()) == {"built"}
    got = assert_exports_current(root)
    assert rows(got["totals"]) == [(4, 42)]
    assert rows(got["summary"]) == [("mon", 15), ("tue", 20), ("wed", 7)]
    assert sorted(p.name for p in (root / "out/daily").iterdir()) == ["day=mon", "day=tue", "day=wed"]
    assert (
        pl.read_parquet(root / "out/totals.parquet").schema == assetbuild.read("totals", project=root).schema
    )
    assert leftovers(root) == []
    record = json.loads((root / ".assetbuild/exports.json").read_text())
    assert sorted(record) == EXPORTED
    assert (
        record["totals"]["content_hash"]
        == r["assets"][[a["name"] for a in r["assets"]].index("totals")]["content_hash"]
    )


def test_exports_are_rewritten_only_when_their_content_changes(make_project):
    root = make_project(FILES)
    build(root)
    first = stamps(root)

    r = build(root)  # no-op
    assert set(statuses(r).values()) == {"up_to_date"}
    assert stamps(root) == first, "a no-op build rewrote exports"

    # every exported asset runs again, with identical output
    for rel in ("assets/daily.sql", "assets/totals.sql", "assets/summary.sql"):
        (root / rel).write_text((root / rel).read_text().replace("FROM clean", "FROM clean WHERE true"))
    (root / "assets/clean.sql").write_text("SELECT id, day, amount FROM src WHERE amount IS NOT NULL\n")
    py = root / "assets/scored.py"
    py.write_text(py.read_text().replace('pl.col("amount") * 2', 'pl.col("amount") + pl.col("amount")'))
    r = build(root)
    assert {statuses(r)[n] for n in EXPORTED} == {"built"}, r
    assert stamps(root) == first, "an export was rewritten though its content did not change"

    # a deleted export comes back on the next (no-op) build
    (root / "out/clean.csv").unlink()
    build(root)
    assert (root / "out/clean.csv").exists()
    assert stamps(root)["out/totals.parquet"] == first["out/totals.parquet"]

    # new content: every export is rewritten and holds it
    (root / "data/src.csv").write_text(SRC2)
    build(root)
    now = stamps(root)
    for rel in ("out/totals.parquet", "out/clean.csv", "out/scored.csv", "out/wh.duckdb"):
        assert now[rel] != first[rel], rel
    got = assert_exports_current(root)
    assert rows(got["totals"]) == [(6, 73)]
    assert "out/daily/day=thu" in now
    assert leftovers(root) == []


def test_a_changed_target_or_partitioning_is_exported_again(make_project):
    root = make_project(FILES)
    build(root)
    toml = root / "assetbuild.toml"
    toml.write_text(
        TOML.replace('partition_by = "day"', 'partition_by = "id"').replace(
            "out/totals.parquet", "out/t2.parquet"
        )
    )
    r = build(root)
    assert set(statuses(r).values()) == {"up_to_date"}
    assert sorted(p.name for p in (root / "out/daily").iterdir()) == [f"id={i}" for i in range(1, 5)]
    assert rows(pl.read_parquet(root / "out/t2.parquet")) == [(4, 42)]
    assert leftovers(root) == []


# -- failing exports ----------------------------------------------------------------------------

SITECUSTOMIZE = """\
import os

_fail = os.environ.get("ASSETBUILD_TEST_FAIL_REPLACE")
if _fail:
    _real = os.replace

    def _replace(src, dst, *args, **kwargs):
        if str(dst).endswith(_fail):
            raise OSError(28, "No space left on device (injected)")
        return _real(src, dst, *args, **kwargs)

    os.replace = _replace
"""


@pytest.mark.parametrize("target", ["out/totals.parquet", "out/clean.csv"])
def test_a_failing_export_keeps_the_previous_one_and_fails_the_build(make_project, tmp_path, target):
    root = make_project(FILES)
    build(root)
    before = (root / target).read_bytes()
    inject = tmp_path / "inject"
    inject.mkdir()
    (inject / "sitecustomize.py").write_text(SITECUSTOMIZE)

    (root / "data/src.csv").write_text(SRC2)
    pythonpath = os.pathsep.join(filter(None, [str(inject), os.environ.get("PYTHONPATH")]))
    env = {"PYTHONPATH": pythonpath, "ASSETBUILD_TEST_FAIL_REPLACE": target}
    r = cli(root, "build", env=env)
    assert r.code == 1, str(r)
    assert f"export of '{Path(target).stem}' to {target} failed" in r.stdout + r.stderr, str(r)
    assert "injected" in r.stdout + r.stderr
    assert (root / target).read_bytes() == before, "the previous export was damaged"
    assert leftovers(root) == []
    # the data was published and the other exports delivered
    assert rows(assetbuild.read("totals", project=root)) == [(6, 73)]
    if target == "out/clean.csv":
        assert rows(pl.read_parquet(root / "out/totals.parquet")) == [(6, 73)]
    else:
        assert pl.read_csv(root / "out/clean.csv").height == 6
    assert rows(pl.read_csv(root / "out/scored.csv")) == rows(assetbuild.read("scored", project=root))

    j = cli(root, "build", "--format", "json", env=env)
    assert j.code == 1 and j.json["status"] != "success" and any(target in e for e in j.json["errors"]), str(
        j
    )

    # once the disk is fine again the next (no-op) build delivers it
    r = build(root)
    assert set(statuses(r).values()) == {"up_to_date"}
    assert_exports_current(root)
    assert leftovers(root) == []


@pytest.mark.parametrize("how", ["write", "swap"])
def test_a_failing_folder_export_keeps_the_previous_folder(make_project, monkeypatch, how):
    root = make_project(FILES)
    build(root)
    folder = root / "out/daily"
    before = {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*.parquet")}
    (root / "data/src.csv").write_text(SRC2)

    if how == "write":  # the new folder cannot be written
        real = pl.DataFrame.write_parquet

        def write_parquet(self, file, *args, **kwargs):
            if ".daily.assetbuild-tmp" in str(file):
                raise OSError(28, "No space left on device (injected)")
            return real(self, file, *args, **kwargs)

        monkeypatch.setattr(pl.DataFrame, "write_parquet", write_parquet)
    else:  # the new folder cannot be put in place (no atomic exchange, and the rename fails)
        real_replace = exports_module.os.replace

        def replace(src, dst, *args, **kwargs):
            if str(dst) == str(folder.resolve()) and "assetbuild-tmp" in str(src):
                raise OSError(28, "No space left on device (injected)")
            return real_replace(src, dst, *args, **kwargs)

        monkeypatch.setattr(exports_module, "_exchange", lambda a, b: False)
        monkeypatch.setattr(exports_module.os, "replace", replace)

    result = build_in_process(root, lineage=False)
    monkeypatch.undo()
    assert not result.ok
    assert any("export of 'daily' to out/daily failed" in e for e in result.errors), result.errors
    after = {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*.parquet")}
    assert after == before, "the previous folder export was damaged"
    assert leftovers(root) == []


def test_a_reader_holding_the_duckdb_export_fails_only_that_export(make_project, tmp_path):
    root = make_project(FILES)
    build(root)
    stop = tmp_path / "stop"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time, pathlib\n"
            "c = duckdb.connect(sys.argv[1], read_only=True)\n"
            "print(c.execute('SELECT sum(amount) FROM summary_t').fetchone()[0], flush=True)\n"
            "while not pathlib.Path(sys.argv[2]).exists(): time.sleep(0.02)\n"
            "print(c.execute('SELECT sum(amount) FROM summary_t').fetchone()[0], flush=True)\n",
            str(root / "out/wh.duckdb"),
            str(stop),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "42"
        (root / "data/src.csv").write_text(SRC2)
        r = cli(root, "build")
        assert r.code == 1, str(r)
        assert "export of 'summary' to out/wh.duckdb#summary_t failed" in r.stdout + r.stderr, str(r)
    finally:
        stop.touch()
        out, _ = holder.communicate(timeout=30)
    assert out.strip() == "42"  # the holder kept reading the previous table
    assert rows(pl.read_csv(root / "out/clean.csv")) == rows(assetbuild.read("clean", project=root))
    conn = duckdb.connect(str(root / "out/wh.duckdb"), read_only=True)
    try:
        assert conn.execute("SELECT sum(amount) FROM summary_t").fetchone() == (42,)
    finally:
        conn.close()
    build(root)  # the reader is gone: the export lands
    assert rows(exported(root)["summary"]) == rows(assetbuild.read("summary", project=root))
    assert leftovers(root) == []


# -- gating -------------------------------------------------------------------------------------


def test_data_failing_an_error_rule_is_never_exported(make_project):
    root = make_project(FILES)
    build(root)
    first, good = stamps(root), exported(root)
    record = (root / ".assetbuild/exports.json").read_text()

    (root / "data/src.csv").write_text(TOO_BIG)
    r = build(root, code=1)
    assert statuses(r)["totals"] == "check_failed" and statuses(r)["summary"] == "built", r
    now = stamps(root)
    assert now["out/totals.parquet"] == first["out/totals.parquet"]
    assert rows(pl.read_parquet(root / "out/totals.parquet")) == rows(good["totals"]) == [(4, 42)]
    assert (
        json.loads((root / ".assetbuild/exports.json").read_text())["totals"] == json.loads(record)["totals"]
    )
    # a failing warning does not hold an export back, nor do the error rules of other assets
    assert ("fri", 5000) in rows(exported(root)["summary"])
    assert 7 in pl.read_csv(root / "out/clean.csv")["id"].to_list()

    # an error rule on an upstream asset holds back the whole downstream
    (root / "data/src.csv").write_text(SRC2)
    (root / "rules/clean.yaml").write_text("asset: clean\ncolumns:\n  amount: {max: 25}\n")
    r = build(root, code=1)
    assert statuses(r)["clean"] == "check_failed", r
    assert {statuses(r)[n] for n in ("daily", "scored", "summary", "totals")} == {"blocked"}
    blocked = exported(root)
    assert 30 not in blocked["clean"]["amount"].to_list()
    assert 5 not in blocked["scored"]["id"].to_list() and 5 not in blocked["daily"]["id"].to_list()
    assert leftovers(root) == []


def test_current_data_failing_a_tightened_rule_is_not_delivered(make_project):
    """A rule tightened so that the current data fails: the data stays current (nothing better
    exists), but an export added now must not deliver it."""
    files = {**FILES, "assetbuild.toml": TOML.replace('totals = "out/totals.parquet"\n', "")}
    root = make_project(files)
    build(root)
    assert not (root / "out/totals.parquet").exists()
    (root / "rules/totals.yaml").write_text("asset: totals\ncolumns:\n  total: {max: 10}\n")
    (root / "assetbuild.toml").write_text(TOML)
    r = build(root, code=1)
    assert statuses(r)["totals"] == "check_failed", r
    assert not (root / "out/totals.parquet").exists(), "data failing an error rule was exported"
    assert "totals" not in json.loads((root / ".assetbuild/exports.json").read_text())
    assert leftovers(root) == []


# -- where exports may go ------------------------------------------------------------------------

OUTSIDE = [
    '[exports]\ntotals = "../x.parquet"\n',
    '[exports]\ntotals = "out/../../x.csv"\n',
    '[exports]\ntotals = {path = "../x", partition_by = "n"}\n',
    '[exports]\ntotals = "../x.duckdb#t"\n',
    "ABSOLUTE",
]


@pytest.mark.parametrize("case", OUTSIDE + ["PYTHON"], ids=lambda c: c.splitlines()[-1] if "\n" in c else c)
def test_an_export_leaving_the_project_is_a_project_error(make_project, tmp_path, case):
    files = dict(FILES)
    files["assetbuild.toml"] = TOML.split("[exports]")[0]
    if case == "ABSOLUTE":
        files["assetbuild.toml"] += f'[exports]\ntotals = "{(tmp_path / "abs.parquet").as_posix()}"\n'
    elif case == "PYTHON":
        files["assets/scored.py"] = files["assets/scored.py"].replace("out/scored.csv", "../x.csv")
    else:
        files["assetbuild.toml"] += case
    root = make_project(files)
    r = cli(root, "build")
    assert r.code == 2, str(r)
    assert "leaves the project" in r.stderr and "Traceback" not in r.stderr, str(r)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proj"], "something was written outside the project"
    assert not (root / ".assetbuild" / "objects").exists() or not any(
        (root / ".assetbuild/objects").iterdir()
    )


def test_a_folder_export_never_replaces_the_project_or_its_files(make_project):
    files = dict(FILES)
    files["assetbuild.toml"] = TOML.split("[exports]")[0] + (
        '[exports]\nclean = "data/"\nsummary = "assets/"\n'
    )  # (the project folder itself is refused before building: see the next test)
    root = make_project(files)
    before = {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    r = cli(root, "build")
    assert r.code != 0, str(r)
    for asset in ("clean", "summary"):
        assert f"export of '{asset}'" in r.stdout + r.stderr, str(r)
    for rel, content in before.items():
        assert (root / rel).read_bytes() == content, f"{rel} was damaged"
    assert sorted(p.name for p in (root / "assets").iterdir()) == sorted(
        Path(p).name for p in FILES if "assets/" in p
    )
    assert leftovers(root) == []


@pytest.mark.parametrize("target", ["./", "./.assetbuild/x.parquet"])
def test_an_export_onto_the_project_or_its_store_is_a_project_error(make_project, target):
    files = dict(FILES)
    files["assetbuild.toml"] = TOML.split("[exports]")[0] + f'[exports]\ntotals = "{target}"\n'
    root = make_project(files)
    r = cli(root, "build")
    assert r.code == 2, str(r)
