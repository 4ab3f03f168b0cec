"""OpenLineage RunEvents for a build, its asset runs and their quality checks (openlineage-python v2 classes).

One parent run per build (job `{project}`), one child run per executed asset (job
`{project}.{asset}`) and one per asset's checks (job `{project}.{asset}.check`), each child
carrying `parent` and `root` on every event. A restore (an earlier version made current again,
nothing run) is a run of the asset's job too, marked by our own `assetbuild_restore` run facet:
without it the backend would go on showing the version reverted away from as current. Names
are in naming.py; column types in DuckDB's names (types.py). Pure: every input (times, ids,
source code, column lineage, metrics) is passed in; nothing here reads files, clocks or the
network.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import attr
from openlineage.client import constants as ol_constants
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    RunFacet,
    column_lineage_dataset,
    data_quality_assertions_dataset,
    data_quality_metrics_input_dataset,
    dataset_version_dataset,
    datasource_dataset,
    documentation_job,
    error_message_run,
    input_statistics_input_dataset,
    job_type_job,
    lifecycle_state_change_dataset,
    output_statistics_output_dataset,
    ownership_job,
    parent_run,
    processing_engine_run,
    schema_dataset,
    source_code_job,
    sql_job,
    symlinks_dataset,
    tags_job,
)
from openlineage.client.serde import Serde

from assetbuild.lineage import naming
from assetbuild.lineage.columns import ColumnLineage, ColumnSource
from assetbuild.lineage.metrics import (
    data_quality_metrics as data_quality_metrics,  # the engine imports it from here
)
from assetbuild.lineage.types import duckdb_type
from assetbuild.model.assets import AssetDef, Kind, Project, SourceFile
from assetbuild.model.events import RunInfo
from assetbuild.model.results import AssetResult, BuildResult, CheckResult, Severity, Status
from assetbuild.version import __version__

PRODUCER = f"https://pypi.org/project/assetbuild/{__version__}/"
INTEGRATION = "ASSETBUILD"
SQL_DIALECT = "duckdb"

# Our one custom facet. The spec asks custom facets for a `_producer` and a `_schemaURL` naming
# their own schema (the key prefixed by the producer, as `airflow_*`, `spark_*` are). The schema
# is below, versioned on its own, not with the package; it is not served at that URL yet, so a
# consumer that fetches schemas finds nothing there (tests/lineage validates against this copy).
RESTORE_FACET = "assetbuild_restore"
RESTORE_FACET_SCHEMA_ID = (
    "https://pypi.org/project/assetbuild/spec/facets/1-0-0/AssetbuildRestoreRunFacet.json"
)
RESTORE_FACET_SCHEMA_URL = f"{RESTORE_FACET_SCHEMA_ID}#/$defs/AssetbuildRestoreRunFacet"
RESTORE_FACET_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": RESTORE_FACET_SCHEMA_ID,
    "$defs": {
        "AssetbuildRestoreRunFacet": {
            "allOf": [
                {"$ref": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunFacet"},
                {
                    "type": "object",
                    "description": "This run ran nothing: it made a version stored earlier current again.",
                    "properties": {
                        "restored": {"type": "boolean", "const": True},
                        "contentHash": {
                            "type": "string",
                            "description": "assetbuild's content hash of the version made current "
                            "(the output's `version` facet)",
                        },
                        "buildKey": {
                            "type": "string",
                            "description": "the build key the version was built under, which matched again",
                        },
                        "reason": {"type": "string", "description": "why, as the build reports it"},
                    },
                    "required": ["restored", "contentHash"],
                },
            ],
            "type": "object",
        }
    },
    "type": "object",
    "properties": {RESTORE_FACET: {"$ref": "#/$defs/AssetbuildRestoreRunFacet"}},
}


@attr.define
class RestoreRunFacet(RunFacet):
    """`assetbuild_restore`: the run made an earlier version current again (RESTORE_FACET_SCHEMA)."""

    # camelCase, as the spec's own facets spell their fields on the wire
    contentHash: str
    restored: bool = True
    buildKey: str | None = None
    reason: str | None = None

    @staticmethod
    def _get_schema() -> str:
        return RESTORE_FACET_SCHEMA_URL


@dataclass(frozen=True)
class Parent:
    """The build run every asset and check run hangs under."""

    run_id: str
    namespace: str
    name: str

    def facet(self) -> parent_run.ParentRunFacet:
        return parent_run.ParentRunFacet(
            run=parent_run.Run(runId=self.run_id),
            job=parent_run.Job(namespace=self.namespace, name=self.name),
            # The build is the top of the tree, so it is the root as well as the parent.
            root=parent_run.Root(
                run=parent_run.RootRun(runId=self.run_id),
                job=parent_run.RootJob(namespace=self.namespace, name=self.name),
            ),
            producer=PRODUCER,
        )


def build_parent(project: Project, build_run_id: str) -> Parent:
    return Parent(build_run_id, naming.job_namespace(project), naming.build_job_name(project))


def to_json(event: RunEvent) -> str:
    """The event as compact JSON with sorted keys and no nulls, as the client sends it."""
    return Serde.to_json(event)


# -- the build ---------------------------------------------------------------------------------


def build_start(project: Project, run_id: str, event_time: str) -> RunEvent:
    return _event(RunState.START, event_time, run_id, _build_job(project), _engine_facets())


def build_end(project: Project, result: BuildResult, run_id: str, event_time: str) -> RunEvent:
    facets = _engine_facets()
    if result.ok:
        return _event(RunState.COMPLETE, event_time, run_id, _build_job(project), facets)
    bad = [a for a in result.assets if a.status in (Status.FAILED, Status.CHECK_FAILED)]
    names = ", ".join(f"{a.name} ({a.status.value})" for a in bad) or "see the build report"
    facets["errorMessage"] = _error(f"{len(bad)} asset(s) did not publish: {names}", None)
    return _event(RunState.FAIL, event_time, run_id, _build_job(project), facets)


def _build_job(project: Project) -> Job:
    return Job(
        namespace=naming.job_namespace(project),
        name=naming.build_job_name(project),
        facets={"jobType": _job_type("JOB")},
    )


# -- one asset run -----------------------------------------------------------------------------


def asset_start(
    project: Project,
    info: RunInfo,
    event_time: str,
    *,
    source_code: str | None = None,
    source_files: Sequence[SourceFile] | None = None,
) -> RunEvent:
    out = naming.asset_dataset(project, info.asset.name)
    return _event(
        RunState.START,
        event_time,
        info.run_id,
        _asset_job(project, info.asset, source_code),
        _child_facets(project, info.parent_run_id),
        inputs=_asset_inputs(project, info, source_files),
        outputs=[OutputDataset(out.namespace, out.name, facets=_where(out))],
    )


def asset_end(
    project: Project,
    info: RunInfo,
    result: AssetResult,
    event_time: str,
    *,
    traceback: str | None = None,
    source_code: str | None = None,
    source_files: Sequence[SourceFile] | None = None,
    column_lineage: ColumnLineage | None = None,
    descriptions: Mapping[str, str] | None = None,
) -> RunEvent:
    """COMPLETE with the published output, or FAIL with `errorMessage` when nothing was published.

    `descriptions` are the columns' own (`description:` in the rules), for the schema facet."""
    job = _asset_job(project, info.asset, source_code)
    run_facets = _child_facets(project, info.parent_run_id)
    inputs = _asset_inputs(project, info, source_files)
    if result.status is Status.FAILED or traceback is not None:
        run_facets["errorMessage"] = _error(result.error or _last_line(traceback) or "failed", traceback)
        return _event(RunState.FAIL, event_time, info.run_id, job, run_facets, inputs=inputs)
    if result.status is Status.CHECK_FAILED:
        failed = [c.name for c in result.checks if not c.passed and c.severity is Severity.ERROR]
        message = "quality checks failed, output withheld: " + (", ".join(failed) or "see the checks")
        run_facets["errorMessage"] = _error(message, None)
        return _event(RunState.FAIL, event_time, info.run_id, job, run_facets, inputs=inputs)
    return _event(
        RunState.COMPLETE,
        event_time,
        info.run_id,
        job,
        run_facets,
        inputs=inputs,
        outputs=[_asset_output(project, info.asset, result, column_lineage, descriptions)],
    )


