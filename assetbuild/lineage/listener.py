"""The build listener that turns a build's hooks into OpenLineage events in the outbox, then sends them.

A restored asset (an earlier version made current again, nothing run) is told as a run of the
asset's job when it settles (`asset_done`); an asset left up to date tells nothing, since
nothing about it changed.

It never raises into a build and never slows it by more than about a second: events are appended
to the outbox as hooks fire, a background sender delivers them, and `build_finished` waits for
it within a fixed budget. Problems become strings in `.warnings`. With lineage disabled
(`OPENLINEAGE_DISABLED=true`, `[lineage] disabled = true`) it does nothing and imports nothing.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import glob
import os
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from assetbuild.lineage.outbox import Outbox
from assetbuild.lineage.sending import BUILD_BUDGET_S, BuildSender, delivery_warning
from assetbuild.lineage.transport import lineage_disabled, resolve
from assetbuild.model.assets import AssetDef, Kind, Project, SourceFile
from assetbuild.model.events import BaseListener, RunInfo
from assetbuild.model.results import AssetResult, BuildResult, CheckResult, Status
from assetbuild.model.runids import new_run_id

# what a settled asset's dataset holds after the build: its version and schema are known
_PUBLISHED = (Status.BUILT, Status.RESTORED, Status.UP_TO_DATE)

F = TypeVar("F", bound=Callable[..., None])


def _never_raises(hook: F) -> F:
    @functools.wraps(hook)
    def guarded(self: OpenLineageListener, *args: Any, **kwargs: Any) -> None:
        if not self.enabled:
            return
        try:
            hook(self, *args, **kwargs)
        except Exception as e:  # lineage must never fail a build
            message = f"lineage: {hook.__name__} failed: {type(e).__name__}: {e}"
            if message not in self.warnings:
                self.warnings.append(message)

    return guarded  # type: ignore[return-value]


class OpenLineageListener(BaseListener):
    """Records a build's lineage in the outbox and delivers it (see the module docstring).

    `RunInfo.metrics` carries `data_quality_metrics` for `checks_finished`.
    """

    def __init__(self, project: Project, run_id: str, *, budget_s: float = BUILD_BUDGET_S) -> None:
        self.project = project
        self.run_id = run_id
        self.budget_s = budget_s
        self.warnings: list[str] = []
        self.enabled = not lineage_disabled(project)
        self._outbox: Outbox | None = None
        self._sender: BuildSender | None = None
        self._lock = threading.Lock()
        self._source_code: dict[str, str | None] = {}
        self._schemas: dict[str, list[tuple[str, str]]] = {}  # of assets built in this build
        self._versions: dict[str, str] = {}  # content hash of each asset settled so far
        self._rulesets: dict[str, Any] | None = None  # the project's rules, once something needs them

    # -- hooks ----------------------------------------------------------------------------------

    @_never_raises
    def build_started(self, project: Project, run_id: str, selected: list[str]) -> None:
        from assetbuild.lineage import events

        self.project, self.run_id = project, run_id
        self._outbox = Outbox.of_project(project.root)
        self._record(events.build_start(project, run_id, _now()))
        choice = resolve(project)
        if choice.configured:
            self._sender = BuildSender(self._outbox.directory, choice)
            self._sender.start()
            self._sender.notify()

    @_never_raises
    def asset_started(self, info: RunInfo) -> None:
        from assetbuild.lineage import events

        info = self._with_schemas(info)
        self._record(
            events.asset_start(
                self.project,
                info,
                _now(),
                source_code=self._code(info),
                source_files=self._files(info),
            )
        )

    @_never_raises
    def asset_finished(self, info: RunInfo, result: AssetResult, traceback: str | None) -> None:
        from assetbuild.lineage import events

        info = self._with_schemas(info)
        if result.schema is not None and result.status is not Status.FAILED:
            self._schemas[info.asset.name] = list(result.schema)
        lineage = None
        if info.asset.kind is Kind.SQL and info.asset.sql and result.status is not Status.FAILED:
            from assetbuild.lineage.columns import sql_column_lineage

            output = [name for name, _ in result.schema] if result.schema is not None else None
            lineage = sql_column_lineage(info.asset.sql, info.input_schemas, output_columns=output)
        self._record(
            events.asset_end(
                self.project,
                info,
                result,
                _now(),
                traceback=traceback,
                source_code=self._code(info),
                source_files=self._files(info),
                column_lineage=lineage,
                descriptions=self._descriptions(info.asset.name),
            )
        )

    @_never_raises
    def checks_finished(self, info: RunInfo, result: AssetResult, checks: list[CheckResult]) -> None:
        from openlineage.client.uuid import generate_new_uuid

        from assetbuild.lineage import events

        if not checks:
            return
        time = _now()
        for event in events.check_events(
            self.project,
            info,
            result,
            checks,
            check_run_id=str(generate_new_uuid()),
            start_time=time,
            end_time=time,
            metrics=info.metrics or None,
            reads=self._rule_reads(info.asset.name),
            descriptions=self._descriptions(info.asset.name),
        ):
            self._record(event)

    @_never_raises
    def asset_done(self, result: AssetResult) -> None:
        from assetbuild.lineage import events

        if result.status in _PUBLISHED and result.content_hash:
            self._versions[result.name] = result.content_hash
        if result.status is not Status.RESTORED:
            return
        asset = self.project.assets.get(result.name)
        if asset is None:
            return
        if result.schema is not None:
            self._schemas[asset.name] = list(result.schema)
        info = self._with_schemas(
            RunInfo(
                asset=asset,
                run_id=new_run_id(),
                parent_run_id=self.run_id,
                # upstream settle first, so each one's version is known unless it was not selected
                inputs={u: self._versions[u] for u in asset.upstream if u in self._versions},
            )
        )
        lineage = None
        if asset.kind is Kind.SQL and asset.sql:
            from assetbuild.lineage.columns import sql_column_lineage

            output = [name for name, _ in result.schema] if result.schema is not None else None
            lineage = sql_column_lineage(asset.sql, info.input_schemas, output_columns=output)
        end = datetime.now(UTC)
        start = end - timedelta(seconds=max(result.duration_s, 0.0))
        for event in events.restore_events(
            self.project,
            info,
            result,
            start.isoformat(),
            end.isoformat(),
            source_code=self._code(info),
            source_files=self._files(info),
            column_lineage=lineage,
            descriptions=self._descriptions(asset.name),
        ):
            self._record(event)

    def _ruleset(self, asset: str) -> Any:
        """The asset's rules (loaded once per build, from the rules cache), or None."""
        if self._rulesets is None:
            from assetbuild.gate.audit import load_rulesets

            self._rulesets = load_rulesets(self.project)
        return self._rulesets.get(asset)

    def _descriptions(self, asset: str) -> dict[str, str]:
        rules = self._ruleset(asset)
        return dict(rules.column_descriptions) if rules is not None else {}

    def _rule_reads(self, asset: str) -> list[str]:
        rules = self._ruleset(asset)
        return [r for r in rules.references if r in self.project.assets] if rules is not None else []

    def build_finished(self, project: Project, result: BuildResult) -> None:
        if not self.enabled:
            return
        try:
            from assetbuild.lineage import events

            if self._outbox is not None:
                self._record(events.build_end(project, result, self.run_id, _now()))
        except Exception as e:
            self.warnings.append(f"lineage: build_finished failed: {type(e).__name__}: {e}")
        finally:
            self._finish_delivery()

    # -- internals ------------------------------------------------------------------------------

    def _record(self, event: Any) -> None:
        from assetbuild.lineage.events import to_json

        if self._outbox is None:
            return  # build_started never ran (or failed): there is no parent run to hang under
        job = f"{event.job.namespace}/{event.job.name}"
        with self._lock:
            self._outbox.append(event.run.runId, event.eventType.value, job, to_json(event))
        if self._sender is not None:
            self._sender.notify()

    def _finish_delivery(self) -> None:
        sender, outbox = self._sender, self._outbox
        if outbox is None:
            return
        try:
            if sender is not None:
                done = sender.finish(self.budget_s)
                warning = delivery_warning(
                    self.project, outbox, sender.choice, sender.failure(), done=done, budget_s=self.budget_s
                )
                if warning:
                    self.warnings.append(warning)
        except Exception as e:
            self.warnings.append(f"lineage: delivery failed: {type(e).__name__}: {e}")
        finally:
            with self._lock:
                outbox.close()

    def _with_schemas(self, info: RunInfo) -> RunInfo:
        """`info` with the schemas of upstream built earlier in this build filled in (fresher than
        what the engine knew when the build started)."""
        fresh = {u: self._schemas[u] for u in info.asset.upstream if u in self._schemas}
        if not fresh:
            return info
        return dataclasses.replace(info, input_schemas={**info.input_schemas, **fresh})

    def _code(self, info: RunInfo) -> str | None:
        asset = info.asset
        if asset.kind is not Kind.PYTHON:
            return None
        if asset.name not in self._source_code:
            self._source_code[asset.name] = function_source(self.project.root / asset.path, asset)
        return self._source_code[asset.name]

    def _files(self, info: RunInfo) -> Sequence[SourceFile] | None:
        asset = info.asset
        if asset.kind is not Kind.SOURCE:
            return None
        if info.source_files:  # what the build observed and read
            return list(info.source_files)
        return list_source_files(self.project.root, asset)


def function_source(path: Path, asset: AssetDef) -> str | None:
    """The source text of a Python asset's function, decorators included."""
    try:
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text)
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None
    wanted = asset.function or asset.name
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == wanted:
            start = min([d.lineno for d in node.decorator_list] + [node.lineno])
            lines = text.splitlines()
            return "\n".join(lines[start - 1 : node.end_lineno]) + "\n"
    return None


def list_source_files(root: Path, asset: AssetDef) -> list[SourceFile]:
    """The files a source's patterns match now (size only; the hash is not needed for lineage)."""
    files: list[SourceFile] = []
    for pattern in asset.patterns:
        for match in sorted(glob.glob(str(Path(root) / pattern), recursive=True)):
            if os.path.isfile(match):
                files.append(SourceFile(os.path.relpath(match, root), "", os.path.getsize(match)))
    return files


def _now() -> str:
    return datetime.now(UTC).isoformat()
