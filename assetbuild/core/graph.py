"""The asset DAG: topological order, cycles printed as a path, upstream and downstream closures."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping


class CycleError(Exception):
    def __init__(self, path: list[str]) -> None:
        super().__init__(" -> ".join(path))
        self.path = path


def toposort(upstream: Mapping[str, Iterable[str]]) -> list[str]:
    """Names in an order where each comes after its upstream; ties broken by name for stable output."""
    deps = {n: set(u) for n, u in upstream.items()}
    children: dict[str, list[str]] = {n: [] for n in deps}
    for n, ups in deps.items():
        for u in ups:
            children.setdefault(u, []).append(n)
    waiting = {n: len(ups) for n, ups in deps.items()}
    ready = [n for n, k in waiting.items() if k == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        n = heapq.heappop(ready)
        order.append(n)
        for c in children.get(n, ()):
            waiting[c] -= 1
            if waiting[c] == 0:
                heapq.heappush(ready, c)
    if len(order) != len(deps):
        raise CycleError(find_cycle({n: deps[n] for n in deps if waiting[n] > 0}))
    return order


def find_cycle(upstream: Mapping[str, Iterable[str]]) -> list[str]:
    """One cycle as a path that starts and ends at the same name (iterative DFS)."""
    color: dict[str, int] = {}
    for start in sorted(upstream):
        if color.get(start):
            continue
        stack: list[tuple[str, list[str]]] = [(start, sorted(upstream.get(start, ())))]
        path = [start]
        color[start] = 1
        while stack:
            node, todo = stack[-1]
            if not todo:
                stack.pop()
                path.pop()
                color[node] = 2
                continue
            nxt = todo.pop(0)
            if nxt not in upstream:
                continue
            if color.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if not color.get(nxt):
                color[nxt] = 1
                path.append(nxt)
                stack.append((nxt, sorted(upstream.get(nxt, ()))))
    return []


def downstream_map(upstream: Mapping[str, Iterable[str]]) -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {n: [] for n in upstream}
    for n, ups in upstream.items():
        for u in ups:
            out.setdefault(u, []).append(n)
    return {n: tuple(sorted(c)) for n, c in out.items()}


def closure(start: Iterable[str], edges: Mapping[str, Iterable[str]]) -> set[str]:
    """Everything reachable from `start` along `edges` (start included)."""
    seen = set(start)
    todo = list(seen)
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen
