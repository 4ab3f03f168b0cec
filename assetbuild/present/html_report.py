"""`assetbuild report` and `graph --format html`: one self-contained, offline HTML page of the DAG.

The page is static HTML + inline SVG (every asset is in the markup, coloured by its state) with
inline CSS and a small inline script for search, pan/zoom and the detail panel; it loads nothing
from the network. Reads the store read-only, so it works while a build runs; it never builds.
"""

from __future__ import annotations

import ast
import contextlib
import datetime as dt
import html
import json
import re
import tempfile
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

from assetbuild.definitions.loader import load_project
from assetbuild.errors import AssetbuildError, ProjectError
from assetbuild.model.assets import AssetDef, Kind, Project
from assetbuild.model.runids import display_run_id
from assetbuild.present.layout import GAP_X, GAP_Y, MIN_LABEL_PX, NODE_H, NODE_W, PAD, Layout, layout
from assetbuild.trace.state import Current, State

# state -> (label, glyph); the glyph keeps states apart without colour
STATES: dict[str, tuple[str, str]] = {
    "failed": ("failed", "✗"),
    "check_failed": ("check failed", "!"),
    "blocked": ("blocked", "⊘"),
    "skipped": ("skipped", "–"),
    "built": ("built", "✓"),
    "restored": ("restored", "↺"),
    "up_to_date": ("up to date", "✓"),
    "never_built": ("never built", "○"),
    "defined": ("defined", "•"),  # graph pages: no store consulted
}
_RAN = ("built", "failed", "check_failed")  # statuses of runs that executed the asset
MAX_CODE = 20_000  # characters of code shown per asset
LABEL_CHARS = 24


def write_report(project_dir: str | Path, out: str | Path | None = None) -> dict[str, Any]:
    """Write the report (default `<project>/.assetbuild/report.html`); returns what it wrote, for JSON."""
    project = load_project(project_dir)
    model = collect(project, with_state=True)
    target = Path(out) if out else project.store_dir / "report.html"
    text = render(model)
    write_page(target, text, "the report", "-o/--output FILE")
    counts: dict[str, int] = {}
    for a in model["assets"].values():
        counts[a["state"]] = counts.get(a["state"], 0) + 1
    return {
        "path": str(target.resolve()),
        "assets": len(model["assets"]),
        "states": counts,
        "bytes": len(text.encode()),
    }


def write_page(target: Path, text: str, what: str, option: str) -> None:
    """Write `text` to `target` whole (aside, then renamed). Where it cannot be written (a
    read-only checkout, a missing or foreign folder), exit 2 naming the path and `option`."""
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(target)
    except OSError as e:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise ProjectError(
            f"cannot write {what} to {target} ({e.strerror or e})",
            hint=f"pass {option} to write it where you can, e.g. {option.split()[0].split('/')[-1]} "
            f"{Path(tempfile.gettempdir()) / target.name}",
        ) from None


def graph_html(project: Project, names: Iterable[str]) -> str:
    """The DAG page without the store: every asset's definition and code, no states."""
    return render(collect(project, with_state=False, names=list(names)))


# -- what the page shows --------------------------------------------------------------------------


def collect(project: Project, with_state: bool, names: list[str] | None = None) -> dict[str, Any]:
    """Everything the page shows, as plain JSON-able data (the page's script reads the same)."""
    wanted = set(project.order if names is None else names)
    order = [n for n in project.order if n in wanted]
    state = State.open(project.store_dir, readonly=True) if with_state else None
    try:
        current = state.current(project.environment) if state else {}
        stale = _stale(project) if with_state else {}
        sources = _SourceText(project)
        assets = {}
        for n in order:
            runs = state.asset_runs(n, 20) if state else []
            assets[n] = _entry(project, project.assets[n], current, runs, state, sources, with_state)
            if n in stale and assets[n]["state"] in ("built", "restored", "up_to_date"):
                assets[n]["stale"] = stale[n]
        last = state.last_runs(1) if state else []
    finally:
        if state:
            state.close()
    run = None
    if last:
        r = last[0]
        run = {
            "run_id": r["run_id"],
            "command": r["command"],
            "status": r["status"] or "running",
            "finished_at": _when(r["finished_at"]),
            "summary": json.loads(r["summary"]) if r["summary"] else {},
        }
    return {
        "project": project.name,
        "environment": project.environment,
        "mode": "report" if with_state else "graph",
        "generated_at": _when(dt.datetime.now(dt.UTC).timestamp()),
        "last_run": run,
        "order": order,
        "assets": assets,
        "rule_reads": _rule_facts(project, order, assets),
    }


