"""The scheduler alone: order, parallelism, blocked and skipped propagation (no assets, no data)."""

from __future__ import annotations

import threading
import time

import pytest

from assetbuild.core.scheduler import Scheduler

#   a → b → d
#   a → c → d      e (independent)
DEPS = {"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"], "e": []}
ORDER = ["a", "b", "c", "d", "e"]


def run(fail=(), jobs=2, fail_fast=False, work_delay=0.0):
    started: list[str] = []
    lock = threading.Lock()

    def prepare(name, upstream):
        assert set(upstream) == set(DEPS[name]), "prepare gets exactly the settled dependencies"

        def work():
            with lock:
                started.append(name)
            time.sleep(work_delay)
            return ("fail" if name in fail else "ok", name)

        return work

    settled_order: list[str] = []
    s = Scheduler(
        ORDER,
        DEPS,
        jobs,
        prepare,
        is_failure=lambda r: r[0] in ("fail", "blocked"),
        blocked=lambda n, by: ("blocked", by),
        skipped=lambda n: ("skipped", n),
        on_settled=lambda n, r: settled_order.append(n),
        fail_fast=fail_fast,
    )
    return s.run(), started, settled_order


@pytest.mark.parametrize("jobs", [1, 2, 4])
def test_every_node_runs_once_after_its_dependencies(jobs):
    results, started, settled = run(jobs=jobs)
    assert sorted(started) == sorted(ORDER)
    for name, deps in DEPS.items():
        assert all(settled.index(d) < settled.index(name) for d in deps)
    assert all(r == ("ok", n) for n, r in results.items())


def test_a_failure_blocks_everything_downstream_and_nothing_else():
    results, started, _ = run(fail={"b"})
    assert results["b"] == ("fail", "b")
    assert results["d"] == ("blocked", "b")
    assert results["c"] == ("ok", "c") and results["e"] == ("ok", "e")
    assert "d" not in started


def test_fail_fast_skips_what_has_not_started():
    results, started, _ = run(fail={"a"}, jobs=1, fail_fast=True)
    assert results["a"] == ("fail", "a")
    assert {results[n][0] for n in ("b", "c", "d")} <= {"blocked", "skipped"}
    assert "e" not in started or results["e"][0] == "ok"


@pytest.mark.parametrize(("jobs", "together"), [(2, True), (1, False)])
def test_independent_work_runs_at_once_up_to_jobs(jobs, together):
    # b and c are independent: they meet at a barrier only if both run at the same time
    barrier = threading.Barrier(2, timeout=2 if together else 0.3)
    met = []

    def prepare(name, upstream):
        def work():
            if name in ("b", "c"):
                try:
                    barrier.wait()
                    met.append(name)
                except threading.BrokenBarrierError:
                    pass
            return ("ok", name)

        return work

    s = Scheduler(ORDER, DEPS, jobs, prepare, lambda r: False, lambda n, b: ("blocked", b), lambda n: None)
    s.run()
    assert sorted(met) == (["b", "c"] if together else [])


def test_a_step_settled_at_once_never_reaches_a_worker():
    calls = []

    def prepare(name, upstream):
        calls.append(name)
        return ("ok", name)  # not callable: settled on the scheduler's thread

    s = Scheduler(ORDER, DEPS, 2, prepare, lambda r: False, lambda n, b: ("blocked", b), lambda n: None)
    assert s.run() == {n: ("ok", n) for n in ORDER}
    assert calls == ORDER, "settled in topological order"


def test_fail_fast_with_one_worker_stops_exactly_at_the_failure():
    # a → b → d, a → c → d, e: with one worker the steps run in rank order; `b` fails, so only
    # what was already running may finish and everything after `b` in order is skipped
    for _ in range(20):
        results, started, _ = run(fail={"b"}, jobs=1, fail_fast=True)
        assert started == ["a", "b"], started
        assert [results[n][0] for n in ("c", "e")] == ["skipped", "skipped"]