def restore_events(
    project: Project,
    info: RunInfo,
    result: AssetResult,
    start_time: str,
    end_time: str,
    *,
    source_code: str | None = None,
    source_files: Sequence[SourceFile] | None = None,
    column_lineage: ColumnLineage | None = None,
    descriptions: Mapping[str, str] | None = None,
) -> list[RunEvent]:
    """START and COMPLETE of a run of the asset's job that made `result` (status `restored`)
    current again: the output is the restored version (`version` = its content hash, schema),
    the run carries `assetbuild_restore`, and the backend's current version follows."""
    job = _asset_job(project, info.asset, source_code)
    facets = _child_facets(project, info.parent_run_id)
    facets[RESTORE_FACET] = RestoreRunFacet(
        contentHash=result.content_hash or "",
        buildKey=result.build_key,
        reason=result.reason or None,
        producer=PRODUCER,
    )
    inputs = _asset_inputs(project, info, source_files)
    out = naming.asset_dataset(project, info.asset.name)
    start = _event(
        RunState.START,
        start_time,
        info.run_id,
        job,
        facets,
        inputs=inputs,
        outputs=[OutputDataset(out.namespace, out.name, facets=_where(out))],
    )
    end = _event(
        RunState.COMPLETE,
        end_time,
        info.run_id,
        job,
        facets,
        inputs=inputs,
        outputs=[_asset_output(project, info.asset, result, column_lineage, descriptions)],
    )
    return [start, end]


