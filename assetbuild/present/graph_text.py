"""The asset DAG as text for docs and pull requests: Mermaid, Graphviz DOT, or JSON.

Definitions only (no store): what the project declares, laid out left to right.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from assetbuild.model.assets import Project

# fill colours by kind, the same in both formats
_FILL = {"source": "#dafbe1", "sql": "#ddf4ff", "python": "#fbefff"}
_STROKE = {"source": "#1a7f37", "sql": "#0969da", "python": "#8250df"}


def graph_json(project: Project, names: Sequence[str]) -> dict[str, Any]:
    chosen = set(names)
    return {
        "project": project.name,
        "assets": [
            {
                "name": n,
                "kind": project.assets[n].kind.value,
                "upstream": [u for u in project.assets[n].upstream if u in chosen],
                "tags": list(project.assets[n].tags),
            }
            for n in names
        ],
        "edges": [[u, n] for n in names for u in project.assets[n].upstream if u in chosen],
    }


def mermaid(project: Project, names: Sequence[str]) -> str:
    """A `flowchart LR`; node ids are prefixed so that names like `end` or `graph` stay legal."""
    chosen = set(names)
    lines = ["flowchart LR"]
    for n in names:
        lines.append(f'  n_{n}["{n}"]:::{project.assets[n].kind.value}')
    for n in names:
        for u in project.assets[n].upstream:
            if u in chosen:
                lines.append(f"  n_{u} --> n_{n}")
    for kind, fill in _FILL.items():
        lines.append(f"  classDef {kind} fill:{fill},stroke:{_STROKE[kind]}")
    return "\n".join(lines)


def dot(project: Project, names: Sequence[str]) -> str:
    chosen = set(names)
    lines = [
        f"digraph {json.dumps(project.name)} {{",
        "  rankdir=LR;",
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];',
        '  edge [color="#8c959f"];',
    ]
    for n in names:
        kind = project.assets[n].kind.value
        lines.append(
            f'  {json.dumps(n)} [fillcolor="{_FILL[kind]}", color="{_STROKE[kind]}", tooltip="{kind}"];'
        )
    for n in names:
        for u in project.assets[n].upstream:
            if u in chosen:
                lines.append(f"  {json.dumps(u)} -> {json.dumps(n)};")
    lines.append("}")
    return "\n".join(lines)
