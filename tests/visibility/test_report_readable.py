"""The report's DAG stays readable at any size: at 1400 px a 120-asset graph opens at a zoom where
asset names are at least MIN_PX on screen; zoomed out past that, names are hidden rather than
drawn as specks; and "focus" shows one asset's neighbourhood, every name on screen and readable.

Measured in headless Chromium: a probe script appended to the page acts (zooms, focuses) and
writes what it measured into the page, which `--dump-dom` returns."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

MIN_PX = 11.0  # the smallest rendered size of an asset's name

# What the probe measures: every asset name the browser draws (display not none) inside the graph
# panel, with its rendered font size (CSS size x the zoom the SVG applies).
_MEASURE = """
function measure() {
  var panel = document.getElementById("graph").getBoundingClientRect();
  var out = [];
  document.querySelectorAll("#dag .node").forEach(function (g) {
    var t = g.querySelector(".label");
    var r = t.getBoundingClientRect();
    var drawn = r.width > 0 && r.height > 0 && getComputedStyle(t).display !== "none";
    var inside = drawn && r.right > panel.left && r.left < panel.right && r.bottom > panel.top && r.top < panel.bottom;
    var fullyInside = drawn && r.left >= panel.left - 1 && r.right <= panel.right + 1 && r.top >= panel.top - 1 && r.bottom <= panel.bottom + 1;
    out.push({name: g.getAttribute("data-name"), drawn: drawn, inside: inside, fully: fullyInside,
              px: parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a});
  });
  return out;
}
"""


def _project(make_project, n: int = 120, width: int = 15) -> Path:
    files: dict[str, str] = {
        "assetbuild.toml": '[project]\nname = "wide"\n[sources.src]\npath = "data/src.csv"\n',
        "data/src.csv": "id,v\n" + "".join(f"{i},{i}\n" for i in range(10)),
    }
    names = [f"asset_{i:03d}" for i in range(n)]
    for i, name in enumerate(names):
        ups = ["src"] if i < width else [names[i - width], names[i - width + (4 if (i % width) < 10 else -4)]]
        sql = f"SELECT a.id, a.v + 1 AS v FROM {ups[0]} a" + (
            f" JOIN {ups[1]} b ON a.id = b.id" if len(ups) > 1 else ""
        )
        files[f"assets/{name}.sql"] = sql + "\n"
    return make_project(files)


def _probe(chromium, page: Path, actions: str, fragment: str = "") -> dict:
    html = page.read_text()
    script = f"<script>{_MEASURE}\n(function () {{ var result = {{}};\n{actions}\n"
    script += (
        'var pre = document.createElement("pre"); pre.id = "probe"; pre.textContent = JSON.stringify(result);'
    )
    script += "document.body.appendChild(pre); })();</script>"
    probed = page.with_name(f"probe-{abs(hash(actions + fragment))}.html")
    probed.write_text(html.replace("</body>", script + "</body>"))
    shown = chromium(probed, fragment=fragment)
    assert 'data-ready="1"' in shown.dom, shown.log[-2000:]
    errors = re.search(r'<pre id="js-errors"[^>]*>(.*?)</pre>', shown.dom, re.S)
    assert errors and errors.group(1).strip() == "", errors and errors.group(1)
    m = re.search(r'<pre id="probe">(.*?)</pre>', shown.dom, re.S)
    assert m, shown.dom[-3000:]
    return json.loads(m.group(1).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))


@pytest.fixture
def wide_report(make_project, run_cli, tmp_path) -> Path:
    root = _project(make_project)
    assert run_cli(root, "build").code == 0
    page = tmp_path / "wide.html"
    assert run_cli(root, "report", "-o", str(page)).code == 0
    return page


def _small(labels: list[dict]) -> list[tuple[str, float]]:
    return [(x["name"], round(x["px"], 1)) for x in labels if x["inside"] and x["px"] < MIN_PX]


def test_a_120_asset_report_opens_with_readable_names(wide_report, chromium):
    got = _probe(chromium, wide_report, "result.start = measure();")
    start = got["start"]
    assert _small(start) == [], _small(start)[:10]
    on_screen = [x for x in start if x["fully"]]
    assert len(on_screen) >= 12, f"only {len(on_screen)} names on screen"


def test_zooming_out_hides_names_instead_of_shrinking_them(wide_report, chromium):
    actions = """
    for (var i = 0; i < 12; i++) document.getElementById("zoom-out").click();
    result.out = measure();
    document.getElementById("fit").click();
    result.fit = measure();
    result.hint = !document.getElementById("zoom-hint").hidden;
    for (var j = 0; j < 5; j++) document.getElementById("zoom-in").click();
    result.back = measure();
    """
    got = _probe(chromium, wide_report, actions)
    for when in ("out", "fit", "back"):
        assert _small(got[when]) == [], (when, _small(got[when])[:10])
    assert not any(x["drawn"] for x in got["fit"])  # the whole graph: its shape, names hidden
    assert got["hint"] is True  # ... and a word on how to read them
    assert sum(x["fully"] for x in got["back"]) >= 12  # zoomed in again: names are back


def _neighbourhood(name: str, depth: int, width: int = 15, n: int = 120) -> set[str]:
    """`name`, and what is at most `depth` steps upstream of it or downstream of it."""
    names = [f"asset_{i:03d}" for i in range(n)]
    ups: dict[str, list[str]] = {"src": []}
    for i, m in enumerate(names):
        ups[m] = (
            ["src"] if i < width else [names[i - width], names[i - width + (4 if (i % width) < 10 else -4)]]
        )
    downs: dict[str, list[str]] = {m: [] for m in ups}
    for m, us in ups.items():
        for u in us:
            downs[u].append(m)
    seen = {name}
    for links in (ups, downs):
        frontier = {name}
        for _ in range(depth):
            frontier = {x for f in frontier for x in links[f]} - seen
            seen |= frontier
    return seen


def test_focus_shows_the_neighbourhood_readable_and_nothing_else(wide_report, chromium):
    got = _probe(chromium, wide_report, "result.focus = measure();", fragment="#asset=asset_067&focus=1")
    focus = {x["name"]: x for x in got["focus"]}
    wanted = _neighbourhood("asset_067", 1)
    assert {n for n, x in focus.items() if x["drawn"]} == wanted
    for n in wanted:
        assert focus[n]["fully"], (n, focus[n])  # every one on screen, none to pan to
        assert focus[n]["px"] >= MIN_PX, (n, focus[n])


def test_focus_button_and_show_all(wide_report, chromium):
    actions = """
    var node = document.querySelector('#dag .node[data-name="asset_030"]');
    node.dispatchEvent(new MouseEvent("click", {bubbles: true}));
    document.getElementById("focus").click();
    result.focus = measure();
    result.bar = document.getElementById("focus-bar").textContent;
    document.getElementById("show-all").click();
    result.all = measure();
    """
    got = _probe(chromium, wide_report, actions)
    drawn = {x["name"] for x in got["focus"] if x["drawn"]}
    assert "asset_030" in drawn and len(drawn) < 20, drawn
    assert "asset_030" in got["bar"] and "of 121" in got["bar"], got["bar"]
    assert _small(got["focus"]) == [] and _small(got["all"]) == []
    assert sum(x["drawn"] for x in got["all"]) == 121
