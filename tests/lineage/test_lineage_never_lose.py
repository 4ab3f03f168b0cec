"""Lineage delivery never loses an event and never jams, against a real HTTP receiver on 127.0.0.1.

An event counts as delivered only when the backend answered 2xx: a redirect that would turn the
POST into a GET (301, 302, 303), or that points at another host, keeps it pending; 307 and 308 to
the same host are followed with the same method and body. An event refused for good (400, 413,
422) is parked with the reason and the events behind it go on. One request has one wall-clock
deadline, so a backend dribbling its answer cannot hold `push` or a build. A malformed lineage URL
is a configuration error (exit 2) for `lineage push`, and only a warning for a build.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from lineage_support import Marquez, make_project, marquez_violation, new_id, simulate_build

from assetbuild.cli.app import main
from assetbuild.errors import ProjectError
from assetbuild.lineage.listener import OpenLineageListener
from assetbuild.lineage.outbox import Outbox
from assetbuild.lineage.sending import deliver_pending, push
from assetbuild.lineage.transport import resolve
from assetbuild.model.assets import Project

EVENTS_PER_BUILD = 14  # build 2 + five assets x 2 + one check run x 2
API_KEY = "sk-test-0123456789"


def stored(project: Project) -> list[dict]:
    return [json.loads(r["body"]) for r in Outbox.of_project(project.root).rows()]


def keys(events: list[dict]) -> list[tuple[str, str]]:
    return [(e["run"]["runId"], e["eventType"]) for e in events]


def recorded(project: Project) -> Project:
    """`project` with one build's events waiting in its outbox (nothing configured to send them)."""
    simulate_build(OpenLineageListener(project, new_id()), project)
    assert Outbox.of_project(project.root).count_pending() == EVENTS_PER_BUILD
    return project


def on_disk(tmp_path: Path) -> Path:
    """A project the CLI can load (one CSV source), with one build's events in its outbox."""
    root = tmp_path / "cliproj"
    recorded(make_project(root))
    shutil.rmtree(root / "assets")
    (root / "assetbuild.toml").write_text(
        '[project]\nname = "linproj"\n\n[sources.orders]\npath = "data/orders.csv"\n'
    )
    return root


def cli(root: Path, *args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, ["--project", str(root), "lineage", "push", *args])
    return r.exit_code, r.stdout, r.stderr


# -- 1. redirects ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303])
def test_a_redirect_that_would_turn_the_post_into_a_get_keeps_every_event_pending(
    status: int, project: Project, marquez: Marquez
) -> None:
    recorded(project)
    marquez.mode, marquez.redirect_status, marquez.redirect_to = "redirect", status, "/moved"
    result = push(project, url=marquez.url)
    assert (result.delivered, result.pending) == (0, EVENTS_PER_BUILD)
    assert result.error is not None and f"HTTP {status}" in result.error and "/moved" in result.error
    assert marquez.events == []
    assert marquez.gets == []  # the event was never turned into a GET that "succeeds"


@pytest.mark.parametrize("status", [300, 302, 304, 307])
def test_a_3xx_without_a_location_is_not_a_delivery(status: int, project: Project, marquez: Marquez) -> None:
    recorded(project)
    marquez.mode, marquez.redirect_status, marquez.redirect_to = "redirect", status, None
    result = push(project, url=marquez.url)
    assert (result.delivered, result.pending) == (0, EVENTS_PER_BUILD)
    assert result.error is not None and f"HTTP {status}" in result.error


@pytest.mark.parametrize("status", [307, 308])
def test_a_307_or_308_to_the_same_host_is_followed_with_the_same_method_and_body(
    status: int, project: Project, marquez: Marquez
) -> None:
    recorded(project)
    front = Marquez()
    try:
        front.mode, front.redirect_status = "redirect", status
        front.redirect_to = f"http://127.0.0.1:{marquez.port}/api/v1/lineage"
        result = push(project, url=front.url)
    finally:
        front.stop()
    assert (result.delivered, result.pending, result.error) == (EVENTS_PER_BUILD, 0, None)
    assert keys(marquez.events) == keys(stored(project))  # every body, in order, POSTed again
    assert marquez_violation(marquez.events) is None


