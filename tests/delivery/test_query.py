"""`assetbuild query`: read-only SQL over the current assets, and nothing else."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from assetbuild.errors import ProjectError
from assetbuild.run.read import query

from ._support import build, cli, write_files

FILES = {
    "assetbuild.toml": '[project]\nname = "q"\n\n[sources.src]\npath = "data/src.csv"\n',
    "data/src.csv": "id,name,amount\n1,ann,10\n2,bob,20\n3,cy,30\n",
    "assets/big.sql": "SELECT id, name, amount FROM src WHERE amount > 10\n",
    "assets/total.sql": "SELECT sum(amount) AS total FROM big\n",
    "rules/big.yaml": "asset: big\ncolumns:\n  amount: {max: 100}\n",
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("query") / "proj"
    write_files(root, FILES)
    build(root)
    return root


def test_json_csv_and_table_formats_show_the_current_data(project):
    sql = "SELECT b.id, b.name, t.total FROM big b, total t ORDER BY b.id"
    j = cli(project, "query", sql, "--format", "json")
    assert j.code == 0, str(j)
    assert j.json == {
        "columns": ["id", "name", "total"],
        "rows": [[2, "bob", 50], [3, "cy", 50]],
        "row_count": 2,
    }

    c = cli(project, "query", sql, "--format", "csv")
    assert c.code == 0, str(c)
    assert list(csv.reader(io.StringIO(c.stdout))) == [
        ["id", "name", "total"],
        ["2", "bob", "50"],
        ["3", "cy", "50"],
    ]

    t = cli(project, "query", sql)
    assert t.code == 0, str(t)
    assert all(word in t.stdout for word in ("id", "name", "total", "bob", "cy", "50"))
    assert "ann" not in t.stdout


def test_query_follows_new_builds_and_keeps_failed_data_out(make_project):
    root = make_project(FILES)
    build(root)
    (root / "data/src.csv").write_text("id,name,amount\n1,ann,10\n2,bob,20\n3,cy,30\n4,di,40\n")
    build(root)
    assert cli(root, "query", "SELECT total FROM total", "--format", "json").json["rows"] == [[90]]
    (root / "data/src.csv").write_text("id,name,amount\n1,ann,10\n5,ed,500\n")  # fails big's rule
    build(root, code=1)
    q = cli(root, "query", "SELECT max(amount) AS m, count(*) AS n FROM big", "--format", "json")
    assert q.json["rows"] == [[40, 3]], str(q)  # the last good data
    s = cli(root, "query", "SELECT count(*) AS n FROM src", "--format", "json")
    assert s.json["rows"] == [[2]], str(s)  # the source itself has no rule: its new data is current


WRITES = [
    "CREATE TABLE x AS SELECT 1 AS a",
    "INSERT INTO big VALUES (9, 'zed', 1)",
    "COPY big TO 'stolen.csv'",
    "COPY (SELECT * FROM big) TO 'stolen.parquet' (FORMAT parquet)",
    "ATTACH 'other.duckdb' AS other",
    "SET enable_external_access = true",
    "DROP VIEW big",
    "SELECT 1; CREATE TABLE y (a INT)",
    "PRAGMA enable_profiling",
    "INSTALL sqlite",
]
READS = [
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM '/etc/passwd'",
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT * FROM glob('/etc/*')",
    "SELECT * FROM read_csv('data/src.csv')",
    "SELECT * FROM read_parquet('.assetbuild/objects/*/*.parquet')",
    "SELECT * FROM sqlite_scan('.assetbuild/state.db', 'current')",
]


@pytest.mark.parametrize("sql", WRITES)
def test_writes_are_refused(project, sql, monkeypatch):
    monkeypatch.chdir(project)  # relative paths in the SQL land in the project
    with pytest.raises(ProjectError, match="read-only"):
        query(project, sql)
    assert not list(project.glob("stolen*")) and not (project / "other.duckdb").exists()


@pytest.mark.parametrize("sql", READS)
def test_nothing_but_the_assets_can_be_read(project, sql, monkeypatch):
    monkeypatch.chdir(project)
    with pytest.raises(ProjectError, match="^query failed: "):
        query(project, sql)


@pytest.mark.parametrize("sql", [WRITES[0], WRITES[2], WRITES[5], READS[0], READS[6]])
def test_the_cli_refuses_with_exit_2_and_a_message(project, sql):
    r = cli(project, "query", sql, "--format", "json")
    assert r.code == 2, str(r)
    assert r.stderr.startswith("error: ") and "Traceback" not in r.stderr, str(r)
    assert isinstance(r.json, dict) and "rows" not in r.json and r.json["error"], str(r)
    assert "root:x:" not in r.stdout
    assert not list(project.glob("stolen*"))


def test_a_quarantined_object_cannot_be_read(make_project):
    root = make_project(FILES)
    build(root)
    (root / "data/src.csv").write_text("id,name,amount\n7,gus,700\n")
    build(root, code=1)
    objects = sorted((root / ".assetbuild/objects").rglob("*.parquet"))
    current = {
        cli(root, "show", n, "--format", "json").json["current"]["object"] for n in ("src", "big", "total")
    }
    quarantined = [str(p) for p in objects if str(p) not in current]
    assert quarantined, "the failed build left no quarantined object"
    for path in quarantined:
        r = cli(root, "query", f"SELECT * FROM read_parquet('{path}')", "--format", "json")
        assert r.code != 0 and "gus" not in r.stdout, str(r)


def test_an_unknown_table_gets_a_clear_message(project):
    r = cli(project, "query", "SELECT * FROM bgi")
    assert r.code == 2, str(r)
    assert "bgi does not exist" in r.stderr and "did you mean 'big'?" in r.stderr, str(r)
    r = cli(project, "query", "SELECT * FROM nothing_like_it")
    assert r.code == 2 and "big, src, total" in r.stderr, str(r)


def test_a_never_built_asset_says_so(make_project):
    root = make_project(FILES)
    build(root)
    (root / "assets/later.sql").write_text("SELECT 1 AS one\n")
    r = cli(root, "query", "SELECT * FROM later")
    assert r.code == 2 and "'later' has not been built yet" in r.stderr, str(r)