def _rule_facts(project: Project, order: list[str], assets: dict[str, Any]) -> list[dict[str, Any]]:
    """What the rule files add to the drawing: the assets each asset's rules read (dashed edges;
    a build waits for them), and the columns' `description:` (the column list shows them)."""
    from assetbuild.gate.audit import load_rulesets
    from assetbuild.present.graph_text import drawn_reads
    from assetbuild.run.decisions import rule_reads

    try:
        rulesets = load_rulesets(project)
    except AssetbuildError:
        rulesets = {}  # a rule file being edited: the page still shows the rest
    reads = rule_reads(project, rulesets)
    for n in order:
        assets[n]["checks_read"] = sorted({r.read for r in reads if r.reader == n})
        assets[n]["read_by_checks_of"] = sorted({r.reader for r in reads if r.read == n})
        # until gate/rules.py keeps them on the RuleSet, there are none to show
        assets[n]["columns"] = dict(getattr(rulesets.get(n), "column_descriptions", None) or {})
    return [r.to_json() for r in drawn_reads(reads, order)]


def _entry(
    project: Project,
    a: AssetDef,
    current: dict[str, Current],
    runs: list[dict[str, Any]],
    state: State | None,
    sources: _SourceText,
    with_state: bool,
) -> dict[str, Any]:
    cur = current.get(a.name)
    last = runs[0] if runs else None
    e: dict[str, Any] = {
        "name": a.name,
        "kind": a.kind.value,
        "description": a.description,
        "owner": a.owner,
        "tags": list(a.tags),
        "defined_in": f"{a.path}:{a.line}",
        "upstream": list(a.upstream),
        "downstream": list(project.downstream.get(a.name, ())),
        "state": _state(cur, last) if with_state else "defined",
        "code": sources.code(a),
        "last_run": None,
        "last_build": None,
        "data": None,
        "checks": [],
        "lineage": {},
    }
    if last:
        e["last_run"] = {
            "status": last["status"],
            "reason": last["reason"],
            "finished_at": _when(last["finished_at"]),
            "duration_s": last["duration_s"],
            "run_id": last["run_id"],
            "rows": last["rows"],
            "error": last["error"],
        }
    ran = next((r for r in runs if r["status"] in _RAN), None)
    if ran:
        e["last_build"] = {
            "status": ran["status"],
            "finished_at": _when(ran["finished_at"]),
            "duration_s": ran["duration_s"],
            "run_id": ran["run_id"],
        }
    if cur:
        m = cur.mat
        e["data"] = {
            "rows": m.rows,
            "bytes": m.object_size,
            "built_at": _when(m.created_at),
            "content_hash": m.content_hash,
            "build_key": m.build_key,
            "run_id": m.run_id,
            "schema": [list(c) for c in m.schema],
        }
    # the checks of the last run say what just happened (a quarantined version's failures);
    # without any, those stored for the current data
    if last and last["checks"]:
        e["checks"] = last["checks"]
    elif cur and cur.check_key and state:
        stored = state.checks(cur.check_key)
        e["checks"] = stored[1] if stored else []
    if a.kind is Kind.SQL and cur:
        e["lineage"] = _column_lineage(a, cur, current, e["code"]["text"])
    return e


def _state(cur: Current | None, last: dict[str, Any] | None) -> str:
    """The colour of an asset: what its last run did, or what the store holds when it never ran."""
    if last is None:
        return "up_to_date" if cur else "never_built"
    status = str(last["status"])
    if status in ("built", "restored", "up_to_date") and cur is not None and not cur.checks_passed:
        return "check_failed"  # a tightened rule now fails the published data
    if status in STATES:
        return status
    return "up_to_date" if cur else "never_built"


