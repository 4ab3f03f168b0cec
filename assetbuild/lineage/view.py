"""The lineage view of `assetbuild lineage`: table and column lineage computed from the project itself.

No backend and no outbox: assets and their upstream come from the definitions, column lineage
from each SQL asset's query (sqlglot) over its upstream schemas. Python assets have table-level
lineage only. Renders text, JSON, Mermaid or Graphviz DOT.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any, Literal

from assetbuild.errors import ProjectError, did_you_mean
from assetbuild.lineage import naming
from assetbuild.lineage.columns import ColumnLineage, ColumnSource, sql_column_lineage
from assetbuild.model.assets import Kind, Project

Direction = Literal["both", "upstream", "downstream"]
Format = Literal["text", "json", "mermaid", "dot"]
SchemasOf = Callable[[str], dict[str, list[tuple[str, str]]]]

ROWS = "(rows)"  # stands for "every row of the asset" in column views: JOIN, FILTER, GROUP BY, ORDER BY


def lineage_view(
    project: Project,
    asset: str | None = None,
    columns: bool = False,
    direction: Direction = "both",
    fmt: Format = "text",
    upstream_schemas_of: SchemasOf | None = None,
) -> str:
    """Render the lineage of `asset` (its upstream and/or downstream), or of the whole project.

    `upstream_schemas_of(name)` gives an asset's upstream schemas (`{upstream: [(column, dtype)]}`,
    from the current materializations), so that `SELECT *` can be expanded; without it column
    lineage covers what the queries spell out.
    """
    if asset is not None and asset not in project.assets:
        raise ProjectError(f"unknown asset '{asset}'", hint=did_you_mean(asset, project.assets))
    if direction not in ("both", "upstream", "downstream"):
        raise ProjectError(f"unknown direction '{direction}'", hint="use both, upstream or downstream")
    names = _selection(project, asset, direction)
    col = _column_lineage(project, names, upstream_schemas_of) if columns else {}
    render = {"text": _text, "json": _json, "mermaid": _mermaid, "dot": _dot}.get(fmt)
    if render is None:
        raise ProjectError(f"unknown format '{fmt}'", hint="use text, json, mermaid or dot")
    return render(project, asset, direction, names, col if columns else None)


def _selection(project: Project, asset: str | None, direction: Direction) -> list[str]:
    if asset is None:
        return list(project.order)
    chosen = {asset}
    if direction in ("both", "upstream"):
        chosen |= _closure(asset, lambda n: project.assets[n].upstream)
    if direction in ("both", "downstream"):
        chosen |= _closure(asset, lambda n: project.downstream.get(n, ()))
    return [n for n in project.order if n in chosen]


def _closure(start: str, step: Callable[[str], Iterable[str]]) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for nxt in step(todo.pop()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _column_lineage(
    project: Project, names: list[str], schemas_of: SchemasOf | None
) -> dict[str, ColumnLineage]:
    out: dict[str, ColumnLineage] = {}
    for name in names:
        a = project.assets[name]
        if a.kind is not Kind.SQL or not a.sql:
            continue
        schemas: dict[str, list[tuple[str, str]]] = {}
        if schemas_of is not None:
            try:
                schemas = dict(schemas_of(name) or {})
            except Exception:
                schemas = {}  # no current data yet: lineage from the query text alone
        for upstream in a.upstream:
            schemas.setdefault(upstream, [])
        out[name] = sql_column_lineage(a.sql, schemas)
    return out


# -- renderers ---------------------------------------------------------------------------------


def _json(
    project: Project,
    asset: str | None,
    direction: str,
    names: list[str],
    col: dict[str, ColumnLineage] | None,
) -> str:
    chosen = set(names)
    assets = []
    for name in names:
        a = project.assets[name]
        ref = naming.asset_dataset(project, name)
        entry: dict[str, Any] = {
            "name": name,
            "kind": a.kind.value,
            "dataset": {"namespace": ref.namespace, "name": ref.name},
            "upstream": [u for u in a.upstream if u in chosen],
            "downstream": [d for d in project.downstream.get(name, ()) if d in chosen],
        }
        if a.kind is Kind.SOURCE:
            entry["files"] = [
                {"namespace": r.namespace, "name": r.name} for _, r in naming.source_file_datasets(project, a)
            ]
        assets.append(entry)
    doc: dict[str, Any] = {
        "project": project.name,
        "asset": asset,
        "direction": direction,
        "assets": assets,
        "edges": [{"from": u, "to": n} for n in names for u in project.assets[n].upstream if u in chosen],
    }
    if col is not None:
        doc["columns"] = {name: lineage.to_json() for name, lineage in col.items()}
    return json.dumps(doc, indent=2)


def _text(
    project: Project,
    asset: str | None,
    direction: str,
    names: list[str],
    col: dict[str, ColumnLineage] | None,
) -> str:
    chosen = set(names)
    what = f"'{asset}'" + ("" if direction == "both" else f" ({direction})") if asset else "the project"
    lines = [f"lineage of {what} in {project.name}: {len(names)} asset(s)"]
    for name in names:
        a = project.assets[name]
        if a.kind is Kind.SOURCE:
            files = [location for _, location in naming.source_file_locations(project, a)]
            origin = ", ".join(f"file {f}" for f in files) or "-"
        else:
            origin = ", ".join(u for u in a.upstream if u in chosen) or "-"
        lines.append(f"{name} [{a.kind.value}] <- {origin}")
        if col is None:
            continue
        if a.kind is Kind.PYTHON:
            lines.append("    (table-level lineage only for Python assets)")
        lineage = col.get(name)
        if lineage is None:
            continue
        width = max([len(c) for c in lineage.fields] + [len(ROWS)])
        for column, sources in lineage.fields.items():
            lines.append(f"    {column.ljust(width)} <- {_describe(sources)}")
        if lineage.dataset:
            lines.append(f"    {ROWS.ljust(width)} <- {_describe(lineage.dataset)}")
    return "\n".join(lines) + "\n"


def _describe(sources: Iterable[ColumnSource]) -> str:
    return ", ".join(
        f"{s.dataset}.{s.column} ({s.subtype.lower().replace('_', ' ')}{', masked' if s.masking else ''})"
        for s in sources
    )


def _column_nodes(names: list[str], col: dict[str, ColumnLineage]) -> dict[str, list[str]]:
    """Per asset, the column nodes a column graph needs: its outputs and the inputs others read."""
    nodes: dict[str, list[str]] = {n: [] for n in names}

    def add(asset: str, column: str) -> None:
        if asset in nodes and column not in nodes[asset]:
            nodes[asset].append(column)

    for name, lineage in col.items():
        for column, sources in lineage.fields.items():
            add(name, column)
            for s in sources:
                add(s.dataset, s.column)
        for s in lineage.dataset:
            add(s.dataset, s.column)
        if lineage.dataset:
            add(name, ROWS)
    return nodes


def _column_edges(col: dict[str, ColumnLineage]) -> list[tuple[str, str, str, str, str]]:
    """(from asset, from column, to asset, to column, subtype-or-empty-when-DIRECT)."""
    edges = []
    for name, lineage in col.items():
        for column, sources in lineage.fields.items():
            for s in sources:
                edges.append(
                    (s.dataset, s.column, name, column, "" if s.type == "DIRECT" else s.subtype.lower())
                )
        for s in lineage.dataset:
            edges.append((s.dataset, s.column, name, ROWS, s.subtype.lower()))
    return list(dict.fromkeys(edges))


def _mermaid(
    project: Project,
    asset: str | None,
    direction: str,
    names: list[str],
    col: dict[str, ColumnLineage] | None,
) -> str:
    ids = _Ids()
    chosen = set(names)
    lines = ["flowchart LR"]
    if col is None:
        for name in names:
            lines.append(f'  {ids.of(name)}["{_mm(name)} ({project.assets[name].kind.value})"]')
        for name in names:
            for u in project.assets[name].upstream:
                if u in chosen:
                    lines.append(f"  {ids.of(u)} --> {ids.of(name)}")
        return "\n".join(lines) + "\n"
    nodes = _column_nodes(names, col)
    for name in names:
        lines.append(f'  subgraph {ids.of(name)}["{_mm(name)} ({project.assets[name].kind.value})"]')
        for column in nodes[name]:
            lines.append(f'    {ids.of(name, column)}["{_mm(column)}"]')
        lines.append("  end")
    for src, src_col, dst, dst_col, label in _column_edges(col):
        if src not in chosen or dst not in chosen:
            continue
        arrow = "-->" if not label else f"-. {label} .->"
        lines.append(f"  {ids.of(src, src_col)} {arrow} {ids.of(dst, dst_col)}")
    for name in names:
        for u in project.assets[name].upstream:
            if u in chosen and not any(e[0] == u and e[2] == name for e in _column_edges(col)):
                lines.append(f"  {ids.of(u)} --> {ids.of(name)}")  # no column-level detail known
    return "\n".join(lines) + "\n"


def _dot(
    project: Project,
    asset: str | None,
    direction: str,
    names: list[str],
    col: dict[str, ColumnLineage] | None,
) -> str:
    chosen = set(names)
    lines = ["digraph lineage {", "  rankdir=LR;", "  node [shape=box];"]
    if col is None:
        for name in names:
            lines.append(
                f"  {_q(name)} [label={_q(name + chr(10) + '(' + project.assets[name].kind.value + ')')}];"
            )
        for name in names:
            for u in project.assets[name].upstream:
                if u in chosen:
                    lines.append(f"  {_q(u)} -> {_q(name)};")
        lines.append("}")
        return "\n".join(lines) + "\n"
    nodes = _column_nodes(names, col)
    lines.insert(1, "  compound=true;")
    for name in names:
        lines.append(f"  subgraph {_q('cluster_' + name)} {{")
        lines.append(f"    label={_q(name + ' (' + project.assets[name].kind.value + ')')};")
        for column in nodes[name] or [ROWS]:
            lines.append(f"    {_q(name + '.' + column)} [label={_q(column)}];")
        lines.append("  }")
    edges = _column_edges(col)
    for src, src_col, dst, dst_col, label in edges:
        if src in chosen and dst in chosen:
            style = "" if not label else f" [style=dashed, label={_q(label)}]"
            lines.append(f"  {_q(src + '.' + src_col)} -> {_q(dst + '.' + dst_col)}{style};")
    for name in names:
        for u in project.assets[name].upstream:
            if u in chosen and not any(e[0] == u and e[2] == name for e in edges):
                first_u = (nodes[u] or [ROWS])[0]
                first = (nodes[name] or [ROWS])[0]
                lines.append(
                    f"  {_q(u + '.' + first_u)} -> {_q(name + '.' + first)} "
                    f"[ltail={_q('cluster_' + u)}, lhead={_q('cluster_' + name)}];"
                )
    lines.append("}")
    return "\n".join(lines) + "\n"


class _Ids:
    """Mermaid node ids: letters, digits and underscores only, unique per (asset, column)."""

    def __init__(self) -> None:
        self.ids: dict[tuple[str, str | None], str] = {}

    def of(self, asset: str, column: str | None = None) -> str:
        key = (asset, column)
        if key not in self.ids:
            base = re.sub(r"\W", "_", asset if column is None else f"{asset}__{column}")
            self.ids[key] = f"n{len(self.ids)}_{base}"
        return self.ids[key]


def _mm(text: str) -> str:
    return text.replace('"', "#quot;")


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
