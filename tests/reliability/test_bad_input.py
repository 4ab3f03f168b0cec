"""Bad input never hurts: each malformed project or input answers exit 2 (project error) or 1 (asset
failure) with a message naming the file (and line where there is one), no traceback, the data
published by the last good build still current, and a consistent store.

Every case starts from a copy of one good, built project (`reliability_project`), breaks one thing,
runs the CLI in a subprocess, checks the store from the outside, then puts the files back and asks
`assetbuild show --format json` that the published data is the good build's.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ._support import (
    build_json,
    current_hashes,
    integrity,
    parse_json,
    reliability_project,
    run_cli,
    store_problems,
    write_files,
)

FILES, NAMES = reliability_project(n_sql=12)
TOML = FILES["assetbuild.toml"]
assert isinstance(TOML, str)
DELETE = None  # a file value meaning "remove this file"


@dataclass(frozen=True)
class Case:
    files: dict[str, str | bytes | None]
    code: int  # 2: project error, 1: asset failure
    where: str  # regex that must appear in the output: the file, and its line where there is one
    args: tuple[str, ...] = ("build",)
    changed: frozenset[str] = field(default_factory=frozenset)  # assets whose data may change legitimately
    also: str | None = None  # another regex the message must contain (e.g. a "did you mean")
    bug: str | None = None  # a known bug outside tests/reliability: the case is a strict xfail


def toml(extra: str = "", replace: tuple[str, str] | None = None) -> dict[str, str | bytes | None]:
    text = TOML.replace(*replace) if replace else TOML
    return {"assetbuild.toml": text + extra}


def py(body: str, name: str = "assets/bad.py") -> dict[str, str | bytes | None]:
    return {name: "import polars as pl\n\nfrom assetbuild import asset, check\n\n\n" + body}


CUSTOMERS_PATH = ('path = "data/customers.csv"', "")
LONG = "x" * 300

CASES: dict[str, Case] = {
    # -- assetbuild.toml -----------------------------------------------------------------------
    "toml_syntax_error": Case(toml("\n[sources.broken\npath = 'x'\n"), 2, r"assetbuild\.toml:10"),
    "toml_unknown_section": Case(
        toml("\n[expotrs]\ns03 = 'out/x.parquet'\n"), 2, r"assetbuild\.toml:10", also="did you mean 'exports'"
    ),
    "toml_unknown_source_key": Case(
        toml(replace=('path = "data/customers.csv"', 'pth = "data/customers.csv"')),
        2,
        r"assetbuild\.toml:8",
        also="did you mean 'path'",
    ),
    "toml_duplicate_table": Case(
        toml("\n[sources.orders]\npath = 'data/customers.csv'\n"), 2, r"assetbuild\.toml:10"
    ),
    "toml_not_utf8": Case(
        {"assetbuild.toml": TOML.encode() + b"# caf\xe9\n"}, 2, r"assetbuild\.toml:9", also="UTF-8"
    ),
    "toml_source_path_absolute": Case(
        toml(replace=('"data/customers.csv"', '"/etc/hostname"')),
        2,
        r"assetbuild\.toml:8",
        also="leaves the project",
    ),
    "toml_source_path_dotdot": Case(
        toml(replace=('"data/customers.csv"', '"data/../../outside.csv"')),
        2,
        r"assetbuild\.toml:8",
        also="leaves the project",
    ),
    "toml_glob_matches_nothing": Case(
        toml(replace=('"data/customers.csv"', '"data/nothing/*.csv"')),
        2,
        r"assetbuild\.toml:7",
        also="no file matches",
    ),
    "toml_source_path_is_a_folder": Case(
        toml(replace=('"data/customers.csv"', '"data/orders"')), 2, r"assetbuild\.toml:7"
    ),
    "toml_source_path_not_a_string": Case(
        toml(replace=('"data/customers.csv"', "42")), 2, r"assetbuild\.toml:7"
    ),
    "toml_unknown_format": Case(toml('format = "xlsx"\n'), 2, r"assetbuild\.toml:9"),
    "toml_export_escapes_project": Case(
        toml("\n[exports]\ns03 = '../stolen.parquet'\n"), 2, r"assetbuild\.toml", also="leaves the project"
    ),
    "toml_export_absolute": Case(
        toml("\n[exports]\ns03 = '/tmp/stolen.parquet'\n"), 2, r"assetbuild\.toml", also="leaves the project"
    ),
    "toml_export_into_the_store": Case(
        toml("\n[exports]\ns03 = '.assetbuild/objects/s03.parquet'\n"), 2, r"assetbuild\.toml"
    ),
    "toml_export_unknown_asset": Case(
        toml("\n[exports]\nnope = 'out/nope.parquet'\n"), 2, r"assetbuild\.toml"
    ),
    "toml_jobs_zero": Case(toml("\n[build]\njobs = 0\n"), 2, r"assetbuild\.toml:11"),
    "toml_source_name_with_dash": Case(
        toml("\n[sources.bad-name]\npath = 'data/customers.csv'\n"), 2, r"assetbuild\.toml:10"
    ),
    "toml_source_name_unicode": Case(
        toml('\n[sources."größe"]\npath = "data/customers.csv"\n'), 2, r"assetbuild\.toml:10"
    ),
    "toml_source_name_dotdot": Case(
        toml('\n[sources."../x"]\npath = "data/customers.csv"\n'), 2, r"assetbuild\.toml:10"
    ),
    "toml_source_name_300_chars": Case(
        toml(f"\n[sources.{LONG}]\npath = 'data/customers.csv'\n"), 2, r"assetbuild\.toml:10"
    ),
    "toml_sources_not_a_table": Case(
        {"assetbuild.toml": "sources = 'data/x.csv'\n[project]\nname = 'x'\n"}, 2, r"assetbuild\.toml:1"
    ),
    "toml_source_name_with_newline": Case(
        toml('\n[sources."orders2\\n"]\npath = "data/customers.csv"\n'), 2, r"assetbuild\.toml"
    ),
    "toml_empty_project_name": Case(
        toml(replace=('name = "reliability"', 'name = ""')), 2, r"assetbuild\.toml:2"
    ),
    # -- names, duplicates and the DAG --------------------------------------------------------
    "duplicate_sql_and_source": Case(
        {"assets/orders.sql": "SELECT 1 AS x\n"}, 2, r"assets/orders\.sql:1", also="duplicate"
    ),
    "duplicate_python_and_sql": Case(
        py("@asset()\ndef s03(s01):\n    return s01\n"),
        2,
        r"assets/s03\.sql:1",
        also=r"duplicate .* assets/bad\.py:7",
    ),
    "duplicate_python_in_two_files": Case(
        {
            **py("@asset()\ndef twin(s01):\n    return s01\n", "assets/a1.py"),
            **py("@asset()\ndef twin(s02):\n    return s02\n", "assets/a2.py"),
        },
        2,
        r"assets/a2\.py:7",
        also="duplicate",
    ),
    "duplicate_names_differing_in_case": Case(
        py("@asset()\ndef S03(s01):\n    return s01\n"), 2, r"assets/(bad\.py:7|s03\.sql:1)", also="duplicate"
    ),
    "cycle": Case(
        {"assets/cyc_a.sql": "SELECT * FROM cyc_b\n", "assets/cyc_b.sql": "SELECT * FROM cyc_a\n"},
        2,
        r"assets/cyc_[ab]\.sql:1",
        also="cyc_a -> cyc_b -> cyc_a|cyc_b -> cyc_a -> cyc_b",
    ),
    "self_reference": Case({"assets/selfref.sql": "SELECT *\nFROM selfref\n"}, 2, r"assets/selfref\.sql"),
    "missing_upstream_sql": Case(
        {"assets/bad.sql": "SELECT *\nFROM s3\n"}, 2, r"assets/bad\.sql:2", also="did you mean 's03'"
    ),
    "missing_upstream_python": Case(
        py("@asset()\ndef bad(s3):\n    return s3\n"), 2, r"assets/bad\.py:7", also="did you mean 's03'"
    ),
    "sql_file_name_with_dash": Case({"assets/my-asset.sql": "SELECT 1 AS x\n"}, 2, r"assets/my-asset\.sql:1"),
    "sql_file_name_with_dots": Case(
        {"assets/my.asset.sql": "SELECT 1 AS x\n"}, 2, r"assets/my\.asset\.sql:1"
    ),
    "sql_file_name_unicode": Case({"assets/größe.sql": "SELECT 1 AS x\n"}, 2, r"assets/größe\.sql:1"),
    "python_asset_name_dotdot": Case(
        py("@asset(name='../x')\ndef bad(s03):\n    return s03\n"), 2, r"assets/bad\.py:7"
    ),
    "python_asset_name_absolute": Case(
        py("@asset(name='/tmp/x')\ndef bad(s03):\n    return s03\n"), 2, r"assets/bad\.py:7"
    ),
    "python_asset_name_unicode": Case(
        py("@asset()\ndef größe(s03):\n    return s03\n"), 2, r"assets/bad\.py:7"
    ),
    "python_asset_name_300_chars": Case(
        py(f"@asset()\ndef {LONG}(s03):\n    return s03\n"), 2, r"assets/bad\.py:7"
    ),
    # -- SQL assets ----------------------------------------------------------------------------
    "sql_syntax_error": Case(
        {"assets/bad.sql": "SELECT customer_id,\nFROM WHERE s03\n"}, 2, r"assets/bad\.sql:2"
    ),
    "sql_two_statements": Case({"assets/bad.sql": "SELECT 1 AS a;\nSELECT 2 AS b;\n"}, 2, r"assets/bad\.sql"),
    "sql_delete": Case({"assets/bad.sql": "DELETE FROM s03\n"}, 2, r"assets/bad\.sql:1"),
    "sql_create_table": Case(
        {"assets/bad.sql": "CREATE TABLE t AS SELECT * FROM s03\n"}, 2, r"assets/bad\.sql:1"
    ),
    "sql_copy_to_file": Case({"assets/bad.sql": "COPY s03 TO '/tmp/stolen.csv'\n"}, 2, r"assets/bad\.sql"),
    "sql_empty_file": Case({"assets/bad.sql": ""}, 2, r"assets/bad\.sql:1"),
    "sql_only_a_comment": Case({"assets/bad.sql": "-- TODO\n"}, 2, r"assets/bad\.sql:1"),
    "sql_not_utf8": Case(
        {"assets/bad.sql": b"SELECT 1 AS x\nFROM s03 WHERE customer_id = '\xff'\n"},
        2,
        r"assets/bad\.sql:2",
        also="UTF-8",
    ),
    "sql_unterminated_string": Case(
        {"assets/bad.sql": "SELECT 'abc AS x\nFROM s03\n"}, 2, r"assets/bad\.sql"
    ),
    "sql_existing_asset_broken": Case(
        {"assets/s03.sql": "SELECT customer_id\nFROM order_facts WHERE (\n"}, 2, r"assets/s03\.sql:2"
    ),
    "sql_nested_too_deeply": Case(
        {"assets/bad.sql": "SELECT " + "(" * 60 + "1" + ")" * 60 + " AS x\n"},
        2,
        r"assets/bad\.sql",
    ),
    "sql_unknown_column": Case(
        {"assets/bad.sql": "SELECT no_such_column FROM s03\n"}, 1, r"assets/bad\.sql", also="no_such_column"
    ),
    "sql_cast_fails_at_run_time": Case(
        {"assets/bad.sql": "SELECT CAST(customer_id AS INTEGER) AS x FROM s03\n"}, 1, r"assets/bad\.sql"
    ),
    "sql_existing_asset_fails_at_run_time": Case(
        {"assets/s05.sql": "SELECT nope FROM order_facts\n"}, 1, r"assets/s05\.sql"
    ),
    # -- Python assets -------------------------------------------------------------------------
    "python_syntax_error": Case(py("@asset()\ndef bad(s03):\n    return s03 +\n"), 2, r"assets/bad\.py:8"),
    "python_raises": Case(
        py("@asset()\ndef bad(s03):\n    raise ValueError('kaputt')\n"),
        1,
        r"assets/bad\.py:7",
        also="ValueError: kaputt",
    ),
    "python_returns_none": Case(
        py("@asset()\ndef bad(s03):\n    s03.head()\n"), 1, r"assets/bad\.py:7", also="None"
    ),
    "python_returns_a_dict": Case(
        py("@asset()\ndef bad(s03):\n    return {'a': [1]}\n"), 1, r"assets/bad\.py:7", also="dict"
    ),
    "python_returns_an_int": Case(py("@asset()\ndef bad(s03):\n    return 42\n"), 1, r"assets/bad\.py:7"),
    "python_returns_a_table_without_columns": Case(
        {
            **py("@asset()\ndef bad(s03):\n    return pl.DataFrame()\n"),
            "assets/bad_reader.sql": "SELECT * FROM bad\n",
        },
        1,
        r"assets/bad(\.py:7|_reader\.sql)",
    ),
    "python_lazy_plan_fails": Case(
        py("@asset()\ndef bad(s03: pl.LazyFrame) -> pl.LazyFrame:\n    return s03.select(pl.col('nope'))\n"),
        1,
        r"assets/bad\.py:7",
    ),
    "python_non_literal_decorator_arg": Case(
        py(
            "def describe():\n    return 'x'\n\n\n@asset(description=describe())\ndef bad(s03):\n    return s03\n"
        ),
        2,
        r"assets/bad\.py:10",
    ),
    "python_positional_decorator_arg": Case(
        py("@asset('bad')\ndef bad(s03):\n    return s03\n"), 2, r"assets/bad\.py:6"
    ),
    "python_unknown_decorator_arg": Case(
        py("@asset(retires=2)\ndef bad(s03):\n    return s03\n"),
        2,
        r"assets/bad\.py:6",
        also="did you mean 'retries'",
    ),
    "python_retries_not_a_number": Case(
        py("@asset(retries='two')\ndef bad(s03):\n    return s03\n"), 2, r"assets/bad\.py:7"
    ),
    "python_not_utf8": Case(
        {"assets/bad.py": b"from assetbuild import asset\n# caf\xe9\n"}, 2, r"assets/bad\.py:2", also="UTF-8"
    ),
    "python_null_byte": Case(
        {"assets/bad.py": b"from assetbuild import asset\n\x00\n"}, 2, r"assets/bad\.py"
    ),
    "python_import_fails": Case(
        py("import no_such_module_xyz\n\n\n@asset()\ndef bad(s03):\n    return s03\n"),
        1,
        r"assets/bad\.py",
        also="no_such_module_xyz",
    ),
    "python_module_raises_at_import": Case(
        py("1 / 0\n\n\n@asset()\ndef bad(s03):\n    return s03\n"), 1, r"assets/bad\.py"
    ),
    "python_asset_calls_sys_exit": Case(
        py("import sys\n\n\n@asset()\ndef bad(s03):\n    sys.exit(0)\n"),
        1,
        r"assets/bad\.py",
    ),
    "python_check_for_unknown_asset": Case(
        py("@check(asset='nope')\ndef c(df):\n    return True\n"), 2, r"assets/bad\.py:7"
    ),
    # -- data ----------------------------------------------------------------------------------
    "source_empty_file": Case({"data/customers.csv": ""}, 1, r"data/customers\.csv", also="empty"),
    "source_csv_malformed_rows": Case(
        {
            "data/customers.csv": "customer_id,country,segment\nc0001,DE,retail\nc0002,FR,smb,extra,fields\n"
            '"c0003,NL\n'
        },
        1,
        r"data/customers\.csv",
    ),
    "source_csv_not_utf8": Case(
        {"data/customers.csv": b"customer_id,country,segment\nc0001,D\xff\xfe,retail\n"},
        1,
        r"data/customers\.csv",
    ),
    "source_parquet_is_garbage": Case(
        {
            **toml("\n[sources.extra]\npath = 'data/extra.parquet'\n"),
            "data/extra.parquet": "not parquet\n",
            "assets/bad.sql": "SELECT * FROM extra\n",
        },
        1,
        r"data/extra\.parquet",
    ),
    "source_files_disagree_on_columns": Case(
        {"data/orders/2024-03.csv": "order_id,note\n1,hello\n"}, 1, r"data/orders/2024-0[123]\.csv"
    ),
    "source_schema_drift": Case(
        {
            "data/orders/2024-01.csv": "order_id,customer_id,day\n1,c0001,2024-01-01\n",
            "data/orders/2024-02.csv": "order_id,customer_id,day\n2,c0002,2024-02-01\n",
        },
        1,
        r"assets/core\.py:\d+",
        changed=frozenset({"orders"}),
        also="amount",
    ),
    # -- selection -----------------------------------------------------------------------------
    "selection_matches_nothing": Case({}, 2, r"nonexistent", args=("build", "nonexistent")),
    "selection_typo": Case({}, 2, r"did you mean 's03'", args=("build", "s3")),
    "selection_unknown_tag": Case({}, 2, r"tag:nope", args=("build", "tag:nope")),
    "selection_unknown_kind": Case({}, 2, r"kind:java", args=("build", "kind:java")),
    "selection_plus_only": Case({}, 2, r"\+", args=("build", "+")),
    "show_unknown_asset": Case({}, 2, r"did you mean 's03'", args=("show", "s3")),
}

# rule-file mistakes are project errors like any other
CASES.update(
    {
        "rules_yaml_syntax_error": Case(
            {"rules/bad.yaml": "asset: s03\ncolumns:\n  n: {min: 1\n"}, 2, r"rules/bad\.yaml:[34]"
        ),
        "rules_unknown_asset": Case(
            {"rules/bad.yaml": "asset: s3\ncolumns:\n  n: {min: 1}\n"},
            2,
            r"rules/bad\.yaml:1",
            also="did you mean 's03'",
        ),
        "rules_unknown_rule": Case(
            {"rules/bad.yaml": "asset: s03\ncolumns:\n  n: {minimum: 1}\n"}, 2, r"rules/bad\.yaml:3"
        ),
        "rules_not_utf8": Case({"rules/bad.yaml": b"asset: s03\n# caf\xe9\n"}, 2, r"rules/bad\.yaml"),
        "rules_impossible_date": Case(
            {"rules/bad.yaml": "asset: s03\ncolumns:\n  n: {min: 2024-13-45}\n"},
            2,
            r"rules/bad\.yaml:3",
        ),
        "rules_python_tag": Case(
            {"rules/bad.yaml": "asset: !!python/object/apply:os.getcwd []\n"}, 2, r"rules/bad\.yaml:1"
        ),
    }
)


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("bad-input") / "good"
    write_files(root, FILES)
    build_json(root)
    return root, current_hashes(root)


def _apply(root: Path, files: dict[str, str | bytes | None]) -> None:
    for rel, text in files.items():
        if text is DELETE:
            (root / rel).unlink()
        else:
            write_files(root, {rel: text})


def _restore(root: Path, files: dict[str, str | bytes | None]) -> None:
    for rel in files:
        if rel in FILES:
            write_files(root, {rel: FILES[rel]})
        else:
            (root / rel).unlink(missing_ok=True)


def test_there_are_at_least_forty_cases() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.xfail(reason=c.bug, strict=True)) if c.bug else n
        for n, c in CASES.items()
    ],
)
def test_bad_input(name: str, good: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    case = CASES[name]
    base, published = good
    root = shutil.copytree(base, tmp_path / "p")
    _apply(root, case.files)

    r = run_cli(root, *case.args)
    out = r.stdout + r.stderr
    assert "Traceback" not in out and "internal error" not in out, out
    assert r.returncode == case.code, f"exit {r.returncode}, want {case.code}:\n{out}"
    assert re.search(case.where, out), f"the message does not name {case.where!r}:\n{out}"
    if case.also:
        assert re.search(case.also, out), f"the message lacks {case.also!r}:\n{out}"

    assert integrity(root) == "ok"
    assert store_problems(root) == []
    now = current_hashes(root)
    kept = {a: h for a, h in published.items() if a not in case.changed}
    assert {a: now.get(a) for a in kept} == kept, "published data changed"

    # With the files put back, `show` reports the good build's data as current.
    _restore(root, case.files)
    s = run_cli(root, "show", "zz_all", "--format", "json")
    assert s.returncode == 0, s.stderr
    assert parse_json(s.stdout)["current"]["content_hash"] == published["zz_all"]
