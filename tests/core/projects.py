"""Small example projects and result helpers shared by the core tests.

`PIPELINE` is one CSV source, a Python asset and three SQL assets, with a branch that
stops early cutoff being trivial:

    events (csv) -> clean (python) -> by_user (sql) -> top_users (sql)
                                                    -> user_count (sql) -> user_label (sql)
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from assetbuild.model.results import BuildResult
from assetbuild.run.build import build

EVENTS = "id,user_id,amount\n" + "".join(f"{i},u{i % 7},{(i * 37) % 101 - 10}\n" for i in range(1, 61))

CLEAN = '''\
from assetbuild import asset
import polars as pl

LIMIT = 0


def _positive(col):
    return pl.col(col) > LIMIT


@asset(description="positive amounts", tags=["payments"])
def clean(events: pl.DataFrame) -> pl.DataFrame:
    """Keep positive amounts."""
    return events.filter(_positive("amount"))
'''

BY_USER = "SELECT user_id, sum(amount) AS total, count(*) AS n FROM clean GROUP BY user_id\n"
TOP = "SELECT user_id, total FROM by_user WHERE total > 100\n"
COUNT = "SELECT count(*) AS users FROM by_user\n"
LABEL = "SELECT users, users > 5 AS many FROM user_count\n"

TOML = '[project]\nname = "pipeline"\n\n[sources.events]\npath = "data/events.csv"\n'

PIPELINE: dict[str, str | bytes] = {
    "assetbuild.toml": TOML,
    "data/events.csv": EVENTS,
    "assets/clean.py": CLEAN,
    "assets/by_user.sql": BY_USER,
    "assets/top_users.sql": TOP,
    "assets/user_count.sql": COUNT,
    "assets/user_label.sql": LABEL,
}
DERIVED = ("clean", "by_user", "top_users", "user_count", "user_label")


def run(root: Path, **kwargs: Any) -> BuildResult:
    """An in-process build without lineage."""
    return build(root, lineage=False, jobs=kwargs.pop("jobs", 1), **kwargs)


def statuses(result: BuildResult) -> dict[str, str]:
    return {a.name: a.status.value for a in result.assets}


def hashes(result: BuildResult) -> dict[str, str | None]:
    return {a.name: a.content_hash for a in result.assets}


def by_name(result: BuildResult) -> dict[str, Any]:
    return {a.name: a for a in result.assets}


def clean_copy_hashes(root: Path, dest: Path) -> dict[str, str | None]:
    """Content hashes of a `--force` build of a copy of `root` without its store."""
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(root, dest, ignore=shutil.ignore_patterns(".assetbuild"))
    result = run(dest, force=True)
    assert result.ok, [(a.name, a.status.value, a.reason) for a in result.assets]
    return hashes(result)
