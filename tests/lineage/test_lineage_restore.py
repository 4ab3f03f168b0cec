"""A restore (an earlier version made current again, nothing run) is told to the backend as a run
of the asset's job whose output is the restored version; an asset left up to date tells nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lineage_support import SCHEMAS, make_project, new_id, result_of

from assetbuild.lineage import events as ev
from assetbuild.lineage.lazy import LazyLineage
from assetbuild.lineage.listener import OpenLineageListener
from assetbuild.lineage.outbox import Outbox
from assetbuild.model.assets import Project
from assetbuild.model.events import RunInfo
from assetbuild.model.results import AssetResult, BuildResult, Status

T0, T1 = "2026-11-25T10:00:00+00:00", "2026-11-25T10:00:01+00:00"


def recorded(project: Project) -> list[dict[str, Any]]:
    return [json.loads(r["body"]) for r in Outbox.of_project(project.root).rows()]


def restored(name: str, kind: str, version: str = "v1") -> AssetResult:
    res = result_of(name, kind, status=Status.RESTORED, version=version, build_key=f"key-{name}-{version}")
    res.reason = "an earlier build's version matches: data/orders.csv changed back"
    return res


def test_a_restore_is_a_completed_run_whose_output_is_the_restored_version(
    project: Project, validate: Any
) -> None:
    build = new_id()
    info = RunInfo(project.assets["enriched"], new_id(), build, {"orders": "hash-orders-v1"}, dict(SCHEMAS))
    start, end = (
        json.loads(ev.to_json(e))
        for e in ev.restore_events(project, info, restored("enriched", "sql"), T0, T1)
    )
    assert (start["eventType"], end["eventType"]) == ("START", "COMPLETE")
    assert start["run"]["runId"] == end["run"]["runId"] == info.run_id
    assert end["job"] == {**end["job"], "namespace": "linproj", "name": "linproj.enriched"}
    for e in (start, end):
        assert e["run"]["facets"]["parent"]["run"]["runId"] == build
        facet = e["run"]["facets"]["assetbuild_restore"]
        assert facet["_producer"] == ev.PRODUCER and facet["_schemaURL"] == ev.RESTORE_FACET_SCHEMA_URL
        assert (facet["restored"], facet["contentHash"], facet["buildKey"]) == (
            True,
            "hash-enriched-v1",
            "key-enriched-v1",
        )
        assert "changed back" in facet["reason"]
        assert validate(e) == []  # the spec's rules, and our facet against the schema we publish
    [out] = end["outputs"]
    assert (out["namespace"], out["name"]) == ("linproj", "linproj.main.enriched")
    assert out["facets"]["version"]["datasetVersion"] == "hash-enriched-v1"
    assert [(f["name"], f["type"]) for f in out["facets"]["schema"]["fields"]] == [
        ("order_id", "BIGINT"),
        ("amount", "DOUBLE"),
        ("country", "VARCHAR"),
    ]
    assert out["outputFacets"]["outputStatistics"]["rowCount"] == 2
    [orders, users] = end["inputs"]
    assert orders["facets"]["version"]["datasetVersion"] == "hash-orders-v1"
    assert "version" not in users["facets"]  # not settled in this build: its version is unknown
    assert end["job"]["facets"]["sql"]["query"] == project.assets["enriched"].sql


def test_the_restore_facet_schema_catches_a_wrong_facet(project: Project, validate: Any) -> None:
    info = RunInfo(project.assets["enriched"], new_id(), new_id(), {}, {})
    _, end = (
        json.loads(ev.to_json(e))
        for e in ev.restore_events(project, info, restored("enriched", "sql"), T0, T1)
    )
    end["run"]["facets"]["assetbuild_restore"]["contentHash"] = 7
    assert validate(end)


def hooks(listener: Any, project: Project, results: list[AssetResult], build: str) -> None:
    """What the engine calls when nothing runs: the build, then each asset as it settles."""
    listener.build_started(project, build, list(project.order))
    for result in results:
        listener.asset_done(result)
    listener.build_finished(project, BuildResult(build, results))


def test_the_listener_tells_each_restore_and_nothing_for_up_to_date(tmp_path: Path, validate: Any) -> None:
    project = make_project(tmp_path)
    build = new_id()
    listener = OpenLineageListener(project, build)
    up = [
        result_of("orders", "source", status=Status.UP_TO_DATE, version="v3"),
        result_of("users", "source", status=Status.UP_TO_DATE, version="v3"),
    ]
    hooks(listener, project, [*up, restored("enriched", "sql"), restored("by_country", "sql")], build)
    assert listener.warnings == []
    events = recorded(project)
    assert [(e["job"]["name"], e["eventType"]) for e in events] == [
        ("linproj", "START"),
        ("linproj.enriched", "START"),
        ("linproj.enriched", "COMPLETE"),
        ("linproj.by_country", "START"),
        ("linproj.by_country", "COMPLETE"),
        ("linproj", "COMPLETE"),
    ]
    assert all(validate(e) == [] for e in events)
    enriched = events[2]
    assert {i["name"]: i["facets"]["version"]["datasetVersion"] for i in enriched["inputs"]} == {
        "linproj.main.orders": "hash-orders-v3",  # the versions up to date in this build
        "linproj.main.users": "hash-users-v3",
    }
    by_country = events[4]
    assert by_country["inputs"][0]["facets"]["version"]["datasetVersion"] == "hash-enriched-v1"
    # restored with a schema, so the next restore's column lineage can expand its columns
    assert "columnLineage" in by_country["outputs"][0]["facets"]


def test_a_build_that_only_restores_creates_the_lineage_listener(tmp_path: Path) -> None:
    """LazyLineage only made the listener when an asset ran: a revert was never told."""
    project = make_project(tmp_path)
    build = new_id()
    lazy = LazyLineage(project, build)
    up = result_of("orders", "source", status=Status.UP_TO_DATE, version="v2")
    hooks(lazy, project, [up, restored("enriched", "sql")], build)
    events = recorded(project)
    assert [(e["job"]["name"], e["eventType"]) for e in events] == [
        ("linproj", "START"),
        ("linproj.enriched", "START"),
        ("linproj.enriched", "COMPLETE"),
        ("linproj", "COMPLETE"),
    ]
    # an asset settled before the listener existed still names its version
    assert events[2]["inputs"][0]["facets"]["version"]["datasetVersion"] == "hash-orders-v2"


def test_a_build_where_everything_is_up_to_date_tells_nothing(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    build = new_id()
    lazy = LazyLineage(project, build)
    hooks(lazy, project, [result_of(n, "sql", status=Status.UP_TO_DATE) for n in project.order], build)
    assert lazy.real is None  # openlineage never imported
    assert not (project.root / ".assetbuild").exists() or recorded(project) == []
