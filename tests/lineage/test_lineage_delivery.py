"""Delivery over real HTTP: a healthy backend gets every event in order; one that is down, failing
or hanging costs a build about a second and loses nothing; `push` then delivers each event once."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from lineage_support import Marquez, make_project, marquez_violation, new_id, simulate_build

from assetbuild.lineage.listener import OpenLineageListener
from assetbuild.lineage.outbox import Outbox
from assetbuild.lineage.sending import deliver_pending, push
from assetbuild.model.assets import Project

API_KEY = "sk-test-0123456789"
EVENTS_PER_BUILD = 14  # build 2 + five assets x 2 + one check run x 2


def stored(project: Project) -> list[dict]:
    return [json.loads(r["body"]) for r in Outbox.of_project(project.root).rows()]


def keys(events: list[dict]) -> list[tuple[str, str]]:
    return [(e["run"]["runId"], e["eventType"]) for e in events]


def build(project: Project, **kw: object) -> tuple[OpenLineageListener, float]:
    listener = OpenLineageListener(project, new_id())
    t0 = time.perf_counter()
    simulate_build(listener, project, **kw)  # type: ignore[arg-type]
    return listener, time.perf_counter() - t0


def test_a_healthy_backend_gets_every_event_in_order(
    tmp_path: Path, marquez: Marquez, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENLINEAGE_URL", marquez.url)
    monkeypatch.setenv("OPENLINEAGE_API_KEY", API_KEY)
    project = make_project(tmp_path)
    listener, _ = build(project)
    assert listener.warnings == []
    assert marquez.violations == [] and marquez_violation(marquez.events) is None
    assert keys(marquez.events) == keys(stored(project))  # all of them, in append order
    assert len(marquez.events) == EVENTS_PER_BUILD
    assert Outbox.of_project(project.root).count_pending() == 0
    assert {h.get("Authorization") for h in marquez.headers} == {f"Bearer {API_KEY}"}
    assert push(project) == push(project).__class__(0, 0, None)  # nothing left to send


def test_what_the_backend_receives_validates_against_the_spec(
    tmp_path: Path, marquez: Marquez, monkeypatch: pytest.MonkeyPatch, validate: Callable[[dict], list[str]]
) -> None:
    monkeypatch.setenv("OPENLINEAGE_URL", marquez.url)
    project = make_project(tmp_path)
    build(project, fail="scored")
    build(project, version="v2")
    assert len(marquez.events) == 2 * EVENTS_PER_BUILD
    assert {e["eventType"] for e in marquez.events} == {"START", "COMPLETE", "FAIL"}
    assert {e["job"]["name"]: validate(e) for e in marquez.events if validate(e)} == {}


def test_nothing_configured_keeps_events_in_the_outbox(project: Project) -> None:
    listener, _ = build(project)
    assert listener.warnings == []
    assert Outbox.of_project(project.root).count_pending() == EVENTS_PER_BUILD
    result = push(project)
    assert (result.delivered, result.pending) == (0, EVENTS_PER_BUILD)
    assert result.error is not None and "OPENLINEAGE_URL" in result.error


def test_disabled_lineage_records_and_sends_nothing(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENLINEAGE_DISABLED", "true")
    listener, _ = build(project)
    assert listener.warnings == []
    assert not (project.root / ".assetbuild" / "lineage").exists()


@pytest.mark.parametrize("outage", ["down", "error", "hang"])
def test_an_outage_costs_about_a_second_and_push_delivers_each_event_once(
    outage: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = Marquez()
    port = server.port
    if outage == "down":
        server.stop()
    else:
        server.mode = outage
    monkeypatch.setenv("OPENLINEAGE_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("OPENLINEAGE_API_KEY", API_KEY)
    project = make_project(tmp_path)
    baseline = _baseline(tmp_path)
    try:
        runs = []
        for _ in range(2):  # two builds while the backend is away
            listener, seconds = build(project)
            print(f"{outage}: build {seconds:.3f} s, baseline {baseline:.3f} s")
            # the design costs a hanging backend one 1 s timeout; the bound leaves room for a
            # loaded 2-core CI machine, as the acceptance script lineage-outage does (1.5 / 2.5 s)
            limit = 2.5 if outage == "hang" else 1.5
            assert seconds - baseline < limit, f"{outage}: lineage cost {seconds - baseline:.2f} s"
            [warning] = listener.warnings
            assert "lineage push" in warning and str(port) in warning
            reason = {"down": "connection refused", "error": "HTTP 500", "hang": "timed out"}[outage]
            assert reason in warning
            assert API_KEY not in warning and "Bearer" not in warning
            runs.append(listener.run_id)
        assert Outbox.of_project(project.root).count_pending() == 2 * EVENTS_PER_BUILD
    finally:
        server.stop()
    back = Marquez(port)
    try:
        first = push(project)
        assert (first.delivered, first.pending, first.error) == (2 * EVENTS_PER_BUILD, 0, None)
        assert keys(back.events) == keys(stored(project))
        assert len(set(keys(back.events))) == len(back.events)
        assert back.violations == [] and marquez_violation(back.events) is None
        again = push(project)
        assert (again.delivered, again.pending) == (0, 0)
        assert len(back.events) == 2 * EVENTS_PER_BUILD
    finally:
        back.stop()


def _baseline(tmp_path: Path) -> float:
    """The same simulated build with lineage recorded but nothing to send to."""
    import os

    saved = os.environ.pop("OPENLINEAGE_URL")
    try:
        return min(build(make_project(tmp_path / f"baseline{i}"))[1] for i in range(2))
    finally:
        os.environ["OPENLINEAGE_URL"] = saved


def test_the_next_build_delivers_what_the_last_one_could_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = Marquez()
    server.mode = "error"
    monkeypatch.setenv("OPENLINEAGE_URL", server.url)
    project = make_project(tmp_path)
    try:
        first, _ = build(project)
        assert first.warnings and server.events == []
        server.mode = "ok"
        second, _ = build(project)
        assert second.warnings == []
        assert keys(server.events) == keys(stored(project))  # the first build's events first
        assert len(server.events) == 2 * EVENTS_PER_BUILD and marquez_violation(server.events) is None
    finally:
        server.stop()


def test_a_build_that_ran_nothing_still_delivers_pending_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, marquez: Marquez
) -> None:
    project = make_project(tmp_path)
    build(project)  # nothing configured: kept
    assert deliver_pending(project) == []  # still nothing configured
    monkeypatch.setenv("OPENLINEAGE_URL", marquez.url)
    assert deliver_pending(project) == []
    assert len(marquez.events) == EVENTS_PER_BUILD
    marquez.mode = "error"
    build(project)
    [warning] = deliver_pending(project)
    assert "500" in warning and f"{EVENTS_PER_BUILD} event(s) kept" in warning


def test_concurrent_pushes_send_each_event_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, marquez: Marquez
) -> None:
    project = make_project(tmp_path)
    for _ in range(3):
        build(project)
    monkeypatch.setenv("OPENLINEAGE_URL", marquez.url)
    results = []
    threads = [threading.Thread(target=lambda: results.append(push(project))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(r.delivered for r in results) == 3 * EVENTS_PER_BUILD
    assert len(marquez.events) == 3 * EVENTS_PER_BUILD
    assert len(set(keys(marquez.events))) == 3 * EVENTS_PER_BUILD
    assert marquez_violation(marquez.events) is None


def test_push_to_an_explicit_url_and_a_failed_push_keeps_events(tmp_path: Path, marquez: Marquez) -> None:
    project = make_project(tmp_path)
    build(project)
    marquez.mode = "error"
    failed = push(project, url=marquez.url, timeout=2.0)
    assert (failed.delivered, failed.pending) == (0, EVENTS_PER_BUILD)
    assert failed.error is not None and "500" in failed.error
    marquez.mode = "ok"
    done = push(project, url=marquez.url)
    assert (done.delivered, done.pending, done.error) == (EVENTS_PER_BUILD, 0, None)


def test_a_failing_asset_and_checks_reach_the_backend(
    tmp_path: Path, marquez: Marquez, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENLINEAGE_URL", marquez.url)
    project = make_project(tmp_path)
    listener, _ = build(project, fail="scored")
    assert listener.warnings == []
    by_job = {(e["job"]["name"], e["eventType"]) for e in marquez.events}
    assert ("linproj.scored", "FAIL") in by_job and ("linproj", "FAIL") in by_job
    assert ("linproj.by_country.check", "COMPLETE") in by_job
    fail = next(
        e for e in marquez.events if e["job"]["name"] == "linproj.scored" and e["eventType"] == "FAIL"
    )
    assert "ZeroDivisionError" in fail["run"]["facets"]["errorMessage"]["stackTrace"]
    assert "def scored(" in fail["job"]["facets"]["sourceCode"]["sourceCode"]


def test_a_listener_never_raises_into_the_build(project: Project) -> None:
    listener = OpenLineageListener(project, new_id())
    listener.asset_started(None)  # type: ignore[arg-type]  # a bug upstream, or ours
    listener.build_finished(project, None)  # type: ignore[arg-type]
    assert listener.warnings and all(w.startswith("lineage:") for w in listener.warnings)
