"""Loading rules stays on the cheap no-op path: no polars, pandera or duckdb; sqlglot only when a
rule file holds SQL."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = """
import json, sys
from pathlib import Path
from assetbuild.gate.rules import load_rules
rulesets = load_rules(Path(sys.argv[1]), ["orders", "users"])
heavy = ("polars", "pandera", "duckdb", "pyarrow", "pandas", "sqlglot")
print(json.dumps({"rules": sum(len(r.rules) for r in rulesets.values()),
                  "loaded": sorted(m for m in heavy if m in sys.modules)}))
"""


def _imports_after_loading(root) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(root)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def test_loading_column_rules_and_packs_imports_nothing_heavy(project):
    project.write("orders.yaml", "asset: orders\ncolumns:\n  c: {use: iso_currency, matches: '^[A-Z]+$'}\n")
    assert _imports_after_loading(project.root) == {"rules": 2, "loaded": []}


def test_sql_rules_pull_in_sqlglot_only(project):
    project.write(
        "orders.yaml", 'asset: orders\ntable:\n  sql: "SELECT * FROM orders JOIN users USING (id)"\n'
    )
    assert _imports_after_loading(project.root) == {"rules": 1, "loaded": ["sqlglot"]}
