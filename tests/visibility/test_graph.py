"""`assetbuild graph`: the DAG as Mermaid, DOT, JSON or an HTML page, for all assets or a selection."""

from __future__ import annotations

import re

from .conftest import EXPECTED_STATES

EDGES = {
    ("orders", "clean"),
    ("clean", "by_day"),
    ("by_day", "enriched"),
    ("clean", "totals"),
    ("totals", "after_totals"),
    ("clean", "broken"),
    ("broken", "after_broken"),
}


def test_mermaid_is_the_default(mixed, run_cli):
    r = run_cli(mixed, "graph")
    assert r.code == 0, r
    lines = r.stdout.splitlines()
    assert lines[0] == "flowchart LR"
    assert set(re.findall(r"n_(\w+) --> n_(\w+)", r.stdout)) == EDGES
    assert set(re.findall(r'n_(\w+)\["\1"\]:::(\w+)', r.stdout)) == {
        (n, "source" if n == "orders" else "python" if n == "enriched" else "sql") for n in EXPECTED_STATES
    }


def test_dot(mixed, run_cli):
    r = run_cli(mixed, "graph", "--format", "dot")
    assert r.code == 0, r
    assert r.stdout.startswith('digraph "mixed" {') and "rankdir=LR" in r.stdout
    assert set(re.findall(r'"(\w+)" -> "(\w+)";', r.stdout)) == EDGES
    assert r.stdout.rstrip().endswith("}")


def test_json_and_selection(mixed, run_cli):
    r = run_cli(mixed, "graph", "--format", "json", "+by_day")
    assert r.code == 0, r
    assert [a["name"] for a in r.json["assets"]] == ["orders", "clean", "by_day"]
    assert r.json["edges"] == [["orders", "clean"], ["clean", "by_day"]]


def test_html_page_to_a_file(mixed, run_cli, tmp_path):
    out = tmp_path / "g.html"
    r = run_cli(mixed, "graph", "--format", "html", "-o", str(out), "clean+")
    assert r.code == 0, r
    html = out.read_text()
    drawn = {
        name: state for state, name in re.findall(r'<g class="node s-(\w+) [^"]*" data-name="(\w+)"', html)
    }
    # definitions only (no store consulted): every asset as "defined", none as failed
    assert drawn == {n: "defined" for n in EXPECTED_STATES if n != "orders"}
    assert not re.search(r'(?:src|href)\s*=\s*"(?:https?:)?//', html)


def test_unknown_selection_exits_2_with_a_hint(mixed, run_cli):
    r = run_cli(mixed, "graph", "by_dy")
    assert r.code == 2 and "by_day" in r.stderr and "Traceback" not in r.stderr
    assert r.stdout == ""
