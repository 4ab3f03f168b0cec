"""The DAG layout: layers by longest path, no two boxes overlapping, every edge drawn left to right."""

from __future__ import annotations

import itertools
import random

from assetbuild.core.graph import toposort
from assetbuild.present.layout import NODE_H, NODE_W, layers, layout


def test_layers_are_longest_paths():
    upstream = {"a": [], "b": ["a"], "c": ["b"], "d": ["a", "c"], "e": []}
    assert layers(toposort(upstream), upstream) == {"a": 0, "b": 1, "c": 2, "d": 3, "e": 0}


def test_layers_ignore_upstream_outside_the_drawing():
    upstream = {"a": [], "b": ["a"], "c": ["b"]}
    assert layers(["b", "c"], upstream) == {"b": 0, "c": 1}


def _random_dag(n: int, seed: int) -> dict[str, list[str]]:
    rnd = random.Random(seed)
    names = [f"n{i}" for i in range(n)]
    return {m: rnd.sample(names[:i], min(i, rnd.randint(0, 3))) for i, m in enumerate(names)}


def test_boxes_never_overlap_and_edges_run_left_to_right():
    upstream = _random_dag(300, seed=3)
    lay = layout(toposort(upstream), upstream)
    assert set(lay.boxes) == set(upstream)
    for a, b in itertools.combinations(lay.boxes.values(), 2):
        apart = abs(a.x - b.x) >= NODE_W or abs(a.y - b.y) >= NODE_H
        assert apart, (a, b)
    assert len(lay.edges) == sum(len(u) for u in upstream.values())
    for e in lay.edges:
        assert lay.boxes[e.source].x + NODE_W < lay.boxes[e.target].x
        assert e.path.startswith(f"M{lay.boxes[e.source].x + NODE_W:.0f},")
    for b in lay.boxes.values():
        assert b.x >= 0 and b.x + NODE_W <= lay.width and b.y >= 0 and b.y + NODE_H <= lay.height


def _crossings(lay, upstream) -> int:
    edges = [(lay.boxes[u], lay.boxes[n]) for n, ups in upstream.items() for u in ups]
    count = 0
    for (a1, b1), (a2, b2) in itertools.combinations(edges, 2):
        if a1.layer == a2.layer and b1.layer == b2.layer and (a1.y - a2.y) * (b1.y - b2.y) < 0:
            count += 1
    return count


def test_ordering_untangles_a_crossed_ladder():
    # written in an order that crosses every pair of edges; the sweeps must straighten it
    upstream = {"a1": [], "a2": [], "a3": [], "b1": ["a3"], "b2": ["a2"], "b3": ["a1"]}
    order = ["a1", "a2", "a3", "b1", "b2", "b3"]
    lay = layout(order, upstream)
    assert _crossings(lay, upstream) == 0


def test_empty_graph():
    lay = layout([], {})
    assert lay.boxes == {} and lay.edges == [] and lay.width >= 0 and lay.height >= 0
