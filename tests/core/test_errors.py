"""An invalid project exits 2 with `file:line` and a hint in the message, never a traceback."""

from __future__ import annotations

import pytest

TOML = '[project]\nname = "e"\n\n[sources.events]\npath = "data/events.csv"\n'
BASE = {
    "assetbuild.toml": TOML,
    "data/events.csv": "id,amount\n1,2\n",
    "assets/clean.sql": "SELECT * FROM events\n",
}

# label -> (files added to BASE, "file:line" expected in the message, other text expected)
CASES = {
    "bad TOML": (
        {"assetbuild.toml": '[project]\nname = "e"\n[sources.events\npath = "data/events.csv"\n'},
        "assetbuild.toml:3",
        "TOML syntax error",
    ),
    "unknown toml key": (
        {"assetbuild.toml": TOML.replace("path =", "paht =")},
        "assetbuild.toml:5",
        "did you mean 'path'?",
    ),
    "unknown toml section": (
        {"assetbuild.toml": TOML + "\n[lineagee]\nnamespace = 'x'\n"},
        "assetbuild.toml:7",
        "did you mean 'lineage'?",
    ),
    "source matches no file": (
        {"assetbuild.toml": TOML.replace("events.csv", "evts.csv")},
        "assetbuild.toml:4",
        "no file matches 'data/evts.csv'",
    ),
    "duplicate asset names": (
        {
            "assets/dup.py": "from assetbuild import asset\n\n\n@asset\ndef clean(events):\n    return events\n"
        },
        "assets/dup.py:5",
        "also defined at assets/clean.sql:1",
    ),
    "cycle": (
        {"assets/a.sql": "SELECT * FROM b\n", "assets/b.sql": "SELECT *\nFROM a\n"},
        "assets/a.sql:1",
        "a -> b -> a",
    ),
    "longer cycle": (
        {
            "assets/a.sql": "SELECT * FROM c\n",
            "assets/b.sql": "SELECT * FROM a\n",
            "assets/c.sql": "SELECT * FROM b\n",
        },
        "assets/a.sql:1",
        "a -> c -> b -> a",
    ),
    "unknown upstream in SQL": (
        {"assets/x.sql": "SELECT *\nFROM\n  clen\n"},
        "assets/x.sql:3",
        "did you mean 'clean'?",
    ),
    "unknown upstream in Python": (
        {"assets/p.py": "from assetbuild import asset\n\n@asset\ndef p(events, clea):\n    return events\n"},
        "assets/p.py:4",
        "did you mean 'clean'?",
    ),
    "unparsable SQL": (
        {"assets/x.sql": "SELECT a,\n  b\nFROM clean\nWHERE (a > \n"},
        "assets/x.sql:4",
        "SQL syntax error",
    ),
    "SQL with two statements": (
        {"assets/x.sql": "SELECT 1 AS a;\n-- and\nSELECT 2 AS b;\n"},
        "assets/x.sql:3",
        "2 statements",
    ),
    "SQL that is not a query": (
        {"assets/x.sql": "INSERT INTO clean VALUES (1)\n"},
        "assets/x.sql:1",
        "must be a query",
    ),
    "Python syntax error": (
        {"assets/p.py": "from assetbuild import asset\n\n@asset\ndef p(events):\n    return events +\n"},
        "assets/p.py:5",
        "Python syntax error",
    ),
    "unknown @asset argument": (
        {
            "assets/p.py": "from assetbuild import asset\n\n@asset(descripton='x')\ndef p(events):\n    return events\n"
        },
        "assets/p.py:3",
        "did you mean 'description'?",
    ),
    "non-literal @asset argument": (
        {
            "assets/p.py": "from assetbuild import asset\nT = ['a']\n\n@asset(tags=T)\ndef p(events):\n    return events\n"
        },
        "assets/p.py:4",
        "must be a literal",
    ),
    "asset file name not an identifier": (
        {"assets/my-asset.sql": "SELECT 1 AS x\n"},
        "assets/my-asset.sql:1",
        "my_asset.sql",
    ),
}


@pytest.mark.parametrize("label", sorted(CASES))
def test_project_error_exits_2_with_location(make_project, run_cli, label):
    files, location, text = CASES[label]
    root = make_project({**BASE, **files})
    r = run_cli(root, "build")
    assert r.code == 2, r
    assert f"error: {location}" in r.stderr, r
    assert text in r.stderr, r
    assert "Traceback" not in r.stderr + r.stdout
    assert not (root / ".assetbuild" / "objects").exists(), "nothing was built"


def test_project_error_as_json(make_project, run_cli):
    root = make_project({**BASE, "assets/x.sql": "SELECT *\nFROM\n  clen\n"})
    r = run_cli(root, "plan", "--format", "json")
    assert r.code == 2, r
    assert r.json == {
        "error": "asset 'x' reads table 'clen', which is not an asset of this project",
        "file": "assets/x.sql",
        "line": 3,
        "col": None,
        "hint": "did you mean 'clean'?",
    }


def test_missing_project_folder_exits_2(tmp_path, run_cli):
    r = run_cli(tmp_path / "nope", "build")
    assert r.code == 2, r
    assert "Traceback" not in r.stderr


def test_show_unknown_asset_exits_2(make_project, run_cli):
    root = make_project(BASE)
    r = run_cli(root, "show", "clen")
    assert r.code == 2, r
    assert "did you mean 'clean'?" in r.stderr


def test_sql_table_name_case_resolves_like_duckdb(make_project):
    from assetbuild.definitions.loader import load_project

    root = make_project({**BASE, "assets/upper.sql": "SELECT count(*) AS n FROM Clean\n"})
    project = load_project(root)
    assert [u.lower() for u in project.assets["upper"].upstream] == ["clean"]
    assert "upper" in project.downstream["clean"]
