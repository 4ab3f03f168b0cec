"""End to end: a real build of examples/fraud, its events received over HTTP by a loopback stand-in
for Marquez; every event validates against the official spec, and the lineage graph rebuilt from
the events alone equals the project's DAG, with column edges for the SQL assets."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lineage_support import Marquez

from assetbuild.definitions.loader import load_project

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fraud"
ASSETBUILD = str(Path(sys.executable).parent / "assetbuild")


@pytest.fixture(scope="module")
def fraud_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fraud") / "fraud"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".assetbuild", "data", "out"))
    subprocess.run([sys.executable, str(root / "generate.py")], check=True, capture_output=True)
    return root


def _build(root: Path, url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENLINEAGE")}
    env["OPENLINEAGE_URL"] = url
    return subprocess.run(
        [ASSETBUILD, "--project", str(root), "build", "--force", "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def _facet(dataset: dict[str, Any], name: str) -> Any:
    return (dataset.get("facets") or {}).get(name)


def test_a_fraud_build_reaches_marquez_valid_and_equal_to_the_dag(
    fraud_copy: Path, marquez: Marquez, validate: Callable[[dict[str, Any]], list[str]]
) -> None:
    r = _build(fraud_copy, marquez.url)
    assert r.returncode == 0, r.stderr
    assert marquez.violations == []
    events = marquez.events
    assert events, "no event reached the receiver"
    invalid = {f"{e['job']['name']} {e['eventType']}": validate(e) for e in events if validate(e)}
    assert invalid == {}

    project = load_project(fraud_copy)
    assets = [n for n, a in project.assets.items()]
    # every asset ran (--force): one child job per asset, START then COMPLETE, under the build's job
    completes = {
        e["job"]["name"].removeprefix("fraud."): e
        for e in events
        if e["eventType"] == "COMPLETE" and e["job"]["name"].count(".") == 1
    }
    assert sorted(completes) == sorted(assets)

    # the graph, from the events alone: which asset produced each dataset, and who read it
    producer = {(o["namespace"], o["name"]): asset for asset, e in completes.items() for o in e["outputs"]}
    rebuilt = {
        asset: sorted(
            producer[(i["namespace"], i["name"])]
            for i in e["inputs"]
            if (i["namespace"], i["name"]) in producer
        )
        for asset, e in completes.items()
    }
    assert rebuilt == {n: sorted(a.upstream) for n, a in project.assets.items()}

    # column lineage for the SQL assets: every output column with a direct source names real
    # input columns of its upstream datasets
    for name in ("user_features", "merchant_daily"):
        (output,) = completes[name]["outputs"]
        fields = _facet(output, "columnLineage")["fields"]
        assert fields, name
        upstream_datasets = {i["name"]: i for i in completes[name]["inputs"]}
        for column, spec in fields.items():
            for source in spec["inputFields"]:
                assert source["name"] in upstream_datasets, (name, column, source)
                schema = _facet(upstream_datasets[source["name"]], "schema")
                if schema:
                    assert source["field"] in {f["name"] for f in schema["fields"]}, (name, column, source)
        assert "user_id" in fields or "merchant_id" in fields

    # quality results: a check job per asset with rules, its input carrying the assertions
    checks = [
        e for e in events if e["job"]["name"].endswith(".check") and e["eventType"] in ("COMPLETE", "FAIL")
    ]
    assert {e["job"]["name"] for e in checks} >= {
        "fraud.cleaned_transactions.check",
        "fraud.fraud_scores.check",
    }
    for e in checks:
        # the checked asset carries the assertions; any other input is an asset its rules read
        checked_name = e["job"]["name"].removeprefix("fraud.").removesuffix(".check")
        (ds,) = [i for i in e["inputs"] if i["name"].endswith("." + checked_name)]
        assertions = (ds.get("inputFacets") or {}).get("dataQualityAssertions")
        assert assertions and assertions["assertions"], e["job"]["name"]
        read = {i["name"].rsplit(".", 1)[-1] for i in e["inputs"] if i is not ds}
        assert read <= set(project.assets), read
        assert all(not i.get("inputFacets") for i in e["inputs"] if i is not ds)
