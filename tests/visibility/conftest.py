"""Fixtures for the visibility commands: a small project with every state, and headless Chromium."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# A source, SQL and Python assets, a rule that fails, an asset that fails, and what they block.
#   orders(source) -> clean(sql) -> by_day(sql) -> enriched(python)
#                                 -> totals(sql, rule fails) -> after_totals(sql, blocked)
#                                 -> broken(sql, fails)      -> after_broken(sql, blocked)
MIXED = {
    "assetbuild.toml": """
        [project]
        name = "mixed"

        [sources.orders]
        path = "data/orders.csv"
        """,
    "data/orders.csv": "id,day,amount\n"
    + "".join(f"{i},2026-01-{1 + i % 5:02d},{i * 1.5}\n" for i in range(40)),
    "assets/clean.sql": "SELECT id, day, amount FROM orders WHERE amount > 0\n",
    "assets/by_day.sql": "-- revenue per day\nSELECT day, sum(amount) AS revenue, count(*) AS n FROM clean GROUP BY day\n",
    "assets/totals.sql": "SELECT count(*) AS n, sum(amount) AS total FROM clean\n",
    "assets/after_totals.sql": "SELECT n FROM totals\n",
    "assets/broken.sql": "SELECT id, error('the broken asset exploded') AS e FROM clean\n",
    "assets/after_broken.sql": "SELECT * FROM broken\n",
    "assets/enrich.py": """
        import polars as pl

        from assetbuild import asset


        def _double(x):
            return x * 2


        @asset(description="Days with doubled revenue", owner="vis-team", tags=["finance", "daily"])
        def enriched(by_day: pl.DataFrame) -> pl.DataFrame:
            return by_day.with_columns(doubled=_double(pl.col("revenue")))
        """,
    "rules/clean.yaml": """
        asset: clean
        columns:
          id: {nullable: false, unique: true}
        """,
    "rules/totals.yaml": """
        asset: totals
        columns:
          total: {min: 1000000}
        """,
}

EXPECTED_STATES = {
    "orders": "built",
    "clean": "built",
    "by_day": "built",
    "enriched": "built",
    "totals": "check_failed",
    "after_totals": "blocked",
    "broken": "failed",
    "after_broken": "blocked",
}


@pytest.fixture
def mixed(make_project: Callable[..., Path], run_cli: Callable[..., Any]) -> Path:
    """The MIXED project, built once (exit 1: one asset fails, one fails its rule)."""
    root = make_project(MIXED, name="mixed")
    r = run_cli(root, "build", "--format", "json")
    assert r.code == 1, r
    assert {a["name"]: a["status"] for a in r.json["assets"]} == EXPECTED_STATES, r
    return root


@dataclass
class Rendered:
    dom: str
    log: str  # chromium's stderr, with the page's console messages
    screenshot: Path | None


def find_chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.fixture
def chromium(tmp_path: Path) -> Callable[..., Rendered]:
    """`chromium(html_path, fragment="", screenshot=False) -> Rendered`: the page as headless Chromium built it."""
    exe = find_chromium()
    if exe is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium) — the browser test needs it")
    assert exe is not None

    def render(page: Path, fragment: str = "", screenshot: bool = False, size: str = "1400,900") -> Rendered:
        profile = tmp_path / f"chromium-profile-{len(list(tmp_path.glob('chromium-profile-*')))}"
        flags = [
            exe,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            f"--window-size={size}",
            "--virtual-time-budget=5000",
        ]
        url = page.resolve().as_uri() + fragment
        dump = subprocess.run([*flags, "--dump-dom", url], capture_output=True, text=True, timeout=120)
        shot = None
        if screenshot:
            shot = page.with_suffix(".png")
            subprocess.run([*flags, f"--screenshot={shot}", url], capture_output=True, text=True, timeout=120)
        return Rendered(dump.stdout, dump.stderr, shot)

    return render
