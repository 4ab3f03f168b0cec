"""The Python API behind the CLI: the same structures as `--format json`, for schedulers and notebooks."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assetbuild.definitions.settings import DURATION_HINT, parse_duration
from assetbuild.errors import ProjectError
from assetbuild.run.build import build as _build
from assetbuild.run.check import check_assets as _check_assets
from assetbuild.run.plan import plan as _plan


def build(
    project_dir: str | Path = ".",
    select: Sequence[str] = (),
    jobs: int | None = None,
    force: bool = False,
    fail_fast: bool = False,
    exclude: Sequence[str] = (),
    timeout: str | float | None = None,
) -> dict[str, Any]:
    """Run `assetbuild build`; returns the JSON object of DESIGN §5 as a dict.

    `timeout` ("30m", or seconds) bounds the whole build: what still runs then fails."""
    timeout_s = None
    if timeout is not None:
        timeout_s = parse_duration(timeout)
        if timeout_s is None:
            raise ProjectError(f"timeout {timeout!r} is not a duration", hint=DURATION_HINT)
    result = _build(
        project_dir, select, jobs=jobs, force=force, fail_fast=fail_fast, exclude=exclude, timeout_s=timeout_s
    )
    return result.to_json()


def plan(
    project_dir: str | Path = ".", select: Sequence[str] = (), exclude: Sequence[str] = ()
) -> dict[str, Any]:
    return _plan(project_dir, select, exclude=exclude).to_json()


def check_assets(
    project_dir: str | Path = ".", select: Sequence[str] = (), exclude: Sequence[str] = ()
) -> dict[str, Any]:
    return _check_assets(project_dir, select, exclude=exclude).to_json()


def show(project_dir: str | Path, asset: str, rows: int = 0) -> dict[str, Any]:
    from assetbuild.run.inspect import show_asset

    return show_asset(project_dir, asset, rows=rows)
