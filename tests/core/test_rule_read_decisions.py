"""run/decisions.py: what each asset's rules read (`rule_reads`), and which of those waits a failure
must not block (`never_blocking`): only what warn rules alone read, never an upstream."""

from __future__ import annotations

from pathlib import Path

from assetbuild.definitions.loader import load_project
from assetbuild.gate.audit import Auditor, load_rulesets
from assetbuild.run.decisions import dependencies, never_blocking, rule_reads

FILES = {
    "assetbuild.toml": '[project]\nname = "r"\n[sources.src]\npath = "data/src.csv"\n',
    "data/src.csv": "id,k\n1,a\n",
    "assets/keys.sql": "SELECT k FROM src\n",
    "assets/more.sql": "SELECT k FROM src\n",
    "assets/facts.sql": "SELECT id, k FROM src\n",
    "assets/report.sql": "SELECT id FROM facts\n",
    # facts' rules: a warn sql rule reads keys; an error and a warn rule read more; one reads its
    # own upstream src; one reads report, which is downstream of facts (a cycle: not waited for)
    "rules/facts.yaml": """
asset: facts
columns:
  k: {references: more.k}
table:
  sql:
    - {name: keys_known, query: "SELECT * FROM facts WHERE k NOT IN (SELECT k FROM keys)", severity: warn}
    - {name: more_warn, query: "SELECT * FROM facts WHERE k NOT IN (SELECT k FROM more)", severity: warn}
    - {name: src_seen, query: "SELECT * FROM facts WHERE id NOT IN (SELECT id FROM src)", severity: warn}
    - {name: reported, query: "SELECT * FROM facts WHERE id NOT IN (SELECT id FROM report)", severity: warn}
""",
}


def _loaded(make_project) -> tuple:
    root: Path = make_project(FILES)
    project = load_project(root)
    rulesets = load_rulesets(project)
    auditor = Auditor(project, None, rulesets, lambda n: None, lambda p, n: None)
    return project, rulesets, auditor


def test_rule_reads_name_each_read_with_its_strongest_severity(make_project):
    project, rulesets, _ = _loaded(make_project)
    reads = {(r.read, r.reader): r for r in rule_reads(project, rulesets)}
    assert set(reads) == {("keys", "facts"), ("more", "facts"), ("src", "facts"), ("report", "facts")}
    assert reads["keys", "facts"].severity.value == "warn" and reads["keys", "facts"].rules == (
        "table.sql.keys_known",
    )
    more = reads["more", "facts"]
    assert more.severity.value == "error"  # an error rule reads it too
    assert set(more.rules) == {"k.references", "table.sql.more_warn"}
    assert reads["src", "facts"].upstream and not reads["keys", "facts"].upstream
    assert reads["report", "facts"].waits is False  # report waits for facts: the other way is a cycle
    assert all(r.waits for k, r in reads.items() if k != ("report", "facts"))


def test_only_what_warn_rules_alone_read_never_blocks(make_project):
    project, _, auditor = _loaded(make_project)
    names = list(project.order)
    deps = dependencies(project, auditor, names)
    assert set(deps["facts"]) == {"src", "keys", "more"}  # report: not waited for (cycle)
    soft = never_blocking(project, auditor, names, deps)
    assert soft["facts"] == frozenset({"keys"})
    assert all(not soft[n] for n in names if n != "facts")
