"""`assetbuild init DIR`: a small project that builds at once — a CSV source, a Python and a SQL asset, rules.

It writes only into a new or empty folder; it never overwrites anything.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from pathlib import Path
from typing import Any

from assetbuild.errors import ProjectError

_CONFIG = """\
# assetbuild project: assets/ holds the tables, rules/ their quality rules, data/ the raw files.
[project]
name = "{name}"

[sources.orders]
path = "data/orders.csv"            # csv, parquet, ndjson/json; globs allowed
"""

_PYTHON_ASSET = '''\
"""Orders as the business counts them: cancelled ones removed, columns typed."""

import polars as pl

from assetbuild import asset


@asset(description="Orders that were not cancelled, with typed columns", tags=["sales"], owner="data-team")
def clean_orders(orders: pl.DataFrame) -> pl.DataFrame:
    # the parameter name `orders` is the upstream asset: the source declared in assetbuild.toml
    return orders.filter(pl.col("status") != "cancelled").select(
        pl.col("order_id").cast(pl.Int64),
        pl.col("customer_id").cast(pl.String),
        pl.col("ordered_at").cast(pl.String).str.to_date("%Y-%m-%d"),
        pl.col("amount").cast(pl.Float64),
    )
'''

_SQL_ASSET = """\
-- Revenue per day. The tables a query reads (here clean_orders) are its upstream assets.
SELECT
    ordered_at AS day,
    count(*) AS orders,
    sum(amount) AS revenue
FROM clean_orders
GROUP BY ordered_at
"""

_RULES_CLEAN = """\
# Checked on every new version of clean_orders; data that breaks an error rule is not published.
asset: clean_orders
columns:
  order_id:    {nullable: false, unique: true}
  customer_id: {nullable: false}
  amount:      {nullable: false, min: 0}
"""

_RULES_DAILY = """\
asset: daily_revenue
columns:
  day:     {nullable: false, unique: true}
  orders:  {min: 1}
  revenue: {min: 0}
"""

_README = """\
# {name}

An [assetbuild](https://pypi.org/project/assetbuild/) project: `make` for data.

    assetbuild build          # build what changed (everything, the first time)
    assetbuild build          # again: nothing to do
    assetbuild plan           # what would run, and why
    assetbuild show daily_revenue --rows 5
    assetbuild report         # an HTML page of the graph, states, checks and lineage

- `data/orders.csv` is the source, declared in `assetbuild.toml`.
- `assets/clean_orders.py` is a Python asset (its parameter names its upstream).
- `assets/daily_revenue.sql` is a SQL asset (the tables it reads are its upstream).
- `rules/*.yaml` are quality rules: failing data is never published downstream.
"""

_GITIGNORE = ".assetbuild/\n"


def _orders_csv(rows: int = 100) -> str:
    rnd = random.Random(7)  # fixed: the same project every time
    start = dt.date(2026, 1, 1)
    lines = ["order_id,customer_id,ordered_at,amount,status"]
    for i in range(1, rows + 1):
        day = start + dt.timedelta(days=rnd.randrange(14))
        status = rnd.choices(["paid", "shipped", "cancelled"], weights=[6, 3, 1])[0]
        lines.append(
            f"{i},c{rnd.randrange(1, 31):03d},{day.isoformat()},{rnd.randrange(500, 25000) / 100:.2f},{status}"
        )
    return "\n".join(lines) + "\n"


def project_files(name: str) -> dict[str, str]:
    return {
        "assetbuild.toml": _CONFIG.format(name=name),
        "data/orders.csv": _orders_csv(),
        "assets/clean_orders.py": _PYTHON_ASSET,
        "assets/daily_revenue.sql": _SQL_ASSET,
        "rules/clean_orders.yaml": _RULES_CLEAN,
        "rules/daily_revenue.yaml": _RULES_DAILY,
        "README.md": _README.format(name=name),
        ".gitignore": _GITIGNORE,
    }


def init_project(directory: str | Path) -> dict[str, Any]:
    """Write the example project into `directory` (created if missing; must be empty)."""
    root = Path(directory)
    if root.exists() and not root.is_dir():
        raise ProjectError(f"{root} exists and is not a folder", hint="choose a new folder name")
    if root.is_dir() and any(root.iterdir()):
        raise ProjectError(
            f"{root} is not empty; `assetbuild init` only writes into a new or empty folder",
            hint=f"choose a new folder, e.g. `assetbuild init {root.name or 'project'}-new`",
        )
    name = re.sub(r"\W+", "_", root.resolve().name).strip("_") or "project"
    files = project_files(name)
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return {"path": str(root.resolve()), "project": name, "files": sorted(files)}
