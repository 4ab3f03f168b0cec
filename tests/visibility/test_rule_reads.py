"""A rule that reads another asset (`sql:`, `references:`) makes its asset wait for that one; the
graph, the report and `show` draw that wait as a dashed "checks read" edge. A `warn` rule that
reads an asset which failed never blocks its own asset: the asset runs and the rule is evaluated
against the data the other asset last published (what every reader of it sees)."""

from __future__ import annotations

import re

# orders (source) -> payments (sql); payments' rules read merchants (an sql rule, warn) and
# customers (references, error); neither is upstream of payments.
PROJECT = {
    "assetbuild.toml": '[project]\nname = "reads"\n[sources.orders]\npath = "data/orders.csv"\n',
    "data/orders.csv": "id,merchant,customer,amount\n1,m1,c1,10\n2,m2,c1,20\n3,m9,c2,5\n",
    "assets/merchants.sql": "SELECT 'm1' AS merchant UNION ALL SELECT 'm2'\n",
    "assets/customers.sql": "SELECT 'c1' AS customer UNION ALL SELECT 'c2'\n",
    "assets/payments.sql": "SELECT id, merchant, customer, amount FROM orders\n",
    "rules/payments.yaml": """
        asset: payments
        columns:
          customer: {references: customers.customer}
        table:
          sql:
            query: "SELECT * FROM payments WHERE merchant NOT IN (SELECT merchant FROM merchants)"
            severity: warn
        """,
}


def _statuses(r) -> dict[str, str]:
    return {a["name"]: a["status"] for a in r.json["assets"]}


def test_mermaid_draws_what_the_rules_read_as_dashed_edges(make_project, run_cli):
    root = make_project(PROJECT)
    r = run_cli(root, "graph")
    assert r.code == 0, r
    assert set(re.findall(r"n_(\w+) --> n_(\w+)", r.stdout)) == {("orders", "payments")}
    assert set(re.findall(r"n_(\w+) -\.->\|checks read\| n_(\w+)", r.stdout)) == {
        ("merchants", "payments"),
        ("customers", "payments"),
    }


def test_dot_and_json_mark_rule_reads(make_project, run_cli):
    root = make_project(PROJECT)
    dot = run_cli(root, "graph", "--format", "dot")
    assert dot.code == 0, dot
    assert set(re.findall(r'"(\w+)" -> "(\w+)";', dot.stdout)) == {("orders", "payments")}
    dashed = set(re.findall(r'"(\w+)" -> "(\w+)" \[style=dashed, label="checks read"', dot.stdout))
    assert dashed == {("merchants", "payments"), ("customers", "payments")}
    js = run_cli(root, "graph", "--format", "json")
    assert js.code == 0, js
    assert js.json["edges"] == [["orders", "payments"]]  # upstream only, as before
    reads = {(e["from"], e["to"]): e for e in js.json["rule_reads"]}
    assert set(reads) == {("merchants", "payments"), ("customers", "payments")}
    assert reads["merchants", "payments"]["severity"] == "warn"
    assert reads["merchants", "payments"]["rules"] == ["table.sql"]
    assert reads["customers", "payments"]["severity"] == "error"
    assert reads["customers", "payments"]["rules"] == ["customer.references"]
    payments = next(a for a in js.json["assets"] if a["name"] == "payments")
    assert payments["checks_read"] == ["customers", "merchants"]


def test_a_selection_keeps_only_the_reads_inside_it(make_project, run_cli):
    root = make_project(PROJECT)
    js = run_cli(root, "graph", "--format", "json", "payments", "merchants")
    assert js.code == 0, js
    assert [(e["from"], e["to"]) for e in js.json["rule_reads"]] == [("merchants", "payments")]


def test_report_and_html_graph_draw_rule_reads(make_project, run_cli, tmp_path):
    root = make_project(PROJECT)
    assert run_cli(root, "build").code == 0
    page = tmp_path / "r.html"
    assert run_cli(root, "report", "-o", str(page)).code == 0
    for html in (page.read_text(), run_cli(root, "graph", "--format", "html").stdout):
        edges = set(re.findall(r'<path class="edge rule-read[^"]*" data-from="(\w+)" data-to="(\w+)"', html))
        assert edges == {("merchants", "payments"), ("customers", "payments")}
        plain = set(re.findall(r'<path class="edge" data-from="(\w+)" data-to="(\w+)"', html))
        assert plain == {("orders", "payments")}
        assert '"checks_read":["customers","merchants"]' in html  # the detail panel lists them


def test_show_lists_what_the_rules_read(make_project, run_cli):
    root = make_project(PROJECT)
    assert run_cli(root, "build").code == 0
    text = run_cli(root, "show", "payments")
    assert text.code == 0, text
    assert "checks read: customers, merchants" in text.stdout
    js = run_cli(root, "show", "merchants", "--format", "json")
    assert js.json["read_by_checks_of"] == ["payments"]
    js = run_cli(root, "show", "payments", "--format", "json")
    assert js.json["checks_read"] == ["customers", "merchants"]


def test_a_failed_asset_still_blocks_what_an_error_rule_reads_it_for(make_project, run_cli):
    root = make_project(PROJECT)
    assert run_cli(root, "build").code == 0
    (root / "assets" / "customers.sql").write_text("SELECT error('customers broke') AS customer\n")
    (root / "assets" / "payments.sql").write_text(
        "SELECT id, merchant, customer, amount * 2 AS amount FROM orders\n"
    )
    r = run_cli(root, "build", "--format", "json")
    assert r.code == 1, r
    assert _statuses(r)["customers"] == "failed" and _statuses(r)["payments"] == "blocked", r


def test_a_warn_rule_reading_a_failed_asset_never_blocks(make_project, run_cli):
    root = make_project(PROJECT)
    assert run_cli(root, "build").code == 0
    (root / "assets" / "merchants.sql").write_text("SELECT error('merchants broke') AS merchant\n")
    (root / "assets" / "payments.sql").write_text(
        "SELECT id, merchant, customer, amount * 2 AS amount FROM orders\n"
    )
    r = run_cli(root, "build", "--format", "json")
    assert r.code == 1, r  # merchants failed
    assert _statuses(r) == {"orders": "up_to_date", "customers": "up_to_date", "merchants": "failed",
                            "payments": "built"}, r  # fmt: skip
    payments = next(a for a in r.json["assets"] if a["name"] == "payments")
    sql = next(c for c in payments["checks"] if c["name"] == "table.sql")
    # judged against merchants as last published (m1, m2): m9 is the one failing row
    assert sql["severity"] == "warn" and not sql["passed"] and sql["failing_rows"] == 1, sql
    import assetbuild

    assert assetbuild.read("payments", project=root)["amount"].sum() == 70  # published
    plan = run_cli(root, "plan", "--format", "json")
    assert _statuses(plan)["payments"] != "blocked", plan


def test_a_warn_rule_reading_a_never_built_asset_says_it_could_not_read_it(make_project, run_cli):
    files = dict(PROJECT, **{"assets/merchants.sql": "SELECT error('merchants broke') AS merchant\n"})
    root = make_project(files)
    r = run_cli(root, "build", "--format", "json")
    assert r.code == 1, r
    assert _statuses(r)["payments"] == "built", r
    payments = next(a for a in r.json["assets"] if a["name"] == "payments")
    sql = next(c for c in payments["checks"] if c["name"] == "table.sql")
    assert not sql["passed"] and "no published data" in (sql["actual"] or ""), sql
