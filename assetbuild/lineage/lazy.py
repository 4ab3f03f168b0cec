"""The build's OpenLineage hook, created lazily: a build in which nothing runs or is restored never
imports openlineage, yet still hands events that earlier builds left in the outbox to the backend."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from assetbuild.model.assets import Project
from assetbuild.model.events import Listener, RunInfo
from assetbuild.model.results import AssetResult, BuildResult, Status


def lineage_disabled(project: Project, environ: Mapping[str, str] | None = None) -> bool:
    """OPENLINEAGE_DISABLED=true or `[lineage] disabled = true` (here, not in transport.py: a
    no-op build asks this and must not import the transport's socket and outbox)."""
    env = os.environ if environ is None else environ
    if env.get("OPENLINEAGE_DISABLED", "").strip().lower() == "true":
        return True
    return project.lineage.get("disabled") is True


def lineage_disabled_for(project: Project) -> bool:
    return lineage_disabled(project)


class LazyLineage:
    """Creates the OpenLineage listener only once an asset really runs or is restored, so a no-op
    build never imports openlineage; it still hands pending outbox events to the backend."""

    def __init__(self, project: Project, run_id: str) -> None:
        self.project = project
        self.run_id = run_id
        self.started: tuple[Any, ...] | None = None
        self.real: Listener | None = None
        # assets settled before the listener exists: a restore later in the build names the
        # versions of its upstream from them (a reference each, nothing decoded)
        self.settled: list[AssetResult] = []

    def _listener(self) -> Listener:
        if self.real is None:
            from assetbuild.lineage import OpenLineageListener

            self.real = OpenLineageListener(self.project, self.run_id)
            if self.started is not None:
                self.real.build_started(*self.started)
            for earlier in self.settled:
                self.real.asset_done(earlier)
            self.settled = []
        return self.real

    def build_started(self, project: Project, run_id: str, selected: list[str]) -> None:
        self.started = (project, run_id, selected)

    def asset_started(self, info: RunInfo) -> None:
        self._listener().asset_started(info)

    def asset_finished(self, info: RunInfo, result: AssetResult, traceback: str | None) -> None:
        self._listener().asset_finished(info, result, traceback)

    def checks_finished(self, info: RunInfo, result: AssetResult, checks: list[Any]) -> None:
        self._listener().checks_finished(info, result, checks)

    def asset_done(self, result: AssetResult) -> None:
        if self.real is None and result.status is not Status.RESTORED:
            self.settled.append(result)  # nothing to tell: an up-to-date asset changed nothing
            return
        self._listener().asset_done(result)

    def build_finished(self, project: Project, result: BuildResult) -> None:
        if self.real is None:
            from assetbuild.lineage.outbox import has_pending

            if not has_pending(project):
                return
            from assetbuild.lineage import deliver_pending

            result.warnings.extend(deliver_pending(project))
            return
        self.real.build_finished(project, result)
        result.warnings.extend(getattr(self.real, "warnings", []))
