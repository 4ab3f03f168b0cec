"""The asset DAG as text for docs and pull requests: Mermaid, Graphviz DOT, or JSON.

Definitions only (no store): what the project declares, laid out left to right. Besides the
upstream edges, the reads of rules (`sql:`, `references:` on another asset) are drawn dashed,
labelled "checks read": a build waits for them as for upstream (run/decisions.py), and a reader
of the graph who sees only upstream edges cannot tell why an asset was blocked or waited.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from assetbuild.model.assets import Project
from assetbuild.run.decisions import RuleRead

# fill colours by kind, the same in both formats
_FILL = {"source": "#dafbe1", "sql": "#ddf4ff", "python": "#fbefff"}
_STROKE = {"source": "#1a7f37", "sql": "#0969da", "python": "#8250df"}
# a read by an error rule blocks when what it reads fails; a warn rule's never does
_READ_COLOUR = {"error": "#bc4c00", "warn": "#8c959f"}
READ_LABEL = "checks read"


def drawn_reads(reads: Sequence[RuleRead], names: Sequence[str]) -> list[RuleRead]:
    """The rule reads between drawn assets that no upstream edge already shows."""
    chosen = set(names)
    return [r for r in reads if r.reader in chosen and r.read in chosen and not r.upstream]


def graph_json(project: Project, names: Sequence[str], reads: Sequence[RuleRead] = ()) -> dict[str, Any]:
    chosen = set(names)
    checks_read: dict[str, set[str]] = {}
    for r in reads:
        checks_read.setdefault(r.reader, set()).add(r.read)
    return {
        "project": project.name,
        "assets": [
            {
                "name": n,
                "kind": project.assets[n].kind.value,
                "upstream": [u for u in project.assets[n].upstream if u in chosen],
                "checks_read": sorted(u for u in checks_read.get(n, ()) if u in chosen),
                "tags": list(project.assets[n].tags),
            }
            for n in names
        ],
        "edges": [[u, n] for n in names for u in project.assets[n].upstream if u in chosen],
        "rule_reads": [r.to_json() for r in drawn_reads(reads, names)],
    }


def mermaid(project: Project, names: Sequence[str], reads: Sequence[RuleRead] = ()) -> str:
    """A `flowchart LR`; node ids are prefixed so that names like `end` or `graph` stay legal."""
    chosen = set(names)
    lines = ["flowchart LR"]
    for n in names:
        lines.append(f'  n_{n}["{n}"]:::{project.assets[n].kind.value}')
    for n in names:
        for u in project.assets[n].upstream:
            if u in chosen:
                lines.append(f"  n_{u} --> n_{n}")
    for r in drawn_reads(reads, names):
        lines.append(f"  n_{r.read} -.->|{READ_LABEL}| n_{r.reader}")
    for kind, fill in _FILL.items():
        lines.append(f"  classDef {kind} fill:{fill},stroke:{_STROKE[kind]}")
    return "\n".join(lines)


def dot(project: Project, names: Sequence[str], reads: Sequence[RuleRead] = ()) -> str:
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
    for r in drawn_reads(reads, names):
        colour = _READ_COLOUR[r.severity.value]
        # a read that would close a cycle is not waited for: it must not bend the ranks either
        rank = "" if r.waits else ", constraint=false"
        tip = json.dumps(f"{r.severity.value} rules: {', '.join(r.rules)}")
        lines.append(
            f'  {json.dumps(r.read)} -> {json.dumps(r.reader)} [style=dashed, label="{READ_LABEL}", '
            f'fontsize=9, color="{colour}", fontcolor="{colour}", tooltip={tip}{rank}];'
        )
    lines.append("}")
    return "\n".join(lines)
