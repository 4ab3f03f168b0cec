"""What a user sees in Marquez after real builds: the stand-in answers Marquez's read API from the
events it received over HTTP, and these tests read the graph, the runs and each dataset's
current version through it, across builds, reverts, environments and two checkouts."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from lineage_support import Marquez, MarquezModel, marquez_violation, parse_node_id, q

ASSETBUILD = str(Path(sys.executable).parent / "assetbuild")

ORDERS_V1 = "order_id,user_id,amount\n1,1,1.5\n2,2,4.5\n3,1,7.0\n"
ORDERS_V2 = ORDERS_V1 + "4,2,9.5\n"
FILES = {
    "assetbuild.toml": (
        '[project]\nname = "shop"\n\n'
        '[sources.orders]\npath = "data/orders.csv"\n\n'
        '[sources.users]\npath = "data/users.csv"\n\n'
        '[exports]\nscored = "out/scored.parquet"\n'
    ),
    "data/orders.csv": ORDERS_V1,
    "data/users.csv": "user_id,country\n1,DE\n2,FR\n",
    "assets/enriched.sql": (
        "SELECT o.order_id, o.amount, u.country FROM orders o JOIN users u ON o.user_id = u.user_id\n"
    ),
    "assets/by_country.sql": "SELECT country, sum(amount) AS revenue FROM enriched GROUP BY country\n",
    "assets/scored.py": (
        "import polars as pl\n\nfrom assetbuild import asset\n\n\n@asset\n"
        "def scored(by_country: pl.DataFrame) -> pl.DataFrame:\n"
        '    return by_country.with_columns(score=pl.col("revenue") / 10)\n'
    ),
}
ASSETS = ["orders", "users", "enriched", "by_country", "scored"]


def write_project(root: Path) -> Path:
    for rel, text in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def build(root: Path, marquez: Marquez) -> dict[str, Any]:
    """`assetbuild build` in a subprocess, sending lineage to the stand-in; then `lineage push`,
    so that an event the build's one-second budget left in the outbox arrives too."""
    import json

    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENLINEAGE")}
    env["OPENLINEAGE_URL"] = marquez.url
    r = subprocess.run(
        [ASSETBUILD, "--project", str(root), "build", "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    pushed = subprocess.run(
        [ASSETBUILD, "--project", str(root), "lineage", "push"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    assert marquez.violations == [] and marquez_violation(marquez.events) is None
    result: dict[str, Any] = json.loads(r.stdout)
    assert not [w for w in result["warnings"] if "lineage" in w], result["warnings"]
    return result


def hashes(result: dict[str, Any]) -> dict[str, str]:
    return {a["name"]: a["content_hash"] for a in result["assets"]}


def statuses(result: dict[str, Any]) -> dict[str, str]:
    return {a["name"]: a["status"] for a in result["assets"]}


def get(marquez: Marquez, path: str, **query: Any) -> Any:
    status, answer = marquez.get(path, **query)
    assert status == 200, (path, status, answer)
    return answer


def current_version(marquez: Marquez, namespace: str, dataset: str) -> str:
    answer = get(marquez, f"namespaces/{q(namespace)}/datasets/{q(dataset)}")
    return str(answer["facets"]["version"]["datasetVersion"])


def published_by(marquez: Marquez, namespace: str, asset: str) -> tuple[str, str]:
    """The dataset the asset's job writes, as the backend knows it (whatever it is named)."""
    [output] = get(marquez, f"namespaces/{q(namespace)}/jobs/{q(namespace + '.' + asset)}")["outputs"]
    return output["namespace"], output["name"]


def graph(marquez: Marquez, namespace: str, dataset: str) -> dict[str, dict[str, Any]]:
    answer = get(marquez, "lineage", nodeId=f"dataset:{namespace}:{dataset}", depth=20)
    return {node["id"]: node for node in answer["graph"]}


def dataset_versions_in(nodes: dict[str, dict[str, Any]]) -> dict[str, str | None]:
    """Each dataset node of a lineage graph -> the content hash its current version carries."""
    out: dict[str, str | None] = {}
    for node_id, node in nodes.items():
        if node["type"] == "DATASET":
            version = (node["data"]["facets"].get("version") or {}).get("datasetVersion")
            out[node_id] = version
    return out


# -- the stand-in itself -------------------------------------------------------------------------


def test_the_stand_in_computes_marquez_s_view_from_events() -> None:
    def event(
        run: str, kind: str, job: str, inputs: list[str], outputs: list[tuple[str, str]]
    ) -> dict[str, Any]:
        parent = {"run": {"runId": "b"}, "job": {"namespace": "ns", "name": "p"}}
        return {
            "eventType": kind,
            "eventTime": f"2026-01-01T00:00:0{len(run)}Z",
            "run": {"runId": run, "facets": {"parent": parent}},
            "job": {"namespace": "ns", "name": job},
            "inputs": [{"namespace": "ns", "name": n} for n in inputs],
            "outputs": [
                {"namespace": "ns", "name": n, "facets": {"version": {"datasetVersion": v}}}
                for n, v in outputs
            ],
        }

    model = MarquezModel(
        [
            event("r1", "START", "p.a", [], []),
            event("r1", "COMPLETE", "p.a", ["src"], [("x", "h1")]),
            event("r2", "START", "b", [], []),  # not prefixed: Marquez files it as p.b
            event("r2", "COMPLETE", "b", ["x"], [("y", "h2")]),
            event("r3", "START", "p.a", [], []),
            event("r3", "COMPLETE", "p.a", ["src"], [("x", "h3")]),
        ]
    )
    assert model.dataset_json("ns", "x")["facets"]["version"]["datasetVersion"] == "h3"  # type: ignore[index]
    assert [r["id"] for r in model.runs_json("ns", "p.a") or []] == ["r3", "r1"]
    assert model.job_json("ns", "p.b")["parentJobName"] == "p"  # type: ignore[index]
    whole = {n["id"] for n in (model.lineage("dataset:ns:y", 20) or {})["graph"]}
    assert whole == {"job:ns:p.a", "job:ns:p.b", "dataset:ns:src", "dataset:ns:x", "dataset:ns:y"}
    near = {n["id"] for n in (model.lineage("dataset:ns:y", 0) or {})["graph"]}
    assert near == {"job:ns:p.b", "dataset:ns:x", "dataset:ns:y"}
    assert parse_node_id("dataset:s3://bucket:raw/x") == ("dataset", "s3://bucket", "raw/x")
    assert parse_node_id("dataset:postgres://db:5432:shop.public.t") == (
        "dataset",
        "postgres://db:5432",
        "shop.public.t",
    )


def test_the_stand_in_answers_over_http(marquez: Marquez) -> None:
    assert marquez.get("namespaces") == (200, {"namespaces": []})
    status, _ = marquez.get(f"namespaces/shop/datasets/{q('shop/data/orders.csv')}")
    assert status == 404
    assert marquez.get("lineage")[0] == 400  # no nodeId


# -- builds, reverts -----------------------------------------------------------------------------


def test_current_versions_follow_builds_and_reverts(tmp_path: Path, marquez: Marquez) -> None:
    root = write_project(tmp_path / "shop")
    first = build(root, marquez)
    assert set(statuses(first).values()) == {"built"}
    v1 = hashes(first)

    (root / "data/orders.csv").write_text(ORDERS_V2)
    second = build(root, marquez)
    v2 = hashes(second)
    datasets = {asset: published_by(marquez, "shop", asset) for asset in ASSETS}
    assert current_version(marquez, *datasets["by_country"]) == v2["by_country"] != v1["by_country"]

    # the revert: every changed asset comes back from the store, nothing runs
    (root / "data/orders.csv").write_text(ORDERS_V1)
    third = build(root, marquez)
    assert {statuses(third)[n] for n in ("orders", "enriched", "by_country", "scored")} == {"restored"}
    for asset in ASSETS:
        assert current_version(marquez, *datasets[asset]) == v1[asset], asset
    assert datasets["scored"] == ("shop", "shop.main.scored")

    # the run the backend lists last for the asset's job is the restore, marked as such
    runs = get(marquez, f"namespaces/shop/jobs/{q('shop.by_country')}/runs")["runs"]
    assert [r["state"] for r in runs] == ["COMPLETED"] * 3
    restore = runs[0]["facets"]["assetbuild_restore"]
    assert (restore["restored"], restore["contentHash"]) == (True, v1["by_country"])
    assert "assetbuild_restore" not in runs[1]["facets"]
    [output] = runs[0]["outputDatasetVersions"]
    assert output["datasetVersionId"]["name"] == "shop.main.by_country"
    # ... under the build's run
    parent = runs[0]["facets"]["parent"]
    assert (parent["job"]["namespace"], parent["job"]["name"]) == ("shop", "shop")
    assert parent["run"]["runId"] == third["run_id"]

    # the graph a user sees: jobs and datasets of the project, each at its current version
    nodes = graph(marquez, "shop", "shop.main.scored")
    jobs = {n for n, node in nodes.items() if node["type"] == "JOB"}
    assert jobs == {f"job:shop:shop.{a}" for a in ASSETS}
    assert dataset_versions_in(nodes) == {
        **{f"dataset:shop:shop.main.{a}": v1[a] for a in ASSETS},
        "dataset:shop:shop/data/orders.csv": None,  # files are read, never versioned by us
        "dataset:shop:shop/data/users.csv": None,
    }
    edges = {(e["origin"], e["destination"]) for node in nodes.values() for e in node["outEdges"]}
    assert ("dataset:shop:shop.main.by_country", "job:shop:shop.scored") in edges
    assert ("job:shop:shop.scored", "dataset:shop:shop.main.scored") in edges
    scored = get(marquez, f"namespaces/shop/datasets/{q('shop.main.scored')}")
    assert [(f["name"], f["type"]) for f in scored["fields"]] == [
        ("country", "VARCHAR"),
        ("revenue", "DOUBLE"),
        ("score", "DOUBLE"),
    ]

    # nothing changed: nothing is told (no run, no new version)
    before = len(marquez.events)
    fourth = build(root, marquez)
    assert set(statuses(fourth).values()) == {"up_to_date"}
    assert len(marquez.events) == before


# -- environments --------------------------------------------------------------------------------


def test_a_dev_build_does_not_mix_with_the_default_environment(tmp_path: Path, marquez: Marquez) -> None:
    root = write_project(tmp_path / "shop")
    default = hashes(build(root, marquez))
    toml = root / "assetbuild.toml"
    toml.write_text(toml.read_text().replace('name = "shop"', 'name = "shop"\nenvironment = "dev"'))
    (root / "data/orders.csv").write_text(ORDERS_V2)
    dev_result = build(root, marquez)
    dev = hashes(dev_result)
    assert dev["by_country"] != default["by_country"]
    assert statuses(dev_result)["users"] == "restored"  # the same file: dev gets the stored version

    namespaces = {n["name"] for n in get(marquez, "namespaces")["namespaces"]}
    assert namespaces == {"shop", "shop-dev"}
    # the default environment still shows its own data as current
    for asset in ASSETS:
        assert current_version(marquez, "shop", f"shop.main.{asset}") == default[asset], asset
        assert current_version(marquez, "shop-dev", f"shop.dev.{asset}") == dev[asset], asset
    # and the two graphs share no node
    dev_nodes = graph(marquez, "shop-dev", "shop.dev.scored")
    default_nodes = graph(marquez, "shop", "shop.main.scored")
    assert {parse_node_id(n)[1] for n in dev_nodes} == {"shop-dev"}
    assert {parse_node_id(n)[1] for n in default_nodes} == {"shop"}
    assert len(dev_nodes) == len(default_nodes) == 2 * len(ASSETS) + 2
    # the default environment's jobs ran once: dev's runs are dev's
    runs = get(marquez, f"namespaces/shop/jobs/{q('shop.by_country')}/runs")["runs"]
    assert len(runs) == 1
    dev_runs = get(marquez, f"namespaces/shop-dev/jobs/{q('shop.by_country')}/runs")["runs"]
    assert len(dev_runs) == 1 and dev_runs[0]["facets"]["parent"]["job"]["namespace"] == "shop-dev"


# -- two checkouts -------------------------------------------------------------------------------


def test_two_checkouts_in_different_folders_make_one_graph(tmp_path: Path, marquez: Marquez) -> None:
    laptop = write_project(tmp_path / "home" / "me" / "shop")
    ci = tmp_path / "runner" / "_work" / "build-1234"
    shutil.copytree(laptop, ci)
    first = hashes(build(laptop, marquez))
    after_laptop = graph(marquez, "shop", "shop.main.scored")
    jobs_laptop = {j["name"] for j in get(marquez, "namespaces/shop/jobs")["jobs"]}
    datasets_laptop = {d["name"] for d in get(marquez, "namespaces/shop/datasets")["datasets"]}

    second = hashes(build(ci, marquez))
    assert second == first
    assert {n["name"] for n in get(marquez, "namespaces")["namespaces"]} == {"shop"}
    assert {j["name"] for j in get(marquez, "namespaces/shop/jobs")["jobs"]} == jobs_laptop
    assert {d["name"] for d in get(marquez, "namespaces/shop/datasets")["datasets"]} == datasets_laptop
    after_ci = graph(marquez, "shop", "shop.main.scored")
    assert set(after_ci) == set(after_laptop)
    # each job has both checkouts' runs: one history, not two
    runs = get(marquez, f"namespaces/shop/jobs/{q('shop.enriched')}/runs")["runs"]
    assert len(runs) == 2
    assert str(tmp_path) not in str(get(marquez, f"namespaces/shop/datasets/{q('shop.main.scored')}"))


def test_the_lineage_namespace_setting_names_datasets_too(tmp_path: Path, marquez: Marquez) -> None:
    namespace = "analytics"
    root = write_project(tmp_path / "shop")
    toml = root / "assetbuild.toml"
    toml.write_text(toml.read_text() + f'\n[lineage]\nnamespace = "{namespace}"\n')
    result = hashes(build(root, marquez))
    assert {n["name"] for n in get(marquez, "namespaces")["namespaces"]} == {namespace}
    assert current_version(marquez, namespace, "shop.main.scored") == result["scored"]
