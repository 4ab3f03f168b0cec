"""The Python API as an Airflow or Dagster task calls it: many calls in one process, threads,
and the same structures as the CLI's `--format json`."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

from .projects import PIPELINE, TOP

SCRIPT = """
import json, sys
import assetbuild
root = sys.argv[1]
out = {}
out["plan1"] = assetbuild.plan(root)
out["plan2"] = assetbuild.plan(root)  # the second call used to find a module, not the function
out["build1"] = assetbuild.build(root)
out["build2"] = assetbuild.build(root)
out["check"] = assetbuild.check_assets(root)
out["show"] = assetbuild.show(root, "top_users")
out["rows"] = assetbuild.read("top_users", project=root).height
print(json.dumps(out, default=str))
"""


def _stable(result: dict) -> list[tuple]:
    return [
        (a["name"], a["status"], a["reason"], a["build_key"], a["content_hash"]) for a in result["assets"]
    ]


def test_the_api_works_on_every_call_and_matches_the_cli(make_project, run_cli, monkeypatch):
    monkeypatch.setenv("OPENLINEAGE_DISABLED", "true")
    root = make_project(PIPELINE)
    cli_plan = run_cli(root, "plan", "--format", "json").json
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(root)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert _stable(out["plan1"]) == _stable(out["plan2"]) == _stable(cli_plan)
    assert {a["status"] for a in out["build1"]["assets"]} == {"built"}
    assert {a["status"] for a in out["build2"]["assets"]} == {"up_to_date"}
    assert out["check"]["status"] == "success"
    assert out["show"]["name"] == "top_users" and out["rows"] > 0
    (root / "assets/top_users.sql").write_text(TOP.replace("100", "10"))
    cli_build = run_cli(root, "build", "--format", "json").json
    assert {a["name"]: a["status"] for a in cli_build["assets"]}["top_users"] == "built"
    assert set(cli_build) == set(out["build1"]), "the API returns the CLI's JSON object"


def test_builds_of_two_projects_in_threads(make_project, monkeypatch):
    import assetbuild

    monkeypatch.setenv("OPENLINEAGE_DISABLED", "true")
    roots = [make_project(PIPELINE, name=f"p{i}") for i in range(2)]
    results: dict[int, dict] = {}

    def work(i: int) -> None:
        results[i] = assetbuild.build(roots[i], jobs=1)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert {i: r["status"] for i, r in results.items()} == {0: "success", 1: "success"}
    assert _stable(results[0]) == _stable(results[1]), "same project text, same keys and data"
