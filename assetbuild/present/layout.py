"""A left-to-right drawing of the asset DAG: layers by longest path, order by barycenters, coordinates.

Pure geometry for the HTML report and `graph --format html`; it knows nothing of states or the
store. Good enough for hundreds of assets without a layout library: each asset sits one layer
right of its deepest upstream, and a few up/down barycenter sweeps order each layer so that
edges cross less.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from assetbuild.core.graph import closure, toposort

NODE_W = 190
NODE_H = 34
GAP_X = 70
GAP_Y = 14
PAD = 20
SWEEPS = 6
# An asset's name is never drawn smaller than this on screen (CSS px): the page hides names rather
# than shrink them past it when zoomed out, and opens a large graph at a zoom that keeps it.
MIN_LABEL_PX = 11


@dataclass(frozen=True)
class Box:
    name: str
    layer: int
    x: float
    y: float


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    path: str  # SVG path data, from the right side of `source` to the left side of `target`
    kind: str = "upstream"  # or "read": `target`'s rules read `source` (drawn dashed)


@dataclass(frozen=True)
class Layout:
    boxes: dict[str, Box]
    edges: list[Edge]
    width: float
    height: float


def layers(order: Sequence[str], upstream: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """Longest path from a root: roots are layer 0, every other asset one right of its deepest upstream.

    `order` must be topological; upstream names outside it are ignored (a drawn subset).
    """
    inside = set(order)
    layer: dict[str, int] = {}
    for n in order:
        ups = [layer[u] for u in upstream.get(n, ()) if u in inside]
        layer[n] = 1 + max(ups) if ups else 0
    return layer


def _order_layers(
    columns: list[list[str]], upstream: Mapping[str, Sequence[str]], downstream: Mapping[str, Sequence[str]]
) -> list[list[str]]:
    """Barycenter heuristic: alternately sort each layer by the mean position of its neighbours."""
    pos = {n: float(i) for col in columns for i, n in enumerate(col)}

    def sweep(cols: list[list[str]], neighbours: Mapping[str, Sequence[str]]) -> None:
        for col in cols:
            keyed = []
            for i, n in enumerate(col):
                near = [pos[m] for m in neighbours.get(n, ()) if m in pos]
                keyed.append((sum(near) / len(near) if near else pos[n], i, n))
            keyed.sort()
            col[:] = [n for _, _, n in keyed]
            for i, n in enumerate(col):
                pos[n] = float(i)

    for _ in range(SWEEPS):
        sweep(columns[1:], upstream)
        sweep(list(reversed(columns[:-1])), downstream)
    return columns


def layout(
    order: Sequence[str],
    upstream: Mapping[str, Sequence[str]],
    reads: Mapping[str, Sequence[str]] | None = None,
) -> Layout:
    """Place every asset of `order` (topological) and route an edge for every upstream link among them.

    `reads` ({asset: assets its rules read}) adds edges of kind "read". A build waits for them as
    for upstream, so each also places its asset right of what it reads, unless that would close
    a cycle (a rule reading something downstream: drawn, but it bends no layer)."""
    inside = set(order)
    placing: dict[str, list[str]] = {n: [u for u in upstream.get(n, ()) if u in inside] for n in order}
    read_edges = [(u, n) for n in order for u in (reads or {}).get(n, ()) if u in inside and u != n]
    added = False
    for u, n in read_edges:
        if u not in placing[n] and n not in closure([u], placing):
            placing[n].append(u)
            added = True
    if added:
        order = toposort(placing)
    upstream_of = placing
    layer = layers(order, upstream_of)
    downstream: dict[str, list[str]] = {n: [] for n in order}
    for n in order:
        for u in upstream_of[n]:
            downstream[u].append(n)
    columns: list[list[str]] = [[] for _ in range(max(layer.values(), default=-1) + 1)]
    for n in order:
        columns[layer[n]].append(n)
    columns = _order_layers(columns, upstream_of, downstream)
    tallest = max((len(c) for c in columns), default=0)
    boxes: dict[str, Box] = {}
    for li, col in enumerate(columns):
        # centre short layers against the tallest one so that fan-in/fan-out reads as a tree
        offset = (tallest - len(col)) * (NODE_H + GAP_Y) / 2
        for i, n in enumerate(col):
            boxes[n] = Box(n, li, PAD + li * (NODE_W + GAP_X), PAD + offset + i * (NODE_H + GAP_Y))
    edges = []
    for n in order:
        for u in upstream.get(n, ()):
            if u in inside:
                edges.append(Edge(u, n, _curve(boxes[u], boxes[n])))
    drawn = {(e.source, e.target) for e in edges}
    for u, n in read_edges:
        if (u, n) not in drawn:  # a rule reading its own upstream: the solid edge says it
            edges.append(Edge(u, n, _curve(boxes[u], boxes[n]), "read"))
    width = PAD * 2 + len(columns) * (NODE_W + GAP_X) - (GAP_X if columns else 0)
    height = PAD * 2 + tallest * (NODE_H + GAP_Y) - (GAP_Y if tallest else 0)
    return Layout(boxes, edges, max(width, 0), max(height, 0))


def _curve(a: Box, b: Box) -> str:
    x1, y1 = a.x + NODE_W, a.y + NODE_H / 2
    x2, y2 = b.x, b.y + NODE_H / 2
    bend = max((x2 - x1) / 2, 30)
    return f"M{x1:.0f},{y1:.0f} C{x1 + bend:.0f},{y1:.0f} {x2 - bend:.0f},{y2:.0f} {x2:.0f},{y2:.0f}"
