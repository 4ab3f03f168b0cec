"""A SQL asset's result depends only on its build key: no session setting of the machine (the time
zone) and no file it reads by itself (undeclared inputs are refused)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .projects import by_name, run

TOML = '[project]\nname = "iso"\n\n[sources.events]\npath = "data/events.csv"\n'
EVENTS = "id,ts\n1,2026-03-01T02:30:00+00:00\n2,2026-03-01T23:30:00+00:00\n"
DAY = "SELECT id, date_trunc('day', CAST(ts AS TIMESTAMPTZ)) AS day FROM events\n"


def _build_json(root: Path, tz: str) -> dict:
    exe = str(Path(sys.executable).with_name("assetbuild"))
    env = {**os.environ, "TZ": tz, "OPENLINEAGE_DISABLED": "true"}
    done = subprocess.run(
        [exe, "--project", str(root), "build", "--format", "json"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    import json

    return {a["name"]: a for a in json.loads(done.stdout)["assets"]}


def test_the_machine_time_zone_does_not_change_results(make_project, tmp_path):
    utc = make_project(
        {"assetbuild.toml": TOML, "data/events.csv": EVENTS, "assets/days.sql": DAY}, name="utc"
    )
    ny = make_project({"assetbuild.toml": TOML, "data/events.csv": EVENTS, "assets/days.sql": DAY}, name="ny")
    a = _build_json(utc, "UTC")["days"]
    b = _build_json(ny, "America/New_York")["days"]
    assert a["content_hash"] == b["content_hash"], "a clean build is the same on every machine"
    again = _build_json(utc, "America/New_York")["days"]
    assert again["status"] == "up_to_date" and again["content_hash"] == a["content_hash"]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_csv('data/extra.csv')\n",
        "SELECT e.id FROM events e JOIN read_parquet('/etc/x.parquet') p ON true\n",
        "SELECT * FROM glob('data/*')\n",
    ],
)
def test_an_asset_that_reads_a_file_itself_is_a_project_error(make_project, run_cli, sql):
    root = make_project(
        {
            "assetbuild.toml": TOML,
            "data/events.csv": EVENTS,
            "data/extra.csv": "a\n1\n",
            "assets/sneaky.sql": sql,
        }
    )
    r = run_cli(root, "build")
    assert r.code == 2, r
    assert "assets/sneaky.sql:1" in r.stderr and "not an input of this asset" in r.stderr
    assert "[sources.NAME]" in r.stderr


def test_pure_table_functions_are_fine(make_project):
    root = make_project(
        {
            "assetbuild.toml": TOML,
            "data/events.csv": EVENTS,
            "assets/nums.sql": "SELECT range AS n FROM range(3)\n",
        }
    )
    assert by_name(run(root))["nums"].rows == 3


def test_the_engine_itself_refuses_files_outside_the_store(tmp_path):
    from assetbuild.executor.sql import SqlEngine

    (tmp_path / "x.csv").write_text("a\n1\n")
    engine = SqlEngine(readable=[tmp_path / "objects"])
    try:
        with pytest.raises(Exception, match="disabled by configuration|Permission"):
            engine.conn.sql(f"SELECT * FROM read_csv('{tmp_path / 'x.csv'}')").fetchall()
        with pytest.raises(Exception, match="locked|external access"):
            engine.conn.execute("SET enable_external_access = true")
    finally:
        engine.close()
