"""ORDER: run a DAG of steps in dependency order on N worker threads, propagating blocked/skipped.

The scheduler knows nothing of assets' kinds, the store, the UI or lineage. For each node whose
dependencies are settled it calls `prepare(name, settled)`, which either settles the node at once
(returns a result) or returns work to run on a worker thread. Work runs concurrently; `prepare`
and `on_settled` always run on the calling thread.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Generic, TypeVar

R = TypeVar("R")
_WAKE_S = 0.2

Work = Callable[[], R]


class Scheduler(Generic[R]):
    def __init__(
        self,
        order: Sequence[str],
        deps: Mapping[str, Sequence[str]],
        jobs: int,
        prepare: Callable[[str, dict[str, R]], R | Work[R]],
        is_failure: Callable[[R], bool],
        blocked: Callable[[str, str], R],
        skipped: Callable[[str], R],
        on_settled: Callable[[str, R], None] = lambda name, result: None,
        fail_fast: bool = False,
        cancel: Callable[[], None] = lambda: None,
        soft: Mapping[str, Collection[str]] | None = None,
    ) -> None:
        self.order = list(order)
        chosen = set(self.order)
        self.deps = {n: [d for d in deps.get(n, ()) if d in chosen] for n in self.order}
        # waits whose failure does not block (what only warn rules read): ordered, never blocking
        self.soft = {n: frozenset((soft or {}).get(n, ())) for n in self.order}
        self.jobs = max(1, jobs)
        self.prepare = prepare
        self.is_failure = is_failure
        self.blocked = blocked
        self.skipped = skipped
        self.on_settled = on_settled
        self.fail_fast = fail_fast
        # stops running work at once (Ctrl-C), so that unwinding need not wait for it to finish
        self.cancel = cancel

    def run(self) -> dict[str, R]:
        settled: dict[str, R] = {}
        waiting = {n: len(d) for n, d in self.deps.items()}
        children: dict[str, list[str]] = {n: [] for n in self.order}
        for n, ds in self.deps.items():
            for d in ds:
                children[d].append(n)
        rank = {n: i for i, n in enumerate(self.order)}
        # ready nodes, in topological-order rank (a heap: settling 10,000 nodes stays cheap)
        ready = [(rank[n], n) for n in self.order if waiting[n] == 0]
        running: dict[Future[R], str] = {}
        stop = False
        # a step queued ahead keeps a worker busy between steps; with --fail-fast nothing is
        # queued ahead, so what a failure stops does not depend on timing
        in_flight = self.jobs if self.fail_fast else self.jobs * 2

        def settle(name: str, result: R) -> None:
            nonlocal stop
            settled[name] = result
            self.on_settled(name, result)
            if self.is_failure(result) and self.fail_fast:
                stop = True
            for c in children[name]:
                waiting[c] -= 1
                if waiting[c] == 0:
                    heapq.heappush(ready, (rank[c], c))

        pool = ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="assetbuild")
        try:
            while ready or running:
                while ready and not stop and len(running) < in_flight:
                    _, name = heapq.heappop(ready)
                    failed_dep = next(
                        (
                            d
                            for d in self.deps[name]
                            if d not in self.soft[name] and self.is_failure(settled[d])
                        ),
                        None,
                    )
                    if failed_dep is not None:
                        settle(name, self.blocked(name, failed_dep))
                        continue
                    step = self.prepare(name, {d: settled[d] for d in self.deps[name]})
                    if callable(step):
                        running[pool.submit(step)] = name
                    else:
                        settle(name, step)
                if stop:
                    ready.clear()
                if not running:
                    continue
                # A timeout, though nothing needs it: a signal delivered to another thread (DuckDB's,
                # polars') does not wake a blocked wait, and Ctrl-C is handled only when this
                # thread runs again
                done, _ = wait(list(running), timeout=_WAKE_S, return_when=FIRST_COMPLETED)
                for fut in sorted(done, key=lambda f: rank[running[f]]):
                    name = running.pop(fut)
                    settle(name, fut.result())
        except BaseException:  # KeyboardInterrupt on this thread: stop the work, then unwind
            self.cancel()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        for name in self.order:
            if name not in settled:
                settled[name] = self.skipped(name)
                self.on_settled(name, settled[name])
        return settled