def _stale(project: Project) -> dict[str, str]:
    """Assets whose code or inputs changed since their data was built (as `plan` says), with why."""
    from assetbuild.run.plan import plan

    try:
        result = plan(project.root, environment=project.environment)
    except AssetbuildError:
        return {}  # e.g. a rule file being edited: the report still shows what was built
    return {a.name: a.reason for a in result.assets if a.status.value in ("will_build", "will_restore")}


def _column_lineage(a: AssetDef, cur: Current, current: dict[str, Current], sql: str) -> dict[str, Any]:
    try:
        from assetbuild.lineage.columns import sql_column_lineage
    except ImportError:
        return {}
    schemas = {u: current[u].mat.schema for u in a.upstream if u in current}
    lineage = sql_column_lineage(sql, schemas, output_columns=[c for c, _ in cur.mat.schema])
    return {
        col: [{"asset": s.dataset, "column": s.column, "type": s.type, "subtype": s.subtype} for s in srcs]
        for col, srcs in lineage.fields.items()
    }


class _SourceText:
    """Reads each file once: SQL text, the Python function (decorator included), a source's config."""

    def __init__(self, project: Project) -> None:
        self.root = project.root
        self.files: dict[str, str] = {}
        self.trees: dict[str, ast.Module | None] = {}
        try:  # the files as they are now; a source whose files are missing shows none
            from assetbuild.sources.probe import observe

            self.source_files = {n: o.files for n, o in observe(project).items()}
        except ProjectError:
            self.source_files = {}

    def _read(self, rel: str) -> str:
        if rel not in self.files:
            try:
                self.files[rel] = (self.root / rel).read_text(encoding="utf-8", errors="replace")
            except OSError:
                self.files[rel] = ""
        return self.files[rel]

    def code(self, a: AssetDef) -> dict[str, str]:
        if a.kind is Kind.SQL:
            text = a.sql if a.sql is not None else self._read(a.path)
            return {"lang": "sql", "path": a.path, "text": text[:MAX_CODE]}
        if a.kind is Kind.PYTHON:
            return {"lang": "python", "path": a.path, "text": self._function(a)[:MAX_CODE]}
        lines = self._read(a.path).splitlines()
        section = [lines[a.line - 1]] if 0 < a.line <= len(lines) else []
        for ln in lines[a.line :]:
            if ln.lstrip().startswith("["):
                break
            section.append(ln)
        files = [f"# {f.path}  ({f.size:,} bytes)" for f in self.source_files.get(a.name, ())]
        return {
            "lang": "toml",
            "path": a.path,
            "text": "\n".join(section).rstrip() + "\n\n" + "\n".join(files),
        }

    def _function(self, a: AssetDef) -> str:
        text = self._read(a.path)
        if a.path not in self.trees:
            try:
                self.trees[a.path] = ast.parse(text)
            except SyntaxError:
                self.trees[a.path] = None
        tree = self.trees[a.path]
        wanted = a.function or a.name
        for node in tree.body if tree else []:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == wanted:
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                return "\n".join(text.splitlines()[first - 1 : node.end_lineno])
        return text


def _when(ts: float | None) -> str | None:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if ts else None


# -- the page -------------------------------------------------------------------------------------


def render(model: dict[str, Any]) -> str:
    reads: dict[str, list[str]] = {}
    for r in model.get("rule_reads", ()):
        reads.setdefault(r["to"], []).append(r["from"])
    lay = layout(model["order"], {n: a["upstream"] for n, a in model["assets"].items()}, reads)
    parts = {
        "title": html.escape(f"{model['project']} — assetbuild {model['mode']}"),
        "css": _template("report.css"),
        "js": _template("report.js"),
        "header": _header(model),
        "legend": _legend(model),
        "svg": _svg(model, lay),
        "data": _script_json(model),
    }
    return re.sub(r"\{\{(\w+)\}\}", lambda m: parts[m.group(1)], _template("report.html"))


def _template(name: str) -> str:
    return resources.files("assetbuild").joinpath("templates", name).read_text(encoding="utf-8")


def _script_json(value: Any) -> str:
    # inside <script>, "</script>" or "<!--" in a string would end or confuse the element
    return (
        json.dumps(value, default=str, separators=(",", ":")).replace("<", "\\u003c").replace(">", "\\u003e")
    )


def _header(model: dict[str, Any]) -> str:
    e = html.escape
    bits = [f"<h1>{e(model['project'])}</h1>"]
    run = model["last_run"]
    if model["mode"] == "graph":
        bits.append('<span class="meta">asset graph</span>')
    elif run:
        summary = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in run["summary"].items())
        bits.append(
            f'<span class="meta">last {e(run["command"])} <b class="run-{e(run["status"])}">{e(run["status"])}</b>'
            f" {e(run['finished_at'] or '')} · {e(summary)} · run <code>{e(display_run_id(run['run_id']))}</code></span>"
        )
    else:
        bits.append('<span class="meta">never built</span>')
    bits.append(
        f'<span class="meta right">{len(model["assets"])} assets · environment {e(model["environment"])}'
        f" · generated {e(model['generated_at'] or '')}</span>"
    )
    return "\n".join(bits)


def _legend(model: dict[str, Any]) -> str:
    counts: dict[str, int] = {}
    for a in model["assets"].values():
        counts[a["state"]] = counts.get(a["state"], 0) + 1
    out = []
    for state, (label, glyph) in STATES.items():
        if counts.get(state):
            out.append(
                f'<button class="chip s-{state}" data-state="{state}" title="highlight {label}">'
                f'<span class="glyph">{glyph}</span> {counts[state]} {label}</button>'
            )
    return "".join(out)


def _svg(model: dict[str, Any], lay: Layout) -> str:
    e = html.escape
    out = [
        f'<svg id="dag" xmlns="http://www.w3.org/2000/svg" data-w="{lay.width:.0f}" data-h="{lay.height:.0f}"'
        f' data-node-w="{NODE_W}" data-node-h="{NODE_H}" data-gap-x="{GAP_X}" data-gap-y="{GAP_Y}"'
        f' data-pad="{PAD}" data-min-label-px="{MIN_LABEL_PX}"'
        f' role="img" aria-label="asset graph">',
        '<defs><marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" markerHeight="7"'
        ' orient="auto"><path d="M0,0 L8,4 L0,8 z"/></marker></defs>',
        '<g id="viewport"><g class="edges">',
    ]
    severity = {(r["from"], r["to"]): r["severity"] for r in model.get("rule_reads", ())}
    for edge in lay.edges:
        blocked = model["assets"][edge.target]["state"] == "blocked"
        cls = "edge blocked" if blocked else "edge"
        tip = ""
        if edge.kind == "read":  # what the target's rules read: dashed, "checks read" on hover
            sev = severity.get((edge.source, edge.target), "error")
            cls = f"edge rule-read sev-{sev}" + (" blocked" if blocked else "")
            tip = f"<title>checks of {e(edge.target)} read {e(edge.source)} ({sev} rules)</title>"
        out.append(
            f'<path class="{cls}" data-from="{e(edge.source)}" data-to="{e(edge.target)}" d="{edge.path}"'
            ' marker-end="url(#arrow)"' + (f">{tip}</path>" if tip else "/>")
        )
    out.append('</g><g class="nodes">')
    for name in model["order"]:
        a = model["assets"][name]
        box = lay.boxes[name]
        label, glyph = STATES[a["state"]]
        rows = a["data"]["rows"] if a.get("data") else None
        sub = a["kind"] + (f" · {rows:,} rows" if rows is not None else "") + f" · {label}"
        short = name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1] + "…"
        stale = " stale" if a.get("stale") else ""
        out.append(
            f'<g class="node s-{a["state"]} k-{a["kind"]}{stale}" data-name="{e(name)}" data-state="{a["state"]}"'
            f' transform="translate({box.x:.0f},{box.y:.0f})" tabindex="0">'
            f"<title>{e(name)} — {e(label)}</title>"
            f'<rect width="{NODE_W}" height="{NODE_H}" rx="6"/>'
            f'<text class="glyph" x="12" y="{NODE_H / 2 + 5:.0f}" text-anchor="middle">{glyph}</text>'
            f'<text class="label" x="24" y="15">{e(short)}</text>'
            f'<text class="sub" x="24" y="28">{e(sub)}</text></g>'
        )
    out.append("</g></g></svg>")
    return "\n".join(out)
