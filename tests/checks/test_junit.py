"""JUnit XML for CI dashboards and GitHub annotations for pull requests."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import polars as pl

from assetbuild.model.results import AssetResult, CheckResult, Severity, Status
from assetbuild.present.junit import github_annotations, junit_xml

RULES = """
asset: orders
columns:
  amount: {min: 0, max: {value: 100, severity: warn}}
  id: {unique: true}
table:
  row_count: {min: 1}
"""


def results(check) -> list[AssetResult]:
    df = pl.DataFrame({"id": [1, 2, 2], "amount": [-3.5, 150.0, 5.0], "note": ["ok", "bad \x00 byte", "<&>"]})
    checks = list(check(RULES, df).values())
    return [
        AssetResult("orders", "python", Status.CHECK_FAILED, "fails an error rule", checks=checks),
        AssetResult("users", "sql", Status.FAILED, "run failed", error="Binder Error: column x"),
        AssetResult("scores", "python", Status.BLOCKED, "upstream failed", blocked_by="orders"),
    ]


def test_junit_parses_and_names_each_failing_rule(check):
    root = ET.fromstring(junit_xml(results(check), "fraud"))
    assert root.tag == "testsuites" and root.get("name") == "fraud"
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {"orders", "users", "scores"}
    cases = {(c.get("classname"), c.get("name")): c for c in root.iter("testcase")}
    assert set(cases) == {
        ("orders", "amount.min"),
        ("orders", "amount.max"),
        ("orders", "id.unique"),
        ("orders", "table.row_count"),
        ("users", "build"),
        ("scores", "build"),
    }
    failed = {name for (_, name), c in cases.items() if c.find("failure") is not None}
    assert failed == {"amount.min", "id.unique"}
    message = cases[("orders", "amount.min")].find("failure").get("message")
    assert message == "orders: amount.min failed on 1 row (expected >= 0, actual min -3.5)"


def test_junit_counts(check):
    root = ET.fromstring(junit_xml(results(check), "fraud"))
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == (
        "6",
        "2",
        "1",
        "1",
    )
    orders = next(s for s in root.iter("testsuite") if s.get("name") == "orders")
    assert (orders.get("tests"), orders.get("failures")) == ("4", "2")


def test_warnings_do_not_fail_the_report(check):
    root = ET.fromstring(junit_xml(results(check), "fraud"))
    case = next(c for c in root.iter("testcase") if c.get("name") == "amount.max")
    assert case.find("failure") is None
    assert (case.findtext("system-out") or "").startswith("WARNING orders: amount.max failed on 1 row")
    assert case.find("properties/property[@name='severity']").get("value") == "warn"


def test_failure_body_holds_the_bounded_sample_and_survives_control_characters(check):
    root = ET.fromstring(junit_xml(results(check), "fraud"))
    unique = next(c for c in root.iter("testcase") if c.get("name") == "id.unique").find("failure")
    lines = (unique.text or "").splitlines()
    assert len(lines) == 2 and '"note": "bad \\u0000 byte"' in lines[0] + lines[1]


def test_failed_and_blocked_assets_without_checks(check):
    root = ET.fromstring(junit_xml(results(check), "fraud"))
    cases = {c.get("classname"): c for c in root.iter("testcase") if c.get("name") == "build"}
    assert cases["users"].find("error").get("message") == "Binder Error: column x"
    assert cases["scores"].find("skipped").get("message") == "blocked by orders"


def test_raw_control_characters_in_messages_are_replaced():
    bad = CheckResult("a.min", Severity.ERROR, False, 1, actual="min \x07")
    root = ET.fromstring(
        junit_xml([AssetResult("a", "sql", Status.CHECK_FAILED, "x", checks=[bad])], "s\x01")
    )
    assert "\ufffd" in root.get("name") and "\ufffd" in root.find(".//failure").get("message")


def test_github_annotations(check, project):
    lines = github_annotations(results(check))
    assert lines == [
        "::error file=rules/orders.yaml,line=3::orders: amount.min failed on 1 row (expected >= 0, actual min -3.5)",
        "::warning file=rules/orders.yaml,line=3::orders: amount.max failed on 1 row (expected <= 100, actual max 150)",
        "::error file=rules/orders.yaml,line=4::orders: id.unique failed on 2 rows "
        "(expected unique values, actual 2 rows share a value with another row, e.g. 2)",
    ]


def test_github_annotations_prefer_current_rule_lines_and_escape(check, project):
    stale = results(check)
    moved = project.rules(
        "asset: orders\n\n\ncolumns:\n  amount: {min: 0, max: {value: 100, severity: warn}}\n  id: {unique: true}\n"
    )
    lines = github_annotations(stale, {"orders": moved})
    assert lines[0].startswith("::error file=rules/orders.yaml,line=5::")
    in_subfolder = github_annotations(stale, {"orders": moved}, path_prefix="examples/shop/")
    assert in_subfolder[0].startswith("::error file=examples/shop/rules/orders.yaml,line=5::")
    odd = CheckResult("python:x", Severity.ERROR, False, 0, actual="50%\nmore")
    assert github_annotations([AssetResult("a", "python", Status.CHECK_FAILED, "", checks=[odd])]) == [
        "::error::a: python:x failed (actual 50%25%0Amore)"
    ]
