"""`assetbuild build` from the outside: the JSON of DESIGN §5, text output, exit codes 0/1, `show`."""

from __future__ import annotations

from .projects import PIPELINE, TOP

STATUSES = {"built", "restored", "up_to_date", "failed", "check_failed", "blocked", "skipped"}
ASSET_KEYS = {"name", "status", "reason", "duration_s", "rows", "content_hash", "build_key", "checks"}
CHECK_KEYS = {"name", "severity", "passed", "failing_rows"}

WARN_CHECK = """\
from assetbuild import check
import polars as pl

@check(asset="clean", severity="warn")
def big_amounts(df):
    return df.filter(pl.col("amount") > 80)
"""


def _assert_shape(doc: dict) -> None:
    assert {"run_id", "status", "assets", "summary"} <= set(doc)
    assert isinstance(doc["run_id"], str) and doc["run_id"]
    assert doc["status"] in ("success", "failed")
    assert isinstance(doc["assets"], list) and doc["assets"]
    for a in doc["assets"]:
        assert set(a) >= ASSET_KEYS, a
        assert a["status"] in STATUSES
        assert isinstance(a["name"], str) and isinstance(a["reason"], str)
        assert isinstance(a["duration_s"], int | float) and a["duration_s"] >= 0
        assert a["rows"] is None or isinstance(a["rows"], int)
        for key in ("content_hash", "build_key"):
            assert a[key] is None or (isinstance(a[key], str) and len(a[key]) == 32)
        assert isinstance(a["checks"], list)
        for c in a["checks"]:
            assert set(c) >= CHECK_KEYS, c
            assert c["severity"] in ("error", "warn")
            assert isinstance(c["passed"], bool) and isinstance(c["failing_rows"], int)
    counted: dict[str, int] = {}
    for a in doc["assets"]:
        counted[a["status"]] = counted.get(a["status"], 0) + 1
    assert doc["summary"] == counted


def test_build_json_shape_and_statuses(make_project, run_cli):
    root = make_project({**PIPELINE, "assets/checks.py": WARN_CHECK})
    first = run_cli(root, "build", "--format", "json")
    assert first.code == 0, first
    _assert_shape(first.json)
    assert first.json["status"] == "success"
    assert first.json["summary"] == {"built": 6}
    assets = {a["name"]: a for a in first.json["assets"]}
    assert [a["name"] for a in first.json["assets"]][0] == "events", "dependency order"
    assert assets["events"]["kind"] == "source" and assets["clean"]["kind"] == "python"
    assert assets["by_user"]["rows"] == 7
    (check,) = assets["clean"]["checks"]
    assert (check["severity"], check["passed"], check["failing_rows"]) == ("warn", False, 6), (
        "warn never fails"
    )

    second = run_cli(root, "build", "--format", "json")
    assert second.code == 0, second
    _assert_shape(second.json)
    assert second.json["summary"] == {"up_to_date": 6}
    assert second.json["run_id"] != first.json["run_id"]
    again = {a["name"]: a for a in second.json["assets"]}
    for name, a in assets.items():
        assert (again[name]["content_hash"], again[name]["build_key"]) == (a["content_hash"], a["build_key"])

    (root / "assets/top_users.sql").write_text(TOP.replace("100", "10"))
    third = run_cli(root, "build", "--format", "json")
    assert third.json["summary"] == {"up_to_date": 5, "built": 1}
    (root / "assets/top_users.sql").write_text(TOP)
    fourth = run_cli(root, "build", "--format", "json")
    assert fourth.json["summary"] == {"up_to_date": 5, "restored": 1}
    assert {a["name"]: a["content_hash"] for a in fourth.json["assets"]}["top_users"] == assets["top_users"][
        "content_hash"
    ]


def test_text_output_and_default_project_is_cwd(make_project, run_cli):
    root = make_project(PIPELINE)
    r = run_cli(None, "build", cwd=root)
    assert r.code == 0, r
    assert r.stdout.strip().splitlines()[-1].startswith("OK: 6 built")
    again = run_cli(None, "build", cwd=root)
    assert again.stdout.strip().splitlines()[-1].startswith("OK: 6 up_to_date")


def test_parallel_build_gives_the_same_data(make_project, run_cli):
    serial = run_cli(make_project(PIPELINE, "serial"), "build", "-j", "1", "--format", "json")
    parallel = run_cli(make_project(PIPELINE, "parallel"), "build", "-j", "2", "--format", "json")
    assert serial.code == parallel.code == 0
    hashes = [
        {a["name"]: (a["content_hash"], a["build_key"]) for a in r.json["assets"]} for r in (serial, parallel)
    ]
    assert hashes[0] == hashes[1]


BROKEN = """\
from assetbuild import asset

def _explode(df):
    raise ValueError("amount column is cursed")

@asset
def broken(events):
    return _explode(events)
"""


def test_failing_asset_exits_1_with_the_users_frames(make_project, run_cli):
    root = make_project(
        {**PIPELINE, "assets/broken.py": BROKEN, "assets/after.sql": "SELECT * FROM broken\n"}
    )
    r = run_cli(root, "build")
    assert r.code == 1, r
    out = r.stdout + r.stderr
    assert "amount column is cursed" in out
    assert 'File "assets/broken.py", line 4, in _explode' in out
    assert "Traceback (most recent call last)" not in out
    assert "assetbuild/build.py" not in out and "assetbuild/executor" not in out
    js = run_cli(root, "build", "--format", "json")
    assert js.code == 1
    _assert_shape(js.json)
    assert js.json["status"] == "failed"
    s = {a["name"]: a["status"] for a in js.json["assets"]}
    assert s["broken"] == "failed" and s["after"] == "blocked" and s["top_users"] == "up_to_date"
    assert js.json["summary"]["failed"] == 1 and js.json["summary"]["blocked"] == 1


