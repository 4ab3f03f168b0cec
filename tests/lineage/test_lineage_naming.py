"""Names a lineage backend files events under: the same on every machine, one namespace per
environment, `[lineage] namespace` for datasets too, and column types in DuckDB's names."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lineage_support import make_project
from test_lineage_events import all_events

from assetbuild.deliver.exports import environment_path as delivered_path
from assetbuild.lineage import naming
from assetbuild.lineage.types import duckdb_type
from assetbuild.model.assets import Project


def in_environment(project: Project, env: str) -> Project:
    return dataclasses.replace(project, environment=env)


def datasets_of(event: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every dataset an event names: inputs, outputs and the inputs of column lineage."""
    for ds in event.get("inputs", []) + event.get("outputs", []):
        yield ds
        lineage = (ds.get("facets") or {}).get("columnLineage") or {}
        for spec in (lineage.get("fields") or {}).values():
            yield from spec["inputFields"]
        yield from lineage.get("dataset") or []


def identities(events: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    out = {("job", e["job"]["namespace"], e["job"]["name"]) for e in events}
    out |= {("dataset", d["namespace"], d["name"]) for e in events for d in datasets_of(e)}
    parents = [e["run"]["facets"].get("parent") for e in events]
    out |= {("job", p["job"]["namespace"], p["job"]["name"]) for p in parents if p}
    return out


def test_no_name_holds_the_machine_s_paths(tmp_path: Path) -> None:
    """The old names were `duckdb:///home/.../warehouse.duckdb` and `file` + absolute paths."""
    root = tmp_path / "checkout"
    events = all_events(make_project(root))
    text = json.dumps(sorted(identities(events)))
    assert str(tmp_path) not in text and "duckdb://" not in text and '"file"' not in text
    for e in events:  # nor does any facet: physical locations are relative to the project
        assert str(tmp_path) not in json.dumps(e), e["job"]["name"]


def test_two_checkouts_name_everything_alike(tmp_path: Path) -> None:
    laptop = identities(all_events(make_project(tmp_path / "home" / "me" / "proj")))
    ci = identities(all_events(make_project(tmp_path / "runner" / "work" / "linproj")))
    assert laptop == ci
    assert {ns for _, ns, _ in laptop} == {"linproj"}
    assert ("dataset", "linproj", "linproj.main.enriched") in laptop
    assert ("dataset", "linproj", "linproj/data/orders.csv") in laptop


def test_the_lineage_namespace_applies_to_datasets_too(tmp_path: Path) -> None:
    project = make_project(tmp_path, lineage={"namespace": "analytics"})
    names = identities(all_events(project))
    assert {ns for _, ns, _ in names} == {"analytics"}
    # the project stays in every name, so projects sharing a namespace never collide
    assert all(n.startswith("linproj") for _, _, n in names)


def test_another_environment_has_its_own_namespace_and_datasets(tmp_path: Path) -> None:
    default = make_project(tmp_path)
    dev = in_environment(default, "dev")
    dev_names = identities(all_events(dev))
    default_names = identities(all_events(default))
    assert {ns for _, ns, _ in dev_names} == {"linproj-dev"}
    assert dev_names.isdisjoint(default_names)
    # job names stay what they are (Marquez files children under `{parent}.`): the namespace
    # tells environments apart
    jobs = {n for kind, _, n in dev_names if kind == "job"}
    assert jobs == {n for kind, _, n in default_names if kind == "job"}
    assert ("dataset", "linproj-dev", "linproj.dev.by_country") in dev_names
    assert ("dataset", "linproj-dev", "linproj/data/orders.csv") in dev_names
    # the default environment keeps the job namespace and names it always had
    assert {(ns, n) for kind, ns, n in default_names if kind == "job"} >= {
        ("linproj", "linproj"),
        ("linproj", "linproj.scored"),
    }


def test_an_environment_placeholder_in_the_namespace_is_filled_in(tmp_path: Path) -> None:
    project = make_project(tmp_path, lineage={"namespace": "risk_{environment}"})
    assert naming.namespace(project) == "risk_default"
    assert naming.namespace(in_environment(project, "prod")) == "risk_prod"


def test_namespaces_hold_only_what_marquez_keeps(tmp_path: Path) -> None:
    """Marquez replaces other characters with `_`; the name sent is then the name stored."""
    project = dataclasses.replace(make_project(tmp_path), name="fraud detection (EU)")
    assert naming.namespace(project) == "fraud_detection__EU_"


def test_exports_are_symlinks_relative_to_the_project_per_environment(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    project.exports["by_country"] = "out/db.duckdb#revenue"
    dev = in_environment(project, "dev")
    assert naming.export_symlinks(project, "scored") == [
        naming.Symlink("linproj", "linproj/out/scored.parquet", "LOCATION")
    ]
    assert naming.export_symlinks(dev, "scored") == [
        naming.Symlink("linproj-dev", "linproj/out/dev/scored.parquet", "LOCATION")
    ]
    assert naming.export_symlinks(dev, "by_country") == [
        naming.Symlink("linproj-dev", "linproj/out/dev/db.duckdb/revenue", "TABLE")
    ]
    assert naming.export_symlinks(project, "enriched") == []


@pytest.mark.parametrize(
    ("declared", "env", "lands"),
    [
        ("out/fraud_scores.parquet", "default", "out/fraud_scores.parquet"),
        ("out/fraud_scores.parquet", "dev", "out/dev/fraud_scores.parquet"),
        ("scores.csv", "dev", "dev/scores.csv"),
        ("out/scores", "ci", "out/ci/scores"),
        ("out/db.duckdb", "dev", "out/dev/db.duckdb"),
        ("out/{environment}/x.parquet", "default", "out/default/x.parquet"),
        ("out/{environment}/x.parquet", "dev", "out/dev/x.parquet"),
    ],
)
def test_lineage_and_delivery_agree_where_an_export_lands(declared: str, env: str, lands: str) -> None:
    assert delivered_path(declared, env) == lands
    assert naming.environment_path(declared, env) == lands


def test_source_files_are_named_relative_to_the_project(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    orders = project.assets["orders"]

    def named(*patterns: str) -> list[tuple[str, str]]:
        source = dataclasses.replace(orders, patterns=patterns)
        return [(r.namespace, r.name) for _, r in naming.source_file_datasets(project, source)]

    assert named("data/tx/*.csv", "./data/users.csv", "data/**/part-*.parquet") == [
        ("linproj", "linproj/data/tx"),
        ("linproj", "linproj/data/users.csv"),
        ("linproj", "linproj/data"),
    ]
    # outside the project a file keeps the naming spec's physical name: the same path everywhere
    assert named("/srv/shared/rates.csv", "s3://bucket/raw/2026/*.parquet") == [
        ("file", "/srv/shared/rates.csv"),
        ("s3://bucket", "raw/2026"),
    ]


def test_schema_facets_use_duckdb_type_names(tmp_path: Path) -> None:
    events = all_events(make_project(tmp_path))
    types = {
        f["type"]
        for e in events
        for ds in e.get("inputs", []) + e.get("outputs", [])
        for f in ((ds.get("facets") or {}).get("schema") or {}).get("fields", [])
    }
    assert types == {"BIGINT", "DOUBLE", "VARCHAR"}


def unquoted(duck: str) -> str:
    """DuckDB quotes keywords (`"label"`, `"NULL"`) where a bare word reads the same."""
    return re.sub(r'"([A-Za-z_][A-Za-z0-9_]*)"', r"\1", duck)


# polars writes these as Parquet types that DuckDB reads coarser than the data means; the
# facet keeps the meaning (types.py)
MEANING_OVER_STORAGE = {
    "dur": ("INTERVAL", "BIGINT"),
    "i128": ("HUGEINT", "BLOB"),
    "arr": ("BIGINT[2]", "BIGINT[]"),
}


def test_duckdb_type_names_are_what_the_warehouse_shows(tmp_path: Path) -> None:
    """Each polars type, written to Parquet the way the store writes it, then described by
    DuckDB as the warehouse views show it."""
    from datetime import date, datetime, time, timedelta
    from decimal import Decimal

    duckdb = pytest.importorskip("duckdb")
    pl = pytest.importorskip("polars")
    frame = pl.DataFrame(
        {
            "i8": pl.Series([1], dtype=pl.Int8),
            "i16": pl.Series([1], dtype=pl.Int16),
            "i32": pl.Series([1], dtype=pl.Int32),
            "i64": [1],
            "u8": pl.Series([1], dtype=pl.UInt8),
            "u16": pl.Series([1], dtype=pl.UInt16),
            "u32": pl.Series([1], dtype=pl.UInt32),
            "u64": pl.Series([1], dtype=pl.UInt64),
            "f32": pl.Series([1.0], dtype=pl.Float32),
            "f64": [1.0],
            "flag": [True],
            "text": ["x"],
            "bytes": [b"x"],
            "day": [date(2026, 1, 1)],
            "clock": [time(1, 2)],
            "ts": [datetime(2026, 1, 1)],
            "ts_ms": pl.Series([datetime(2026, 1, 1)], dtype=pl.Datetime("ms")),
            "ts_ns": pl.Series([datetime(2026, 1, 1)], dtype=pl.Datetime("ns")),
            "ts_utc": pl.Series([datetime(2026, 1, 1)], dtype=pl.Datetime("us", "UTC")),
            "ts_berlin": pl.Series([datetime(2026, 1, 1)], dtype=pl.Datetime("us", "Europe/Berlin")),
            "money": pl.Series([Decimal("1.20")], dtype=pl.Decimal(38, 2)),
            "rate": pl.Series([Decimal("1.2")], dtype=pl.Decimal(10, 1)),
            "ints": [[1, 2]],
            "words": [["a"]],
            "point": [{"x": 1, "label": "a"}],
            "odd names": [{"a b": 1.5}],
            "nested": [[{"x": 1.5}]],
            "cat": pl.Series(["a"], dtype=pl.Categorical),
            "enum": pl.Series(["a"], dtype=pl.Enum(["a", "b"])),
            "nothing": pl.Series([None], dtype=pl.Null),
            "dur": [timedelta(1)],
            "i128": pl.Series([1], dtype=pl.Int128),
            "arr": pl.Series([[1, 2]], dtype=pl.Array(pl.Int64, 2)),
        }
    )
    path = tmp_path / "all.parquet"
    frame.write_parquet(path)
    rows = duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()
    described = {row[0]: unquoted(row[1]) for row in rows}
    ours = {name: unquoted(duckdb_type(str(dtype))) for name, dtype in frame.schema.items()}
    same = set(ours) - set(MEANING_OVER_STORAGE)
    assert {n: ours[n] for n in same} == {n: described[n] for n in same}
    assert {n: (ours[n], described[n]) for n in MEANING_OVER_STORAGE} == MEANING_OVER_STORAGE
    for dtype in frame.schema.values():  # and each is a type DuckDB can read back
        duckdb.sql(f"SELECT CAST(NULL AS {duckdb_type(str(dtype))}) AS x").fetchall()
    duckdb.sql("""SELECT CAST(NULL AS STRUCT("order" BIGINT, label VARCHAR)) AS x""").fetchall()


@pytest.mark.parametrize(
    ("polars", "duck"),
    [
        ("Int64", "BIGINT"),
        ("Utf8", "VARCHAR"),  # polars < 0.20
        ("Datetime(time_unit='us', time_zone=None)", "TIMESTAMP"),
        ("Datetime(time_unit='ns', time_zone='UTC')", "TIMESTAMP WITH TIME ZONE"),
        ("Decimal(precision=38, scale=2)", "DECIMAL(38,2)"),
        ("Decimal(precision=None, scale=3)", "DECIMAL(38,3)"),
        ("Array(Int64, shape=(2, 3))", "BIGINT[3][2]"),
        ("Struct([Field('a', Int64)])", "STRUCT(a BIGINT)"),  # older polars
        ("Categorical(ordering='physical')", "VARCHAR"),
        (
            "Struct({'order': Int64, 'label': String, 'a \"b': Date})",
            'STRUCT("order" BIGINT, label VARCHAR, "a ""b" DATE)',
        ),
        ("Object", "Object"),  # no DuckDB name: kept, never guessed
        ("List(", "List("),
    ],
)
def test_duckdb_type_of_a_repr(polars: str, duck: str) -> None:
    assert duckdb_type(polars) == duck
