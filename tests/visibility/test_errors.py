"""A failed build says what to do: the asset's own error (user frames only), what it blocked, and the
command that reruns just that part."""

from __future__ import annotations

import re
from pathlib import Path

import assetbuild

PACKAGE = str(Path(assetbuild.__file__).resolve().parent)

PROJECT = {
    "assetbuild.toml": '[project]\nname = "errs"\n[sources.src]\npath = "data/src.csv"\n',
    "data/src.csv": "id,v\n1,10\n2,20\n",
    "assets/model.py": """
        import polars as pl

        from assetbuild import asset


        def _ratio(df):
            return df["v"].sum() / _divisor(df)


        def _divisor(df):
            raise ZeroDivisionError("no rows to divide by in _divisor")


        @asset
        def scored(src: pl.DataFrame) -> pl.DataFrame:
            return src.with_columns(r=_ratio(src))
        """,
    "assets/report_a.sql": "SELECT * FROM scored\n",
    "assets/report_b.sql": "SELECT count(*) AS n FROM report_a\n",
    "assets/fine.sql": "SELECT id FROM src\n",
}


def test_a_failed_python_asset_shows_its_own_frames_what_it_blocked_and_the_rerun(make_project, run_cli):
    root = make_project(PROJECT)
    r = run_cli(root, "build")
    assert r.code == 1, r
    out = r.stdout + r.stderr
    # the user's own frames, innermost last, and the exception
    frames = re.findall(r'File "([^"]+)", line (\d+), in (\w+)', out)
    assert [(f, fn) for f, _, fn in frames] == [
        ("assets/model.py", "scored"),
        ("assets/model.py", "_ratio"),
        ("assets/model.py", "_divisor"),
    ]
    assert "ZeroDivisionError: no rows to divide by in _divisor" in out
    # none of ours: no frame, path or traceback header from the assetbuild package
    assert PACKAGE not in out and "Traceback (most recent call last)" not in out
    # what it blocked, and how to rerun just that part
    assert re.search(r"'scored' blocked: report_a\b", r.stdout), r.stdout
    # run from another folder, the command names the project
    assert f"rerun just that part: assetbuild --project {root} build +scored+" in r.stdout
    assert re.search(r"built\s+fine", r.stderr)  # the unrelated branch still built
    # the same in JSON
    j = run_cli(root, "build", "--format", "json")
    scored = {a["name"]: a for a in j.json["assets"]}["scored"]
    assert scored["status"] == "failed" and 'File "assets/model.py"' in scored["error"]
    assert {a["name"]: a.get("blocked_by") for a in j.json["assets"]}["report_b"] == "report_a"


def test_a_failure_lists_everything_it_blocked_transitively(make_project, run_cli):
    root = make_project(PROJECT)
    r = run_cli(root, "build")
    assert re.search(r"'scored' blocked: report_a, report_b", r.stdout), r.stdout


def test_the_rerun_command_runs_just_that_part(make_project, run_cli):
    root = make_project(PROJECT)
    first = run_cli(root, "build")
    rerun = re.search(r"rerun just that part: (assetbuild --project \S+ build .+)", first.stdout)
    assert rerun, first
    (root / "assets" / "model.py").write_text(
        (root / "assets" / "model.py")
        .read_text()
        .replace('raise ZeroDivisionError("no rows to divide by in _divisor")', "return 2")
    )
    assert rerun.group(1).split()[2] == str(root)
    args = rerun.group(1).split()[4:]
    again = run_cli(root, "build", "--format", "json", *args)
    assert again.code == 0, again
    assert {a["name"]: a["status"] for a in again.json["assets"]} == {
        "src": "up_to_date",
        "scored": "built",
        "report_a": "built",
        "report_b": "built",
    }


def test_a_failed_sql_asset_names_its_file(make_project, run_cli):
    root = make_project({**PROJECT, "assets/fine.sql": "SELECT id, no_such_column FROM src\n"})
    r = run_cli(root, "build", "fine")
    assert r.code == 1, r
    assert "assets/fine.sql" in r.stderr and "no_such_column" in r.stderr
    assert f"rerun just that part: assetbuild --project {root} build +fine+" in r.stdout
    inside = run_cli(None, "build", "fine", cwd=root)  # run inside the project: no --project needed
    assert "rerun just that part: assetbuild build +fine+" in inside.stdout, inside
    assert PACKAGE not in r.stdout + r.stderr