def test_a_307_to_another_host_is_not_followed(
    project: Project, marquez: Marquez, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the credentials and custom headers of the transport must not go to a host nobody configured
    recorded(project)
    monkeypatch.setenv("OPENLINEAGE_API_KEY", API_KEY)
    marquez.mode, marquez.redirect_status = "redirect", 307
    marquez.redirect_to = f"http://localhost:{marquez.port}/api/v1/lineage"
    result = push(project, url=marquez.url)
    assert (result.delivered, result.pending) == (0, EVENTS_PER_BUILD)
    assert result.error is not None and "HTTP 307" in result.error and "localhost" in result.error
    assert marquez.posts == 1


def test_a_build_against_a_redirecting_backend_keeps_its_events_and_warns(
    project: Project, marquez: Marquez, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENLINEAGE_URL", marquez.url)
    marquez.mode, marquez.redirect_status, marquez.redirect_to = "redirect", 301, "https://elsewhere/"
    listener = OpenLineageListener(project, new_id())
    simulate_build(listener, project)
    assert Outbox.of_project(project.root).count_pending() == EVENTS_PER_BUILD
    [warning] = listener.warnings
    assert "HTTP 301" in warning and "https://elsewhere/" in warning and "kept" in warning


# -- 2. poison events --------------------------------------------------------------------------


@pytest.mark.parametrize("status", [400, 413, 422])
def test_an_event_refused_for_good_is_parked_and_the_ones_behind_it_go_on(
    status: int, project: Project, marquez: Marquez
) -> None:
    recorded(project)
    poison = ("linproj.enriched", "COMPLETE")  # a COMPLETE: nothing of its run comes after it
    marquez.refuse[poison] = (status, "facet columnLineage is invalid: " + "x" * 500)
    result = push(project, url=marquez.url)
    assert (result.delivered, result.pending, result.error) == (EVENTS_PER_BUILD - 1, 0, None)
    assert result.parked_now == 1
    [parked] = result.parked
    assert parked.job.endswith("linproj.enriched") and parked.event_type == "COMPLETE"
    assert parked.reason.startswith(f"HTTP {status}: facet columnLineage is invalid: xxx")
    assert len(parked.reason) <= len(f"HTTP {status}: ") + 200  # the first 200 characters of the body
    expected = [
        k
        for k, e in zip(keys(stored(project)), stored(project), strict=True)
        if (e["job"]["name"], e["eventType"]) != poison
    ]
    assert keys(marquez.events) == expected  # everything behind it, in order
    # never retried on its own, never dropped
    again = push(project, url=marquez.url)
    assert (again.delivered, again.pending, again.parked_now, len(again.parked)) == (0, 0, 0, 1)
    assert marquez.refused == [poison]
    assert [r["seq"] for r in Outbox.of_project(project.root).rows() if r["parked_at"] is not None] == [
        parked.seq
    ]


def test_a_parked_event_is_sent_again_on_request(project: Project, marquez: Marquez) -> None:
    recorded(project)
    marquez.refuse[("linproj.scored", "COMPLETE")] = (422, "no")
    first = push(project, url=marquez.url)
    assert (first.delivered, first.parked_now) == (EVENTS_PER_BUILD - 1, 1)
    marquez.refuse.clear()
    retried = push(project, url=marquez.url, retry_parked=True)
    assert (retried.delivered, retried.pending, retried.parked, retried.error) == (1, 0, (), None)
    assert sorted(keys(marquez.events)) == sorted(keys(stored(project)))


def test_a_failing_backend_parks_nothing(project: Project, marquez: Marquez) -> None:
    # 5xx, 401, 404, 429: the backend or the configuration, not the event: keep it pending, in order
    recorded(project)
    for status in (500, 503, 401, 404, 429):
        marquez.refuse[("linproj", "START")] = (status, "later")
        result = push(project, url=marquez.url)
        assert (result.delivered, result.pending, result.parked) == (0, EVENTS_PER_BUILD, ())
        assert result.error is not None and f"HTTP {status}" in result.error


def test_a_build_parks_a_poison_event_delivers_the_rest_and_says_so(
    project: Project, marquez: Marquez, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENLINEAGE_URL", marquez.url)
    marquez.refuse[("linproj.by_country", "COMPLETE")] = (413, "Payload Too Large")
    listener = OpenLineageListener(project, new_id())
    simulate_build(listener, project)
    assert len(marquez.events) == EVENTS_PER_BUILD - 1
    assert Outbox.of_project(project.root).count_pending() == 0
    [warning] = listener.warnings
    assert "1 event(s)" in warning and "parked" in warning and "HTTP 413: Payload Too Large" in warning
    assert "--retry-parked" in warning
    # the next build does not warn again about the same parked event
    marquez.refuse.clear()
    listener = OpenLineageListener(project, new_id())
    simulate_build(listener, project, version="v2")
    assert listener.warnings == []


def test_lineage_push_reports_parked_events_in_text_and_json(
    tmp_path: Path, marquez: Marquez, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = on_disk(tmp_path)
    marquez.refuse[("linproj.users", "COMPLETE")] = (400, "bad dataset name")
    monkeypatch.setenv("OPENLINEAGE_URL", marquez.url)
    code, out, err = cli(root)
    assert code == 1  # something was not delivered
    assert f"delivered {EVENTS_PER_BUILD - 1} events; 0 pending; 1 parked" in out
    assert "HTTP 400: bad dataset name" in err and "--retry-parked" in err
    code, out, _ = cli(root, "--format", "json")
    data = json.loads(out)
    assert code == 0  # nothing new went wrong; the parked event is still reported
    assert (data["delivered"], data["pending"], data["parked"], data["parked_now"]) == (0, 0, 1, 0)
    [event] = data["parked_events"]
    assert event["reason"] == "HTTP 400: bad dataset name" and event["event_type"] == "COMPLETE"
    marquez.refuse.clear()
    code, out, _ = cli(root, "--retry-parked", "--format", "json")
    data = json.loads(out)
    assert code == 0 and (data["delivered"], data["parked"]) == (1, 0)
    assert len(marquez.events) == EVENTS_PER_BUILD


# -- 3. one deadline per request ---------------------------------------------------------------


def test_push_gives_a_dribbling_backend_one_deadline_per_request(project: Project, marquez: Marquez) -> None:
    recorded(project)
    marquez.mode = "drip"  # one header line every 0.25 s, for 6 s
    t0 = time.monotonic()
    result = push(project, url=marquez.url, timeout=1.0)
    seconds = time.monotonic() - t0
    assert seconds < 2.5, f"push took {seconds:.2f} s with a 1 s timeout"
    assert (result.delivered, result.pending) == (0, EVENTS_PER_BUILD)
    assert result.error is not None and "timed out" in result.error
    again = push(project, url=marquez.url, timeout=1.0)  # the backend is quick again
    assert (again.delivered, again.pending) == (EVENTS_PER_BUILD, 0)
    assert keys(marquez.events) == keys(stored(project))  # the aborted one was not taken twice


def test_a_build_that_ran_nothing_keeps_its_budget_against_a_dribbling_backend(
    project: Project, marquez: Marquez, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded(project)
    monkeypatch.setenv("OPENLINEAGE_URL", marquez.url)
    marquez.mode = "drip"
    t0 = time.monotonic()
    [warning] = deliver_pending(project, budget_s=1.0)
    seconds = time.monotonic() - t0
    assert seconds < 2.0, f"a 1 s budget took {seconds:.2f} s"
    assert "timed out" in warning and f"{EVENTS_PER_BUILD} event(s) kept" in warning


def test_a_build_against_a_dribbling_backend_leaves_no_request_behind(
    project: Project, marquez: Marquez, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENLINEAGE_URL", marquez.url)
    marquez.mode = "drip"
    listener = OpenLineageListener(project, new_id())
    t0 = time.monotonic()
    simulate_build(listener, project)
    assert time.monotonic() - t0 < 2.5
    sender = listener._sender
    assert sender is not None
    sender.join(1.5)  # its one request in flight ends at its deadline, not when the backend is done
    assert not sender.is_alive()
    [warning] = listener.warnings
    assert "timed out" in warning
    assert marquez.events == []  # the request was abandoned, so the backend did not take it


# -- 4. a malformed lineage URL ----------------------------------------------------------------

BAD_URLS = {
    "http//x": "scheme",
    "ftp://x": "ftp",
    "http://": "host",
    "http://:80": "host",
    "http://x:abc": "port",
    "http://x:99999": "port",
    "http://[::1": "IPv6",
}


@pytest.mark.parametrize("url", list(BAD_URLS))
def test_lineage_push_names_a_malformed_openlineage_url_and_exits_2(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = on_disk(tmp_path)
    monkeypatch.setenv("OPENLINEAGE_URL", url)
    code, out, err = cli(root)
    assert code == 2, (out, err)
    assert "OPENLINEAGE_URL" in err and BAD_URLS[url] in err
    assert "internal error" not in err
    code, out, _ = cli(root, "--format", "json")
    assert code == 2 and "OPENLINEAGE_URL" in json.loads(out)["error"]
    assert Outbox.of_project(root).count_pending() == EVENTS_PER_BUILD


def test_every_place_a_url_comes_from_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml = make_project(tmp_path / "a", lineage={"url": "ftp://marquez:5000"})
    with pytest.raises(ProjectError) as e:
        resolve(toml, strict=True)
    assert (
        e.value.path is not None
        and e.value.path.endswith("assetbuild.toml")
        and "[lineage] url" in str(e.value)
    )
    with pytest.raises(ProjectError, match="--url"):
        resolve(toml, url="localhost:5000", strict=True)
    (toml.root / "openlineage.yml").write_text("transport:\n  type: http\n  url: http//marquez\n")
    with pytest.raises(ProjectError) as e:
        resolve(toml, strict=True)
    assert e.value.path == str(toml.root / "openlineage.yml")
    # credentials in a bad URL are not printed
    monkeypatch.setenv("OPENLINEAGE_URL", "http://user:hunter2@:80")
    with pytest.raises(ProjectError) as e:
        resolve(make_project(tmp_path / "b"), strict=True)
    assert "hunter2" not in str(e.value)
    # a good URL, and no URL, are fine
    monkeypatch.setenv("OPENLINEAGE_URL", "https://marquez.example:5000/")
    assert resolve(make_project(tmp_path / "c"), strict=True).configured


@pytest.mark.parametrize("url", ["http//x", "http://x:abc"])
def test_a_build_with_a_malformed_url_still_builds_and_warns_naming_the_variable(
    url: str, project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENLINEAGE_URL", url)
    listener = OpenLineageListener(project, new_id())
    simulate_build(listener, project)
    [warning] = listener.warnings
    assert warning.startswith("lineage: OPENLINEAGE_URL") and "not a valid" in warning
    assert f"{EVENTS_PER_BUILD} event(s) kept" in warning
    assert Outbox.of_project(project.root).count_pending() == EVENTS_PER_BUILD
    [again] = deliver_pending(project)  # a build in which nothing ran says the same
    assert again.startswith("lineage: OPENLINEAGE_URL")
