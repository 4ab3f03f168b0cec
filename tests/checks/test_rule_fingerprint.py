"""Golden pairs for the rule fingerprint: layout edits hash equal, any change of meaning differs."""

from __future__ import annotations

import pytest

BASE = """
asset: orders
severity: error
columns:
  id:       {dtype: string, nullable: false, unique: true}
  amount:   {dtype: float, min: 0, max: 1000000}
  status:   {isin: [new, paid, refunded]}
  email:    {use: email}
  code:     {matches: "^[A-Z]{3}$", str_length: {min: 3, max: 3}}
  day:      {between: [2020-01-01, 2030-12-31]}
table:
  row_count: {min: 1}
  freshness: {column: day, max_age: 1h}
  unique: [id, day]
  sql: "SELECT * FROM orders WHERE amount > 1e7"
  expression: amount >= 0
"""

SAME = {
    "block style, other key order, comments": """
# the orders gate
severity: error
table:
  expression: "amount >= 0"
  sql: >-
    SELECT *
    FROM orders
    WHERE amount > 1e7
  unique: [day, id]
  freshness:
    max_age: 60m
    column: day
  row_count:
    min: 1
columns:
  day:
    between: ["2020-01-01", "2030-12-31"]
  code:
    str_length: {max: 3, min: 3}
    matches: '^[A-Z]{3}$'
  email: {use: [email]}
  status:
    isin:
      - refunded
      - paid
      - new
      - paid
  amount: {max: 1000000, min: 0.0, dtype: float}
  id: {unique: true, nullable: false, dtype: str}
asset: orders
""",
    "long forms without extras": """
asset: orders
columns:
  id:       {dtype: {value: string}, nullable: {value: false}, unique: true}
  amount:   {dtype: float, min: {value: 0}, max: 1000000}
  status:   {isin: {value: [new, paid, refunded]}}
  email:    {use: {value: email}}
  code:     {matches: "^[A-Z]{3}$", str_length: {min: 3, max: 3}}
  day:      {between: [2020-01-01, 2030-12-31]}
  other:    {nullable: true}
table:
  row_count: {min: 1}
  freshness: {column: day, max_age: 3600s}
  unique: [id, day]
  sql: "select * from orders where amount > 1e7;"
  expression: {expression: amount >= 0}
""",
}

DIFFERENT = {
    "a bound": ("min: 0,", "min: 1,"),
    "a bound's type": ("max: 1000000}", "max: 1000000.5}"),
    "a set member": ("refunded]", "cancelled]"),
    "a regex": ('"^[A-Z]{3}$"', '"^[A-Z]{2}$"'),
    "a length": ("max: 3}}", "max: 4}}"),
    "a date": ("2030-12-31", "2031-12-31"),
    "a dtype": ("dtype: float", "dtype: float64"),
    "a flag": ("unique: true}", "unique: false}"),
    "a pack": ("use: email", "use: uuid"),
    "a duration": ("max_age: 1h", "max_age: 2h"),
    "a key column": ("unique: [id, day]", "unique: [id]"),
    "the query": ("amount > 1e7", "amount > 1e8"),
    "the expression": ("amount >= 0", "amount > 0"),
    "the file severity": ("severity: error", "severity: warn"),
    "one rule's severity": ("row_count: {min: 1}", "row_count: {min: 1, severity: warn}"),
    "a description": ("row_count: {min: 1}", "row_count: {min: 1, description: never empty}"),
    "a column name": ("  code:", "  iso:"),
    "a new rule": ("{dtype: float, min: 0", "{dtype: float, finite: true, min: 0"),
}


def _fingerprint(project, text: str) -> str:
    return project.rules(text).fingerprint


def test_fingerprint_is_stable(project):
    assert _fingerprint(project, BASE) == _fingerprint(project, BASE)


@pytest.mark.parametrize("variant", sorted(SAME))
def test_layout_does_not_change_the_fingerprint(project, variant):
    assert _fingerprint(project, SAME[variant]) == _fingerprint(project, BASE)


@pytest.mark.parametrize("edit", sorted(DIFFERENT))
def test_every_change_of_meaning_changes_the_fingerprint(project, edit):
    old, new = DIFFERENT[edit]
    assert old in BASE, f"the golden edit '{edit}' no longer applies to BASE"
    assert _fingerprint(project, BASE.replace(old, new, 1)) != _fingerprint(project, BASE)


def test_splitting_rules_over_files_does_not_change_the_fingerprint(project):
    one = _fingerprint(project, BASE)
    columns, table = BASE.split("table:")
    (project.root / "rules" / "orders.yaml").unlink()
    project.write("orders_a.yaml", columns)
    project.write("orders_b.yaml", "asset: orders\nseverity: error\ntable:" + table)
    assert project.load()["orders"].fingerprint == one


def test_pack_content_is_part_of_the_fingerprint(project, monkeypatch, tmp_path):
    from assetbuild.gate import packs

    before = _fingerprint(project, "asset: orders\ncolumns:\n  p: {use: probability}\n")
    own = tmp_path / "packs"
    own.mkdir()
    (own / "probability.yaml").write_text("pack: probability\nrules:\n  between: [0, 2]\n")
    monkeypatch.setattr(packs, "packs_root", lambda: own)
    after = _fingerprint(project, "asset: orders\ncolumns:\n  p: {use: probability}\n")
    assert after != before