def _asset_job(project: Project, asset: AssetDef, source_code: str | None) -> Job:
    facets: dict[str, Any] = {"jobType": _job_type("ASSET")}
    if asset.kind is Kind.SQL and asset.sql:
        facets["sql"] = sql_job.SQLJobFacet(query=asset.sql, dialect=SQL_DIALECT, producer=PRODUCER)
    elif asset.kind is Kind.PYTHON and source_code:
        facets["sourceCode"] = source_code_job.SourceCodeJobFacet(
            language="python", sourceCode=source_code, producer=PRODUCER
        )
    if asset.description:
        facets["documentation"] = documentation_job.DocumentationJobFacet(
            description=asset.description, producer=PRODUCER
        )
    if asset.owner:
        facets["ownership"] = ownership_job.OwnershipJobFacet(
            owners=[ownership_job.Owner(name=asset.owner)], producer=PRODUCER
        )
    if asset.tags:
        facets["tags"] = tags_job.TagsJobFacet(
            tags=[tags_job.TagsJobFacetFields(key=t, value="true", source=INTEGRATION) for t in asset.tags],
            producer=PRODUCER,
        )
    return Job(
        namespace=naming.job_namespace(project),
        name=naming.asset_job_name(project, asset.name),
        facets=facets,
    )


def _asset_inputs(
    project: Project, info: RunInfo, source_files: Sequence[SourceFile] | None
) -> list[InputDataset]:
    asset = info.asset
    if asset.kind is Kind.SOURCE:
        return _source_inputs(project, asset, source_files)
    inputs = []
    for upstream in asset.upstream:
        ref = naming.asset_dataset(project, upstream)
        facets: dict[str, Any] = _where(ref)
        if upstream in info.input_schemas:
            facets["schema"] = _schema(info.input_schemas[upstream])
        if info.inputs.get(upstream):
            facets["version"] = _version(info.inputs[upstream])
        inputs.append(InputDataset(ref.namespace, ref.name, facets=facets))
    return inputs


def _source_inputs(
    project: Project, asset: AssetDef, source_files: Sequence[SourceFile] | None
) -> list[InputDataset]:
    per_pattern: dict[str, list[SourceFile]] = {}
    for f in source_files or ():
        pattern = naming.pattern_of_file(asset, f.path)
        if pattern is not None:
            per_pattern.setdefault(pattern, []).append(f)
    inputs: list[InputDataset] = []
    seen: set[naming.DatasetRef] = set()
    for pattern, ref in naming.source_file_datasets(project, asset):
        if ref in seen:
            continue
        seen.add(ref)
        input_facets: dict[str, Any] = {}
        files = per_pattern.get(pattern)
        if files:
            input_facets["inputStatistics"] = input_statistics_input_dataset.InputStatisticsInputDatasetFacet(
                fileCount=len(files), size=sum(f.size for f in files), producer=PRODUCER
            )
        inputs.append(InputDataset(ref.namespace, ref.name, facets=_where(ref), inputFacets=input_facets))
    return inputs


def _asset_output(
    project: Project,
    asset: AssetDef,
    result: AssetResult,
    column_lineage: ColumnLineage | None,
    descriptions: Mapping[str, str] | None = None,
) -> OutputDataset:
    ref = naming.asset_dataset(project, asset.name)
    facets: dict[str, Any] = {
        **_where(ref),
        "lifecycleStateChange": lifecycle_state_change_dataset.LifecycleStateChangeDatasetFacet(
            lifecycleStateChange=lifecycle_state_change_dataset.LifecycleStateChange.OVERWRITE,
            producer=PRODUCER,
        ),
    }
    symlinks = naming.export_symlinks(project, asset.name)
    if symlinks:
        # where the data is delivered too, relative to the project: a location, not a name
        facets["symlinks"] = symlinks_dataset.SymlinksDatasetFacet(
            identifiers=[symlinks_dataset.Identifier(s.namespace, s.name, s.type) for s in symlinks],
            producer=PRODUCER,
        )
    if result.schema is not None:
        facets["schema"] = _schema(result.schema, descriptions)
    if result.content_hash:
        facets["version"] = _version(result.content_hash)
    if column_lineage is not None and (column_lineage.fields or column_lineage.dataset):
        facets["columnLineage"] = _column_lineage(project, column_lineage)
    output_facets: dict[str, Any] = {}
    if result.rows is not None or result.bytes is not None:
        output_facets["outputStatistics"] = (
            output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                rowCount=result.rows, size=result.bytes, producer=PRODUCER
            )
        )
    return OutputDataset(ref.namespace, ref.name, facets=facets, outputFacets=output_facets)