def test_fail_fast_reports_skipped(make_project, run_cli):
    files = {
        **PIPELINE,
        "assets/broken.py": BROKEN,
        "assets/z1.sql": "SELECT count(*) AS n FROM by_user\n",
        "assets/z2.sql": "SELECT n FROM z1\n",
    }
    r = run_cli(make_project(files), "build", "--fail-fast", "-j", "1", "--format", "json")
    assert r.code == 1, r
    _assert_shape(r.json)
    assert r.json["summary"].get("skipped", 0) >= 1
    assert {a["name"]: a["status"] for a in r.json["assets"]}["z2"] == "skipped"


def test_failing_error_rule_exits_1(make_project, run_cli):
    files = {**PIPELINE, "rules/user_count.yaml": "asset: user_count\ntable:\n  row_count: {min: 5}\n"}
    r = run_cli(make_project(files), "build", "--format", "json")
    assert r.code == 1, r
    s = {a["name"]: a["status"] for a in r.json["assets"]}
    assert s["user_count"] == "check_failed" and s["user_label"] == "blocked"


def test_show_asset_json(make_project, run_cli):
    root = make_project(PIPELINE)
    never = run_cli(root, "show", "clean", "--format", "json")
    assert never.code == 0, never
    assert never.json["current"] is None
    built = {a["name"]: a for a in run_cli(root, "build", "--format", "json").json["assets"]}
    r = run_cli(root, "show", "clean", "--format", "json")
    assert r.code == 0, r
    info = r.json
    assert info["name"] == "clean" and info["kind"] == "python"
    assert info["defined_in"] == "assets/clean.py:12"
    assert info["description"] == "positive amounts" and info["tags"] == ["payments"]
    assert info["upstream"] == ["events"] and info["downstream"] == ["by_user"]
    assert isinstance(info["code_fingerprint"], str) and len(info["code_fingerprint"]) == 32
    cur = info["current"]
    assert cur["content_hash"] == built["clean"]["content_hash"]
    assert cur["build_key"] == built["clean"]["build_key"]
    assert cur["rows"] == built["clean"]["rows"]
    assert [c["name"] for c in cur["schema"]] == ["id", "user_id", "amount"]
    assert info["last_run"]["status"] == "built"
    src = run_cli(root, "show", "events", "--format", "json").json
    assert [f["path"] for f in src["files"]] == ["data/events.csv"]
    text = run_cli(root, "show", "by_user", "--rows", "2")
    assert text.code == 0 and "content hash: " + built["by_user"]["content_hash"] in text.stdout


def test_build_jobs_in_the_config_is_the_default_parallelism(make_project, monkeypatch):
    from assetbuild.core import scheduler

    seen = []
    real = scheduler.Scheduler.__init__

    def spy(self, *args, **kwargs):
        seen.append(kwargs["jobs"])
        real(self, *args, **kwargs)

    monkeypatch.setattr(scheduler.Scheduler, "__init__", spy)
    files = dict(PIPELINE)
    files["assetbuild.toml"] = files["assetbuild.toml"] + "\n[build]\njobs = 3\n"
    root = make_project(files)
    from assetbuild.run.build import build

    build(root, lineage=False)
    build(root, lineage=False, jobs=1)
    assert seen == [3, 1], "[build] jobs is the default; --jobs wins"


def test_an_unsupported_dialect_is_a_project_error(make_project, run_cli):
    files = dict(PIPELINE)
    files["assetbuild.toml"] = files["assetbuild.toml"].replace(
        "[project]\n", '[project]\ndialect = "tsql"\n'
    )
    r = run_cli(make_project(files), "plan")
    assert r.code == 2, r
    assert "assetbuild.toml:2" in r.stderr and "dialect 'tsql'" in r.stderr


def test_a_command_run_from_a_subfolder_finds_the_project_above(make_project, tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = make_project(PIPELINE)
    sub = root / "assets" / "deep"
    sub.mkdir(parents=True)
    exe = str(Path(sys.executable).with_name("assetbuild"))
    env = {"OPENLINEAGE_DISABLED": "true", "PATH": "/usr/bin:/bin"}
    r = subprocess.run([exe, "plan", "--format", "json"], cwd=sub, capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert f"using the project in {root.resolve()}" in r.stderr
    assert "events" in {a["name"] for a in json.loads(r.stdout)["assets"]}
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    r = subprocess.run([exe, "plan"], cwd=outside, capture_output=True, text=True, env=env)
    assert r.returncode == 2 and "no assetbuild.toml" in r.stderr


def test_cli_edges_are_clear_errors(make_project, run_cli, tmp_path):
    root = make_project(PIPELINE)
    missing = run_cli(root, "build", "--junit-xml", str(tmp_path / "no" / "such" / "j.xml"))
    assert missing.code == 2 and "does not exist" in missing.stderr, missing
    assert not (root / ".assetbuild" / "state.db").exists(), "refused before anything ran"
    assert run_cli(root, "build").code == 0
    negative = run_cli(root, "query", "SELECT 1 AS x", "--limit", "-1")
    assert negative.code == 2, negative
    empty = tmp_path / "empty"
    empty.mkdir()
    gc = run_cli(empty, "gc", "--format", "json")
    assert gc.code == 2 and "not a project" in gc.stderr, gc
