"""Shared fixtures: throwaway projects in tmp_path and the `assetbuild` CLI run in a subprocess.

    def test_x(make_project, run_cli):
        root = make_project({"assetbuild.toml": "...", "assets/a.sql": "SELECT 1 AS x"})
        r = run_cli(root, "build", "--format", "json")
        assert r.code == 0 and r.json["summary"] == {"built": 1}

CLI subprocesses always get OPENLINEAGE_DISABLED=true, so no test talks to a lineage backend.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import pytest

ASSETBUILD = str(Path(sys.executable).with_name("assetbuild"))


def write_files(root: Path, files: dict[str, str | bytes]) -> None:
    """Write `files` (project-relative path -> text, dedented, or bytes) under `root`."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content))


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[..., Path]:
    """`make_project(files, name="proj") -> Path`: a project folder holding `files`."""

    def make(files: dict[str, str | bytes], name: str = "proj") -> Path:
        root = tmp_path / name
        root.mkdir(parents=True, exist_ok=True)
        write_files(root, files)
        return root

    return make


class CliResult(NamedTuple):
    """`code, stdout, stderr, json = run_cli(...)`, or by attribute."""

    code: int
    stdout: str
    stderr: str
    json: Any  # stdout parsed as JSON, or None when it is not JSON

    def __str__(self) -> str:  # what a failing assert shows
        return f"exit {self.code}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


def cli(
    project: Path | None,
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 120,
) -> CliResult:
    """Run `assetbuild [--project P] ARGS...` in a subprocess (in `cwd` when given)."""
    argv = [ASSETBUILD] + (["--project", str(project)] if project is not None else []) + list(args)
    full_env = {**os.environ, "OPENLINEAGE_DISABLED": "true", **(env or {})}
    full_env.pop("ASSETBUILD_DEBUG", None)
    p = subprocess.run(argv, capture_output=True, text=True, env=full_env, cwd=cwd, timeout=timeout)
    try:
        parsed = json.loads(p.stdout) if p.stdout.strip() else None
    except ValueError:
        parsed = None
    return CliResult(p.returncode, p.stdout, p.stderr, parsed)


@pytest.fixture(scope="session")
def run_cli() -> Callable[..., CliResult]:
    """`run_cli(project, *args, env=None, cwd=None) -> CliResult(code, stdout, stderr, json)`."""
    return cli