def _column_lineage(
    project: Project, lineage: ColumnLineage
) -> column_lineage_dataset.ColumnLineageDatasetFacet:
    return column_lineage_dataset.ColumnLineageDatasetFacet(
        fields={
            column: column_lineage_dataset.Fields(inputFields=_input_fields(project, sources))
            for column, sources in lineage.fields.items()
        },
        dataset=_input_fields(project, lineage.dataset),
        producer=PRODUCER,
    )


def _input_fields(
    project: Project, sources: Iterable[ColumnSource]
) -> list[column_lineage_dataset.InputField]:
    """One InputField per upstream column, listing every way it is used."""
    grouped: dict[tuple[str, str], list[column_lineage_dataset.Transformation]] = {}
    for s in sources:
        transformation = column_lineage_dataset.Transformation(
            type=s.type, subtype=s.subtype, masking=s.masking if s.type == "DIRECT" else None
        )
        grouped.setdefault((s.dataset, s.column), [])
        if transformation not in grouped[(s.dataset, s.column)]:
            grouped[(s.dataset, s.column)].append(transformation)
    fields = []
    for (dataset, column), transformations in grouped.items():
        ref = naming.asset_dataset(project, dataset)
        fields.append(
            column_lineage_dataset.InputField(
                namespace=ref.namespace, name=ref.name, field=column, transformations=transformations
            )
        )
    return fields


# -- one asset's checks ------------------------------------------------------------------------


def check_events(
    project: Project,
    info: RunInfo,
    result: AssetResult,
    checks: Sequence[CheckResult],
    *,
    check_run_id: str,
    start_time: str,
    end_time: str,
    metrics: Mapping[str, Any] | None = None,
    reads: Sequence[str] = (),
    descriptions: Mapping[str, str] | None = None,
) -> list[RunEvent]:
    """START and COMPLETE (FAIL when an error-severity check failed) of the asset's check run.

    `reads` are the other assets its rules read (`sql:` rules, references): inputs of the run
    too, so the backend shows the edge the build waits on.

    The checked asset is the run's input, carrying `dataQualityAssertions` (one per rule) and
    `dataQualityMetrics` in its input facets, where the spec and Marquez expect them.
    """
    asset = info.asset
    job = Job(
        namespace=naming.job_namespace(project),
        name=naming.check_job_name(project, asset.name),
        facets={"jobType": _job_type("CHECK")},
    )
    ref = naming.asset_dataset(project, asset.name)
    start = _event(
        RunState.START,
        start_time,
        check_run_id,
        job,
        _child_facets(project, info.parent_run_id),
        inputs=[InputDataset(ref.namespace, ref.name, facets=_where(ref)), *_read_by_rules(project, reads)],
    )
    facets: dict[str, Any] = _where(ref)
    if result.schema is not None:
        facets["schema"] = _schema(result.schema, descriptions)
    if result.content_hash:
        facets["version"] = _version(result.content_hash)
    checked = InputDataset(
        ref.namespace,
        ref.name,
        facets=facets,
        inputFacets={
            "dataQualityAssertions": data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(
                assertions=[_assertion(c) for c in checks], producer=PRODUCER
            ),
            "dataQualityMetrics": _metrics_facet(metrics, result),
        },
    )
    run_facets = _child_facets(project, info.parent_run_id)
    failed = [c.name for c in checks if not c.passed and c.severity is Severity.ERROR]
    state = RunState.COMPLETE
    if failed:
        state = RunState.FAIL
        run_facets["errorMessage"] = _error("error-severity checks failed: " + ", ".join(failed), None)
    end = _event(
        state, end_time, check_run_id, job, run_facets, inputs=[checked, *_read_by_rules(project, reads)]
    )
    return [start, end]


def _read_by_rules(project: Project, reads: Sequence[str]) -> list[InputDataset]:
    refs = [naming.asset_dataset(project, name) for name in sorted(set(reads))]
    return [InputDataset(r.namespace, r.name, facets=_where(r)) for r in refs]


