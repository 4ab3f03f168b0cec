"""Issue 21 items 9 and 15, in lineage: what an asset's rules read is an input of its check run,
and a column's `description:` from the rules reaches the schema facet (real builds, events over
HTTP to the stand-in)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lineage_support import Marquez
from test_lineage_backend_view import build

FILES = {
    "assetbuild.toml": (
        '[project]\nname = "shop"\n\n[sources.orders]\npath = "data/orders.csv"\n\n'
        '[sources.customers]\npath = "data/customers.csv"\n'
    ),
    "data/orders.csv": "order_id,customer_id,amount\n1,1,1.5\n2,2,4.5\n",
    "data/customers.csv": "customer_id,name\n1,ana\n2,bo\n",
    "assets/clean.sql": "SELECT order_id, customer_id, amount FROM orders\n",
    "rules/clean.yaml": (
        "asset: clean\n"
        "columns:\n"
        "  amount: {min: 0, description: 'what the customer paid, in euros'}\n"
        "table:\n"
        "  sql:\n"
        "    - name: no_orphans\n"
        "      query: SELECT c.* FROM clean c LEFT JOIN customers k USING (customer_id) WHERE k.name IS NULL\n"
    ),
}


def _write(root: Path) -> Path:
    for rel, text in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def _completes(marquez: Marquez, job: str) -> list[dict[str, Any]]:
    return [e for e in marquez.events if e["job"]["name"] == job and e["eventType"] in ("COMPLETE", "FAIL")]


def test_the_check_run_reads_what_its_rules_read(tmp_path: Path, marquez: Marquez, validate: Any) -> None:
    root = _write(tmp_path / "shop")
    build(root, marquez)
    [check] = _completes(marquez, "shop.clean.check")
    inputs = {i["name"] for i in check["inputs"]}
    assert inputs == {"shop.main.clean", "shop.main.customers"}, inputs
    assert validate(check) == []
    # and the backend's graph links the rule's read to the check job
    [start] = [
        e for e in marquez.events if e["job"]["name"] == "shop.clean.check" and e["eventType"] == "START"
    ]
    assert {i["name"] for i in start["inputs"]} == inputs


def test_a_column_description_from_the_rules_is_in_the_schema_facet(
    tmp_path: Path, marquez: Marquez, validate: Any
) -> None:
    root = _write(tmp_path / "shop")
    build(root, marquez)
    [done] = _completes(marquez, "shop.clean")
    [output] = done["outputs"]
    fields = {f["name"]: f for f in output["facets"]["schema"]["fields"]}
    assert fields["amount"]["description"] == "what the customer paid, in euros"
    assert "description" not in fields["order_id"] or fields["order_id"]["description"] is None
    assert validate(done) == []
