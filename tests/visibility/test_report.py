"""`assetbuild report`: one offline HTML page with every asset coloured by its state and its details."""

from __future__ import annotations

import json
import re

from .conftest import EXPECTED_STATES, MIXED


def _page_data(html: str) -> dict:
    m = re.search(r'<script id="data" type="application/json">(.*?)</script>', html, re.S)
    assert m, "the page embeds its data"
    return json.loads(m.group(1))


def _node_classes(html: str) -> dict[str, str]:
    return dict((name, cls) for cls, name in re.findall(r'<g class="node ([^"]+)" data-name="([^"]+)"', html))


def test_report_is_self_contained_and_colours_every_state(mixed, run_cli, tmp_path):
    out = tmp_path / "out" / "report.html"
    r = run_cli(mixed, "report", "-o", str(out), "--format", "json")
    assert r.code == 0, r
    assert r.json["path"] == str(out.resolve()) and r.json["assets"] == len(EXPECTED_STATES)
    assert r.json["states"] == {"built": 4, "check_failed": 1, "blocked": 2, "failed": 1}
    html = out.read_text()
    # offline: nothing fetched from anywhere (no src/href to a URL, no external stylesheet or font)
    assert not re.search(r'(?:src|href)\s*=\s*"(?:https?:)?//', html)
    assert "<link" not in html and "@import" not in html and "url(http" not in html
    classes = _node_classes(html)
    assert set(classes) == set(EXPECTED_STATES)
    for name, state in EXPECTED_STATES.items():
        assert f"s-{state}" in classes[name].split(), (name, classes[name])
    assert "k-python" in classes["enriched"] and "k-source" in classes["orders"]


def test_report_details_per_asset(mixed, run_cli):
    r = run_cli(mixed, "report")
    assert r.code == 0, r
    html = (mixed / ".assetbuild" / "report.html").read_text()  # the default place
    assets = _page_data(html)["assets"]
    # a Python asset: its own function's source (decorator included), description, owner, tags
    enriched = assets["enriched"]
    assert enriched["code"]["lang"] == "python"
    assert enriched["code"]["text"].startswith("@asset(") and "def enriched" in enriched["code"]["text"]
    assert "import polars" not in enriched["code"]["text"]
    assert (enriched["owner"], enriched["tags"]) == ("vis-team", ["finance", "daily"])
    assert enriched["description"] == "Days with doubled revenue"
    assert enriched["data"]["rows"] == 5 and ["doubled", "Float64"] in enriched["data"]["schema"]
    assert enriched["last_build"]["status"] == "built" and enriched["last_build"]["duration_s"] > 0
    # a SQL asset: its SQL and column lineage from its upstream's columns
    by_day = assets["by_day"]
    assert by_day["code"]["text"] == MIXED["assets/by_day.sql"]
    assert {s["asset"] + "." + s["column"] for s in by_day["lineage"]["revenue"]} == {"clean.amount"}
    assert by_day["lineage"]["revenue"][0]["subtype"] == "AGGREGATION"
    assert by_day["upstream"] == ["clean"] and by_day["downstream"] == ["enriched"]
    # a failing rule: the check, its failing-row count and a sample of the failing rows
    totals = assets["totals"]
    failing = [c for c in totals["checks"] if not c["passed"]]
    assert [c["name"] for c in failing] == ["total.min"]
    assert failing[0]["failing_rows"] == 1 and failing[0]["sample"][0]["n"] == 39
    # a failed asset: the error from the engine, and no published data
    broken = assets["broken"]
    assert "the broken asset exploded" in broken["last_run"]["error"]
    assert broken["data"] is None
    # passing checks are shown too
    assert {c["name"]: c["passed"] for c in assets["clean"]["checks"]} == {
        "id.nullable": True,
        "id.unique": True,
    }


def test_report_after_changes_marks_what_changed(mixed, run_cli):
    (mixed / "assets" / "by_day.sql").write_text(
        "SELECT day, sum(amount) AS revenue FROM clean GROUP BY day\n"
    )
    (mixed / "assets" / "broken.sql").write_text("SELECT id FROM clean\n")
    assert run_cli(mixed, "build", "broken+").code == 0
    r = run_cli(mixed, "report", "--format", "json")
    assert r.code == 0, r
    page = _page_data((mixed / ".assetbuild" / "report.html").read_text())
    assets = page["assets"]
    assert assets["broken"]["state"] == "built" and assets["after_broken"]["state"] == "built"
    assert assets["by_day"]["state"] == "built"  # by its last run (not selected this time) ...
    assert "code changed" in assets["by_day"]["stale"]  # ... but its SQL changed since: says so
    assert "stale" not in assets["clean"]
    assert page["last_run"]["command"] == "build" and page["last_run"]["status"] == "success"


def test_report_of_a_never_built_project(make_project, run_cli):
    root = make_project(MIXED)
    r = run_cli(root, "report", "--format", "json")
    assert r.code == 0, r
    assert r.json["states"] == {"never_built": len(EXPECTED_STATES)}
    assert "never built" in (root / ".assetbuild" / "report.html").read_text()


