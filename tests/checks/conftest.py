"""Fixtures for the quality-rule tests: write rule files into a scratch project, load them, run them."""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path

import polars as pl
import pytest

from assetbuild.errors import ProjectError
from assetbuild.gate.evaluate import CheckContext, run_checks
from assetbuild.gate.rules import RuleSet, load_rules
from assetbuild.model.results import CheckResult

NOW = dt.datetime(2024, 6, 1, 12, 0, tzinfo=dt.UTC)
ASSETS = ("orders", "merchants", "users")


class Project:
    """A scratch project holding only `rules/`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "rules").mkdir()

    def write(self, name: str, text: str) -> Path:
        path = self.root / "rules" / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    def load(self, assets: tuple[str, ...] = ASSETS) -> dict[str, RuleSet]:
        return load_rules(self.root, assets)

    def rules(self, text: str, asset: str = "orders") -> RuleSet:
        """Load one file `rules/<asset>.yaml` holding `text` and return its RuleSet."""
        self.write(f"{asset}.yaml", text)
        return self.load()[asset]

    def error(self, text: str, name: str = "orders.yaml", assets: tuple[str, ...] = ASSETS) -> ProjectError:
        self.write(name, text)
        with pytest.raises(ProjectError) as info:
            self.load(assets)
        return info.value


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path)


Checker = Callable[..., dict[str, CheckResult]]


@pytest.fixture
def check(project: Project) -> Checker:
    """check(rules_yaml, df, others={}, **context) → {rule name: CheckResult} for asset `orders`."""

    def run(
        text: str, df: pl.DataFrame, others: Mapping[str, pl.DataFrame] | None = None, **context: object
    ) -> dict[str, CheckResult]:
        ruleset = project.rules(text) if text.strip() else None
        data = dict(others or {})

        def read_asset(name: str) -> pl.DataFrame:
            return data[name]

        context.setdefault("now", NOW)
        ctx = CheckContext("orders", read_asset, **context)  # type: ignore[arg-type]
        results = run_checks(ruleset, df, ctx)
        return {r.name: r for r in results}

    return run


@pytest.fixture
def now() -> dt.datetime:
    """The time every `check(...)` runs at, unless a test passes its own."""
    return NOW