def _assertion(check: CheckResult) -> data_quality_assertions_dataset.Assertion:
    params: dict[str, Any] = {"failingRows": check.failing_rows}
    if check.source:
        params["source"] = check.source
    return data_quality_assertions_dataset.Assertion(
        assertion=assertion_kind(check.name),
        success=check.passed,
        column=check.column,
        severity=check.severity.value,
        name=check.name,
        description=check.description,
        expected=check.expected,
        actual=check.actual,
        params=params,
    )


def assertion_kind(check_name: str) -> str:
    """The test's classification: `amount.min` -> `min`, `table.row_count` -> `row_count`,
    `python:positive_amounts` -> `python`."""
    if ":" in check_name:
        return check_name.split(":", 1)[0]
    return check_name.rsplit(".", 1)[-1]


def _metrics_facet(
    metrics: Mapping[str, Any] | None, result: AssetResult
) -> data_quality_metrics_input_dataset.DataQualityMetricsInputDatasetFacet:
    metrics = metrics or {}
    columns = {
        name: data_quality_metrics_input_dataset.ColumnMetrics(
            nullCount=m.get("nullCount"),
            distinctCount=m.get("distinctCount"),
            sum=m.get("sum"),
            count=m.get("count"),
            min=m.get("min"),
            max=m.get("max"),
        )
        for name, m in (metrics.get("columnMetrics") or {}).items()
    }
    row_count = metrics.get("rowCount", result.rows)
    return data_quality_metrics_input_dataset.DataQualityMetricsInputDatasetFacet(
        columnMetrics=columns, rowCount=row_count, bytes=result.bytes, producer=PRODUCER
    )


# -- shared pieces -----------------------------------------------------------------------------


def _event(
    state: RunState,
    event_time: str,
    run_id: str,
    job: Job,
    run_facets: dict[str, Any],
    *,
    inputs: list[InputDataset] | None = None,
    outputs: list[OutputDataset] | None = None,
) -> RunEvent:
    return RunEvent(
        eventType=state,
        eventTime=event_time,
        run=Run(runId=run_id, facets=run_facets),
        job=job,
        inputs=inputs or [],
        outputs=outputs or [],
        producer=PRODUCER,
    )


def _child_facets(project: Project, build_run_id: str) -> dict[str, Any]:
    return {"parent": build_parent(project, build_run_id).facet(), **_engine_facets()}


def _engine_facets() -> dict[str, Any]:
    return {
        "processing_engine": processing_engine_run.ProcessingEngineRunFacet(
            version=__version__,
            name="assetbuild",
            openlineageAdapterVersion=ol_constants.__version__,
            producer=PRODUCER,
        )
    }


def _job_type(kind: str) -> job_type_job.JobTypeJobFacet:
    # Marquez needs all three fields although the spec makes jobType optional.
    return job_type_job.JobTypeJobFacet(
        processingType="BATCH", integration=INTEGRATION, jobType=kind, producer=PRODUCER
    )


def _schema(
    columns: Sequence[tuple[str, str]], descriptions: Mapping[str, str] | None = None
) -> schema_dataset.SchemaDatasetFacet:
    # stored schemas hold polars' reprs; a backend and its users read the warehouse's type names
    described = descriptions or {}
    return schema_dataset.SchemaDatasetFacet(
        fields=[
            schema_dataset.SchemaDatasetFacetFields(
                name=name, type=duckdb_type(dtype), description=described.get(name), ordinal_position=i
            )
            for i, (name, dtype) in enumerate(columns, start=1)
        ],
        producer=PRODUCER,
    )


def _version(content_hash: str) -> dataset_version_dataset.DatasetVersionDatasetFacet:
    return dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=content_hash, producer=PRODUCER)


def _where(ref: naming.DatasetRef) -> dict[str, Any]:
    """`dataSource` for a dataset named physically (a file outside the project, a bucket). An
    asset's own datasets get none: their store's URI is a path on whichever machine built
    them, and Marquez would move the source's URI with every machine that reports."""
    if ref.store_uri is None:
        return {}
    return {
        "dataSource": datasource_dataset.DatasourceDatasetFacet(
            name=ref.namespace, uri=ref.store_uri, producer=PRODUCER
        )
    }


def _error(message: str, traceback: str | None) -> error_message_run.ErrorMessageRunFacet:
    return error_message_run.ErrorMessageRunFacet(
        message=message, programmingLanguage="python", stackTrace=traceback or None, producer=PRODUCER
    )


def _last_line(text: str | None) -> str | None:
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else None
