"""`assetbuild lineage`: table and column lineage from the project itself, in four formats."""

from __future__ import annotations

import json

import pytest
from lineage_support import SCHEMAS

from assetbuild.errors import ProjectError
from assetbuild.lineage.view import lineage_view
from assetbuild.model.assets import Project


def schemas_of(project: Project):  # type: ignore[no-untyped-def]
    return lambda name: {u: SCHEMAS[u] for u in project.assets[name].upstream}


def test_text_shows_the_whole_graph(project: Project) -> None:
    text = lineage_view(project)
    assert text.splitlines() == [
        "lineage of the project in linproj: 5 asset(s)",
        "orders [source] <- file data/orders.csv",
        "users [source] <- file data/users.csv",
        "enriched [sql] <- orders, users",
        "by_country [sql] <- enriched",
        "scored [python] <- by_country",
    ]


def test_directions_select_upstream_or_downstream(project: Project) -> None:
    def names(direction: str) -> list[str]:
        doc = json.loads(lineage_view(project, "enriched", direction=direction, fmt="json"))  # type: ignore[arg-type]
        return [a["name"] for a in doc["assets"]]

    assert names("upstream") == ["orders", "users", "enriched"]
    assert names("downstream") == ["enriched", "by_country", "scored"]
    assert names("both") == ["orders", "users", "enriched", "by_country", "scored"]


def test_columns_in_text_and_json(project: Project) -> None:
    text = lineage_view(
        project, "by_country", columns=True, direction="upstream", upstream_schemas_of=schemas_of(project)
    )
    assert "    revenue <- enriched.amount (aggregation)" in text
    assert "    (rows)  <- enriched.country (group by), enriched.amount (filter)" in text
    assert "    country  <- users.country (identity)" in text
    doc = json.loads(
        lineage_view(project, "by_country", columns=True, fmt="json", upstream_schemas_of=schemas_of(project))
    )
    assert doc["columns"]["by_country"]["fields"]["revenue"] == [
        {
            "dataset": "enriched",
            "column": "amount",
            "type": "DIRECT",
            "subtype": "AGGREGATION",
            "masking": False,
        }
    ]
    assert "scored" not in doc["columns"]  # Python assets: table-level lineage only
    assert doc["edges"] == [
        {"from": "orders", "to": "enriched"},
        {"from": "users", "to": "enriched"},
        {"from": "enriched", "to": "by_country"},
        {"from": "by_country", "to": "scored"},
    ]
    assert doc["assets"][0]["files"][0] == {"namespace": "linproj", "name": "linproj/data/orders.csv"}


def test_without_schemas_a_star_query_shows_no_invented_columns(project: Project) -> None:
    doc = json.loads(lineage_view(project, "by_country", columns=True, fmt="json"))
    assert doc["columns"]["by_country"]["fields"] == {}  # SELECT * over an unknown schema
    assert "country" in doc["columns"]["enriched"]["fields"]  # spelled-out columns still resolve


def test_mermaid_and_dot(project: Project) -> None:
    mermaid = lineage_view(project, fmt="mermaid")
    assert mermaid.startswith("flowchart LR\n")
    assert "n2_enriched --> n3_by_country" in mermaid
    cols = lineage_view(
        project, "enriched", columns=True, fmt="mermaid", upstream_schemas_of=schemas_of(project)
    )
    assert "-. join .->" in cols and 'subgraph n7_enriched["enriched (sql)"]' in cols
    dot = lineage_view(project, fmt="dot")
    assert dot.startswith("digraph lineage {") and '"enriched" -> "by_country";' in dot
    dot_cols = lineage_view(
        project, "enriched", columns=True, fmt="dot", upstream_schemas_of=schemas_of(project)
    )
    assert '"orders.amount" -> "enriched.amount";' in dot_cols
    assert '"users.user_id" -> "enriched.(rows)" [style=dashed, label="join"];' in dot_cols


def test_unknown_asset_suggests_the_closest(project: Project) -> None:
    with pytest.raises(ProjectError) as err:
        lineage_view(project, "enriche")
    assert err.value.hint == "did you mean 'enriched'?"
