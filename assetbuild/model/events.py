"""The one Listener protocol that observers of a build implement (progress, lineage, history).

The scheduler and build wiring call these hooks; they never know who listens. A listener must
not raise into a build: `Listeners` swallows and records what a listener throws.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from assetbuild.model.assets import AssetDef, Project, SourceFile
from assetbuild.model.results import AssetResult, BuildResult, CheckResult


@dataclass(frozen=True)
class RunInfo:
    """What a listener learns about an asset run that actually executed."""

    asset: AssetDef
    run_id: str  # this asset run's own id (uuid7 text)
    parent_run_id: str  # the build's run id
    inputs: dict[str, str]  # upstream name -> content hash it read
    input_schemas: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    # a source: the files the build observed and read
    source_files: tuple[SourceFile, ...] = ()
    # data-quality figures for lineage (lineage/metrics.py), filled in when the checks ran
    metrics: dict[str, Any] = field(default_factory=dict)


class Listener(Protocol):
    def build_started(self, project: Project, run_id: str, selected: list[str]) -> None: ...

    def asset_started(self, info: RunInfo) -> None: ...

    def asset_finished(self, info: RunInfo, result: AssetResult, traceback: str | None) -> None: ...

    def checks_finished(self, info: RunInfo, result: AssetResult, checks: list[CheckResult]) -> None: ...

    def asset_done(self, result: AssetResult) -> None: ...

    def build_finished(self, project: Project, result: BuildResult) -> None: ...


class BaseListener:
    """Does nothing on every hook; subclass and override what you need."""

    def build_started(self, project: Project, run_id: str, selected: list[str]) -> None:
        pass

    def asset_started(self, info: RunInfo) -> None:
        pass

    def asset_finished(self, info: RunInfo, result: AssetResult, traceback: str | None) -> None:
        pass

    def checks_finished(self, info: RunInfo, result: AssetResult, checks: list[CheckResult]) -> None:
        pass

    def asset_done(self, result: AssetResult) -> None:
        """Every selected asset settles once (built, up to date, failed, blocked, ...)."""

    def build_finished(self, project: Project, result: BuildResult) -> None:
        pass