def test_report_escapes_project_text(make_project, run_cli):
    root = make_project(
        {
            "assets/x.sql": "SELECT '</script><script>alert(1)</script>' AS s\n",
            "assets/p.py": """
                import polars as pl
                from assetbuild import asset

                @asset(description="<img src=x onerror=alert(1)>")
                def p(x: pl.DataFrame) -> pl.DataFrame:
                    return x
                """,
        }
    )
    assert run_cli(root, "build").code == 0
    assert run_cli(root, "report").code == 0
    html = (root / ".assetbuild" / "report.html").read_text()
    assert "<script><script>" not in html and "<img src=x" not in html
    assert html.count("</script>") == 3  # the error hook, the data, the page script
    assert _page_data(html)["assets"]["p"]["description"] == "<img src=x onerror=alert(1)>"


def test_report_on_an_invalid_project_exits_2(make_project, run_cli):
    root = make_project({"assets/a.sql": "SELECT * FROM nowhere\n"})
    r = run_cli(root, "report")
    assert r.code == 2 and "nowhere" in r.stderr and "Traceback" not in r.stderr


def test_report_in_a_browser(mixed, run_cli, chromium, tmp_path):
    page = tmp_path / "report.html"
    assert run_cli(mixed, "report", "-o", str(page)).code == 0
    shown = chromium(page, screenshot=True)
    assert 'data-ready="1"' in shown.dom, "the page's script ran to its end"
    errors = re.search(r'<pre id="js-errors"[^>]*>(.*?)</pre>', shown.dom, re.S)
    assert errors and errors.group(1).strip() == "", errors and errors.group(1)
    assert "Uncaught" not in shown.log and not re.search(r"CONSOLE.*(error|Error)", shown.log), shown.log
    # the list is built by the script: one entry per asset, with its state
    listed = dict(
        re.findall(r'<li data-name="([^"]+)" title="[^"]*"[^>]*><span class="dot s-([a-z_]+)"', shown.dom)
    )
    assert listed == EXPECTED_STATES
    # the first failure is opened on load: its error, blocked downstream and the command to rerun it
    detail = re.search(r'<aside id="detail"[^>]*>(.*?)</aside>', shown.dom, re.S)
    assert detail and "broken" in detail.group(1) and "the broken asset exploded" in detail.group(1)
    assert "assetbuild build +broken+" in detail.group(1) and "after_broken" in detail.group(1)
    assert shown.screenshot and shown.screenshot.stat().st_size > 20_000  # a blank page is ~6 KB


def test_report_in_a_browser_opens_the_asset_in_the_address(mixed, run_cli, chromium, tmp_path):
    page = tmp_path / "report.html"
    assert run_cli(mixed, "report", "-o", str(page)).code == 0
    shown = chromium(page, fragment="#asset=totals")
    detail = re.search(r'<aside id="detail"[^>]*>(.*?)</aside>', shown.dom, re.S)
    assert detail, shown.dom[:500]
    text = re.sub(r"<[^>]+>", " ", detail.group(1))
    assert "totals" in text and "check failed" in text
    assert "total.min" in text and "failing rows (sample)" in text and "&gt;= 1000000" in text
    assert "SELECT count(*) AS n" in text.replace("&amp;", "&")
    assert re.search(r'<g class="node s-check_failed k-sql selected" data-name="totals"', shown.dom)


def test_report_with_500_assets_in_a_browser(make_project, run_cli, chromium, tmp_path):
    files: dict[str, str] = {
        "assetbuild.toml": '[project]\nname = "big"\n[sources.src]\npath = "data/src.csv"\n',
        "data/src.csv": "id,v\n" + "".join(f"{i},{i}\n" for i in range(20)),
    }
    names = [f"t{i:03d}" for i in range(500)]
    for i, name in enumerate(names):
        ups = ["src"] if i < 25 else [names[i - 25], names[i - 25 + (7 if (i % 25) < 18 else -7)]]
        sql = f"SELECT a.id, a.v + 1 AS v FROM {ups[0]} a" + (
            f" JOIN {ups[1]} b ON a.id = b.id" if len(ups) > 1 else ""
        )
        files[f"assets/{name}.sql"] = sql + "\n"
    files["assets/t260.sql"] = "SELECT id, error('nope') AS v FROM t235\n"
    root = make_project(files)
    built = run_cli(root, "build", "--format", "json", timeout=600)
    assert built.code == 1 and built.json["summary"]["failed"] == 1, built
    page = tmp_path / "big.html"
    assert run_cli(root, "report", "-o", str(page)).code == 0
    shown = chromium(page)
    assert 'data-ready="1"' in shown.dom
    in_graph = set(re.findall(r'<g class="node [^"]*" data-name="([^"]+)"', shown.dom))
    in_list = set(re.findall(r'<li data-name="([^"]+)"', shown.dom))
    assert in_graph == in_list == {*names, "src"}
    assert re.search(r'<g class="node s-failed k-sql[^"]*" data-name="t260"', shown.dom)
    assert '<input id="search"' in shown.dom and 'id="zoom-in"' in shown.dom
