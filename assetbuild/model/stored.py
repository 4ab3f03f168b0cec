"""What the trace store holds, as values: a materialization, a current pointer, a stored verdict.

Plain data with no store behind it, so the rebuilder and the gate can reason about them without
knowing whether they came from SQLite, memory or a remote store.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Materialization:
    id: int
    asset: str
    build_key: str
    content_hash: str
    rows: int | None
    object: str
    object_size: int
    file_hash: str
    schema_json: str
    run_id: str | None
    created_at: float
    quarantined: bool
    key_parts_json: str

    # Decoded on first use: a no-op build over 10,000 assets reads every row but needs neither.
    @functools.cached_property
    def schema(self) -> list[tuple[str, str]]:
        return [(c[0], c[1]) for c in json.loads(self.schema_json)]

    @functools.cached_property
    def key_parts(self) -> dict[str, Any]:
        parts: dict[str, Any] = json.loads(self.key_parts_json)
        return parts


@dataclass(frozen=True)
class Current:
    mat: Materialization
    check_key: str | None
    checks_passed: bool


@dataclass(frozen=True)
class CheckRecord:
    passed: bool
    results: list[dict[str, Any]]
    content_hash: str
    rules_fingerprint: str


@dataclass(frozen=True)
class AssetRun:
    """One asset's result in one finished run (a row of `asset_runs`)."""

    run_id: str
    status: str
    reason: str
    build_key: str | None
    content_hash: str | None
    checks: list[dict[str, Any]]
    finished_at: float
