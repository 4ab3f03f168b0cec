"""Lineage: what a build tells the world (OpenLineage events, their outbox and delivery, the view).

Importing this package loads nothing heavy; openlineage, sqlglot and polars are imported only
inside the functions that need them. The engine's entry points (loaded on first use):

    OpenLineageListener(project, run_id)   a build Listener; `.warnings` after build_finished
    deliver_pending(project) -> [warning]  a build in which nothing ran: send what earlier ones left
    push(project, url=None, timeout=5.0)   `assetbuild lineage push` -> PushResult
    data_quality_metrics(df)               what goes into RunInfo.metrics
    lineage_view(project, ...)             `assetbuild lineage [ASSET] [--columns] [--format ...]`
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "OpenLineageListener": "listener",
    "deliver_pending": "sending",
    "push": "sending",
    "PushResult": "sending",
    "data_quality_metrics": "metrics",
    "lineage_view": "view",
    "sql_column_lineage": "columns",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"{__name__}.{module}"), name)
