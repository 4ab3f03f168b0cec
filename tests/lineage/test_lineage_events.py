"""OpenLineage events of a build: valid against the official spec, named and faceted as designed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from lineage_support import CHECKS, SCHEMAS, SOURCE_FILES, make_project, new_id, result_of

from assetbuild.lineage import events as ev
from assetbuild.lineage import naming
from assetbuild.lineage.columns import sql_column_lineage
from assetbuild.lineage.listener import function_source
from assetbuild.model.assets import Project
from assetbuild.model.events import RunInfo
from assetbuild.model.results import AssetResult, BuildResult, CheckResult, Severity, Status

T = "2026-11-25T10:00:00+00:00"


def as_dict(event: Any) -> dict[str, Any]:
    return json.loads(ev.to_json(event))


def info_for(project: Project, name: str, build_run: str, version: str = "v1") -> RunInfo:
    asset = project.assets[name]
    return RunInfo(
        asset=asset,
        run_id=new_id(),
        parent_run_id=build_run,
        inputs={u: f"hash-{u}-{version}" for u in asset.upstream},
        input_schemas={u: SCHEMAS[u] for u in asset.upstream},
    )


def all_events(project: Project) -> list[dict[str, Any]]:
    """One of every event kind: build START/COMPLETE/FAIL, asset START/COMPLETE/FAIL of each
    kind, a check run that passes and one that fails."""
    build = new_id()
    out = [ev.build_start(project, build, T)]
    for name in project.order:
        info = info_for(project, name, build)
        res = result_of(name, info.asset.kind.value)
        code = function_source(project.root / info.asset.path, info.asset) if name == "scored" else None
        lineage = sql_column_lineage(info.asset.sql, info.input_schemas) if info.asset.sql else None
        files = SOURCE_FILES.get(name)
        out += [
            ev.asset_start(project, info, T, source_code=code, source_files=files),
            ev.asset_end(project, info, res, T, source_code=code, source_files=files, column_lineage=lineage),
        ]
    info = info_for(project, "scored", build)
    failed = AssetResult("scored", "python", Status.FAILED, "boom", error="ZeroDivisionError: boom")
    out.append(ev.asset_end(project, info, failed, T, traceback="Traceback ...\nZeroDivisionError: boom"))
    by_country = info_for(project, "by_country", build)
    res = result_of("by_country", "sql")
    metrics = {
        "rowCount": 2,
        "columnMetrics": {"revenue": {"nullCount": 0, "distinctCount": 2, "min": 1.5, "max": 9.0}},
    }
    for checks in (CHECKS, [CheckResult("revenue.not_null", Severity.ERROR, False, 1, column="revenue")]):
        out += ev.check_events(
            project, by_country, res, checks, check_run_id=new_id(), start_time=T, end_time=T, metrics=metrics
        )
    ok = BuildResult(build, [res])
    bad = BuildResult(build, [failed])
    out += [ev.build_end(project, ok, build, T), ev.build_end(project, bad, build, T)]
    return [as_dict(e) for e in out]


def test_every_event_kind_validates_against_the_official_spec(project: Project, validate: Any) -> None:
    events = all_events(project)
    assert len(events) == 18
    errors = {e["job"]["name"] + " " + e["eventType"]: validate(e) for e in events}
    assert {k: v for k, v in errors.items() if v} == {}


def test_the_validator_catches_a_broken_event(project: Project, validate: Any) -> None:
    event = all_events(project)[1]
    event["run"]["facets"]["parent"]["run"].pop("runId")
    event["job"]["facets"]["jobType"].pop("integration")
    assert len(validate(event)) >= 2


def test_jobs_are_named_under_the_build_and_typed(project: Project) -> None:
    events = all_events(project)
    names = {e["job"]["name"] for e in events}
    assert names == {
        "linproj",
        "linproj.orders",
        "linproj.users",
        "linproj.enriched",
        "linproj.by_country",
        "linproj.scored",
        "linproj.by_country.check",
    }
    assert {e["job"]["namespace"] for e in events} == {"linproj"}
    kinds = {e["job"]["name"]: e["job"]["facets"]["jobType"] for e in events}
    for name, jt in kinds.items():
        assert (jt["processingType"], jt["integration"]) == ("BATCH", "ASSETBUILD")
        want = "JOB" if name == "linproj" else "CHECK" if name.endswith(".check") else "ASSET"
        assert jt["jobType"] == want, name


def test_lineage_namespace_setting_overrides_the_project_name(tmp_path: Path) -> None:
    project = make_project(tmp_path, lineage={"namespace": "analytics"})
    assert {e["job"]["namespace"] for e in all_events(project)} == {"analytics"}
    assert {e["job"]["name"].split(".")[0] for e in all_events(project)} == {"linproj"}


def test_every_child_event_names_its_parent_and_root(project: Project) -> None:
    events = all_events(project)
    build_run = events[0]["run"]["runId"]
    for e in events:
        parent = e["run"]["facets"].get("parent")
        if e["job"]["name"] == "linproj":
            assert parent is None
            continue
        assert parent["run"]["runId"] == build_run
        assert (parent["job"]["namespace"], parent["job"]["name"]) == ("linproj", "linproj")
        assert parent["root"]["run"]["runId"] == build_run
        assert e["job"]["name"].startswith(parent["job"]["name"] + ".")


def test_datasets_are_named_by_project_and_stable_across_versions(project: Project) -> None:
    assert naming.asset_dataset(project, "enriched") == naming.DatasetRef("linproj", "linproj.main.enriched")
    # an export is where the data is delivered, not what it is called
    assert naming.asset_dataset(project, "scored") == naming.DatasetRef("linproj", "linproj.main.scored")
    outs = []
    for version in ("v1", "v2"):
        info = info_for(project, "enriched", new_id(), version)
        done = as_dict(ev.asset_end(project, info, result_of("enriched", "sql", version=version), T))
        outs.append(done["outputs"][0])
        assert done["inputs"][0]["facets"]["version"]["datasetVersion"] == f"hash-orders-{version}"
    assert (outs[0]["namespace"], outs[0]["name"]) == (outs[1]["namespace"], outs[1]["name"])
    assert outs[0]["facets"]["version"]["datasetVersion"] == "hash-enriched-v1"
    assert outs[1]["facets"]["version"]["datasetVersion"] == "hash-enriched-v2"


def test_exports_given_as_tables_are_a_folder_location(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    project.exports["scored"] = {"path": "out/scored/", "partition_by": ["country"]}
    assert naming.export_symlinks(project, "scored") == [
        naming.Symlink("linproj", "linproj/out/scored", "LOCATION")
    ]


def test_a_completed_asset_carries_its_output_facets(project: Project) -> None:
    info = info_for(project, "by_country", new_id())
    lineage = sql_column_lineage(info.asset.sql or "", info.input_schemas)
    done = as_dict(ev.asset_end(project, info, result_of("by_country", "sql"), T, column_lineage=lineage))
    assert done["eventType"] == "COMPLETE"
    out = done["outputs"][0]
    assert [f["name"] for f in out["facets"]["schema"]["fields"]] == ["country", "revenue", "orders"]
    assert "dataSource" not in out["facets"]  # its store's URI would be a path on this machine
    assert out["outputFacets"]["outputStatistics"] == {
        "_producer": ev.PRODUCER,
        "_schemaURL": out["outputFacets"]["outputStatistics"]["_schemaURL"],
        "rowCount": 2,
        "size": 1234,
    }
    columns = out["facets"]["columnLineage"]
    revenue = columns["fields"]["revenue"]["inputFields"]
    assert [(f["name"], f["field"], f["transformations"][0]["subtype"]) for f in revenue] == [
        ("linproj.main.enriched", "amount", "AGGREGATION")
    ]
    assert {(f["field"], f["transformations"][0]["subtype"]) for f in columns["dataset"]} == {
        ("country", "GROUP_BY"),
        ("amount", "FILTER"),
    }
    sql = done["job"]["facets"]["sql"]
    assert (sql["query"], sql["dialect"]) == (info.asset.sql, "duckdb")
    assert done["job"]["facets"]["documentation"]["description"] == "Revenue per country"
    assert [i["name"] for i in done["inputs"]] == ["linproj.main.enriched"]
    assert [f["name"] for f in done["inputs"][0]["facets"]["schema"]["fields"]] == [
        "order_id",
        "amount",
        "country",
    ]


def test_python_assets_carry_their_source_and_no_column_lineage(project: Project) -> None:
    info = info_for(project, "scored", new_id())
    code = function_source(project.root / "assets" / "scored.py", info.asset)
    assert code is not None and code.startswith("@asset(") and "def scored(" in code
    done = as_dict(ev.asset_end(project, info, result_of("scored", "python"), T, source_code=code))
    facets = done["job"]["facets"]
    assert facets["sourceCode"] == {**facets["sourceCode"], "language": "python", "sourceCode": code}
    assert "sql" not in facets
    assert facets["ownership"]["owners"] == [{"name": "team:risk"}]
    assert facets["tags"]["tags"] == [{"key": "risk", "value": "true", "source": "ASSETBUILD"}]
    assert "columnLineage" not in done["outputs"][0]["facets"]
    [out] = done["outputs"]
    assert (out["namespace"], out["name"]) == ("linproj", "linproj.main.scored")
    assert out["facets"]["symlinks"]["identifiers"] == [
        {"namespace": "linproj", "name": "linproj/out/scored.parquet", "type": "LOCATION"}
    ]


def test_sources_read_their_files(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    info = info_for(project, "orders", new_id())
    done = as_dict(
        ev.asset_end(project, info, result_of("orders", "source"), T, source_files=SOURCE_FILES["orders"])
    )
    [file] = done["inputs"]
    assert (file["namespace"], file["name"]) == ("linproj", "linproj/data/orders.csv")
    assert file["inputFacets"]["inputStatistics"]["fileCount"] == 1
    assert file["inputFacets"]["inputStatistics"]["size"] == 40
    globbed = project.assets["orders"].__class__(
        **{**project.assets["orders"].__dict__, "patterns": ("data/tx/*.csv",)}
    )
    refs = naming.source_file_datasets(project, globbed)
    assert refs == [("data/tx/*.csv", naming.DatasetRef("linproj", "linproj/data/tx"))]


def test_a_failed_asset_sends_fail_with_the_user_traceback(project: Project) -> None:
    info = info_for(project, "scored", new_id())
    failed = AssetResult("scored", "python", Status.FAILED, "boom", error="ZeroDivisionError: boom")
    tb = 'Traceback (most recent call last):\n  File "assets/scored.py", line 9, in scored\nZeroDivisionError: boom'
    done = as_dict(ev.asset_end(project, info, failed, T, traceback=tb))
    assert done["eventType"] == "FAIL"
    assert done["outputs"] == []
    error = done["run"]["facets"]["errorMessage"]
    assert (error["message"], error["programmingLanguage"], error["stackTrace"]) == (
        "ZeroDivisionError: boom",
        "python",
        tb,
    )


def test_quarantined_output_is_a_fail_without_outputs(project: Project) -> None:
    info = info_for(project, "by_country", new_id())
    res = result_of(
        "by_country",
        "sql",
        status=Status.CHECK_FAILED,
        checks=[CHECKS[0].__class__("revenue.min", Severity.ERROR, False, 3)],
    )
    done = as_dict(ev.asset_end(project, info, res, T))
    assert done["eventType"] == "FAIL" and done["outputs"] == []
    assert "revenue.min" in done["run"]["facets"]["errorMessage"]["message"]


def test_checks_are_a_child_run_reading_the_asset_with_assertions_and_metrics(project: Project) -> None:
    info = info_for(project, "by_country", new_id())
    metrics: dict[str, Any] = {
        "rowCount": 2,
        "columnMetrics": {
            "revenue": {"nullCount": 0, "distinctCount": 2, "min": 1.5, "max": 9.0, "sum": 10.5}
        },
    }
    start, end = (
        as_dict(e)
        for e in ev.check_events(
            project,
            info,
            result_of("by_country", "sql"),
            CHECKS,
            check_run_id=new_id(),
            start_time=T,
            end_time=T,
            metrics=metrics,
        )
    )
    assert (start["eventType"], end["eventType"]) == (
        "START",
        "COMPLETE",
    )  # a failed warn check never fails the run
    assert start["run"]["runId"] == end["run"]["runId"] != info.run_id
    assert end["job"]["name"] == "linproj.by_country.check" and end["outputs"] == []
    [checked] = end["inputs"]
    assert checked["name"] == "linproj.main.by_country"
    assertions = checked["inputFacets"]["dataQualityAssertions"]["assertions"]
    assert [
        (a["assertion"], a["name"], a.get("column"), a["success"], a["severity"]) for a in assertions
    ] == [
        ("min", "revenue.min", "revenue", True, "error"),
        ("row_count", "table.row_count", None, False, "warn"),
    ]
    assert (assertions[1]["expected"], assertions[1]["actual"]) == (">= 5", "2")
    dq = checked["inputFacets"]["dataQualityMetrics"]
    assert dq["rowCount"] == 2 and dq["bytes"] == 1234
    revenue = dq["columnMetrics"]["revenue"]
    assert {k: revenue[k] for k in ("nullCount", "distinctCount", "min", "max", "sum")} == metrics[
        "columnMetrics"
    ]["revenue"]
    assert checked["facets"]["version"]["datasetVersion"] == "hash-by_country-v1"


def test_a_failed_error_check_fails_the_check_run(project: Project) -> None:
    info = info_for(project, "by_country", new_id())
    failing = [CheckResult("revenue.min", Severity.ERROR, False, 3, column="revenue")]
    _, end = (
        as_dict(e)
        for e in ev.check_events(
            project,
            info,
            result_of("by_country", "sql"),
            failing,
            check_run_id=new_id(),
            start_time=T,
            end_time=T,
        )
    )
    assert end["eventType"] == "FAIL"
    assert "revenue.min" in end["run"]["facets"]["errorMessage"]["message"]
    assert end["inputs"][0]["inputFacets"]["dataQualityMetrics"]["columnMetrics"] == {}


def test_the_build_run_fails_when_an_asset_did_not_publish(project: Project) -> None:
    build = new_id()
    ok = as_dict(ev.build_end(project, BuildResult(build, [result_of("enriched", "sql")]), build, T))
    assert ok["eventType"] == "COMPLETE" and "errorMessage" not in ok["run"]["facets"]
    failed = AssetResult("scored", "python", Status.FAILED, "boom")
    bad = as_dict(ev.build_end(project, BuildResult(build, [failed]), build, T))
    assert bad["eventType"] == "FAIL"
    assert "scored (failed)" in bad["run"]["facets"]["errorMessage"]["message"]


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("amount.min", "min"),
        ("table.row_count", "row_count"),
        ("python:positive", "python"),
        ("x.y.unique", "unique"),
    ],
)
def test_assertion_kind(name: str, kind: str) -> None:
    assert ev.assertion_kind(name) == kind
