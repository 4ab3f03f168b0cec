"""Every type an asset produces either round-trips faithfully (the stored table reads back with
the same type and bit-identical values) or is refused at that asset: failed, exit 1, with a
message naming the column and its type. One probe per type, for SQL and for Python assets."""

from __future__ import annotations

import datetime as dt
import decimal
from pathlib import Path

import polars as pl
import pytest

import assetbuild
from assetbuild.executor.content import content_hash

from ._support import errors, run, statuses

I64_MAX = 2**63 - 1

# name -> (SQL expression, the dtype and values it must arrive as)
SQL_ROUND_TRIPS: dict[str, tuple[str, pl.Series]] = {
    "boolean": ("true", pl.Series([True])),
    "tinyint": ("-5::TINYINT", pl.Series([-5], dtype=pl.Int8)),
    "utinyint": ("200::UTINYINT", pl.Series([200], dtype=pl.UInt8)),
    "ubigint_max": ("18446744073709551615::UBIGINT", pl.Series([2**64 - 1], dtype=pl.UInt64)),
    "hugeint_small": ("sum(x) FROM (VALUES (1), (2)) t(x)", pl.Series([3], dtype=pl.Int64)),
    "hugeint_30_digits": (
        "1000000000000000000000000000000::HUGEINT",
        pl.Series([decimal.Decimal(10**30)], dtype=pl.Decimal(38, 0)),
    ),
    "hugeint_min": (
        "(-170141183460469231731687303715884105727 - 1)::HUGEINT",
        pl.Series([-(2**127)], dtype=pl.Int128),
    ),
    "uhugeint_small": ("5::UHUGEINT", pl.Series([5], dtype=pl.Int64)),
    "uhugeint_max": (
        "340282366920938463463374607431768211455::UHUGEINT",
        pl.Series([2**128 - 1], dtype=pl.UInt128),
    ),
    "double_specials": (
        "unnest(['nan'::DOUBLE, 'inf'::DOUBLE, '-inf'::DOUBLE, -0.0::DOUBLE])",
        pl.Series([float("nan"), float("inf"), float("-inf"), -0.0]),
    ),
    "float": ("1.5::FLOAT", pl.Series([1.5], dtype=pl.Float32)),
    "decimal": ("1.25::DECIMAL(10,2)", pl.Series([decimal.Decimal("1.25")], dtype=pl.Decimal(10, 2))),
    "varchar": ("'héllo'", pl.Series(["héllo"])),
    "blob": ("'\\xAA\\x00'::BLOB", pl.Series([b"\xaa\x00"])),
    "json": ("'{\"a\": 1}'::JSON", pl.Series(['{"a": 1}'])),
    "uuid": (
        "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::UUID",
        pl.Series(["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"]),
    ),
    "date": ("DATE '2024-02-29'", pl.Series([dt.date(2024, 2, 29)])),
    "date_infinity": ("'infinity'::DATE", pl.Series([2**31 - 1], dtype=pl.Int32).cast(pl.Date)),
    "timestamp": (
        "TIMESTAMP '2024-01-01 12:00:00.123456'",
        pl.Series([dt.datetime(2024, 1, 1, 12, 0, 0, 123456)]),
    ),
    "timestamp_infinity": (
        "unnest(['infinity'::TIMESTAMP, '-infinity'::TIMESTAMP])",
        pl.Series([I64_MAX, -I64_MAX], dtype=pl.Int64).cast(pl.Datetime("us")),
    ),
    "timestamp_s": (
        "TIMESTAMP_S '2024-01-01 00:00:01'",
        pl.Series([dt.datetime(2024, 1, 1, 0, 0, 1)], dtype=pl.Datetime("ms")),
    ),
    "timestamp_ns": (
        "TIMESTAMP_NS '2024-01-01 00:00:00.123456789'",
        pl.Series([1704067200123456789], dtype=pl.Int64).cast(pl.Datetime("ns")),
    ),
    "timestamptz": (
        "TIMESTAMPTZ '2024-01-01 00:00:00+00'",
        pl.Series([dt.datetime(2024, 1, 1)], dtype=pl.Datetime("us")).dt.replace_time_zone("UTC"),
    ),
    "time": ("TIME '12:34:56.789'", pl.Series([dt.time(12, 34, 56, 789000)])),
    "interval": (
        "INTERVAL 3 DAY + INTERVAL 5 MICROSECOND",
        pl.Series([dt.timedelta(days=3, microseconds=5)], dtype=pl.Duration("us")),
    ),
    # DuckDB keeps microseconds; Arrow's nanoseconds would wrap past 292 years
    "interval_beyond_292_years": (
        "to_microseconds(10000000000000000)",
        pl.Series([10**16], dtype=pl.Int64).cast(pl.Duration("us")),
    ),
    "interval_diff": (
        "TIMESTAMP '2024-01-02' - TIMESTAMP '2024-01-01 12:00'",
        pl.Series([dt.timedelta(hours=12)], dtype=pl.Duration("us")),
    ),
    "enum": ("'b'::ENUM('a', 'b')", pl.Series(["b"], dtype=pl.Enum(["a", "b"]))),
    "enum_in_list": (
        "['b'::ENUM('a', 'b'), NULL]",
        pl.Series([["b", None]], dtype=pl.List(pl.Enum(["a", "b"]))),
    ),
    "enum_in_struct": (
        "{'e': 'b'::ENUM('a', 'b'), 'n': 1}",
        pl.Series([{"e": "b", "n": 1}], dtype=pl.Struct({"e": pl.Enum(["a", "b"]), "n": pl.Int32})),
    ),
    "list": ("[1, NULL, 3]", pl.Series([[1, None, 3]], dtype=pl.List(pl.Int32))),
    "array": ("[1, 2]::INTEGER[2]", pl.Series([[1, 2]], dtype=pl.Array(pl.Int32, 2))),
    "struct": (
        "{'a': 1, 'b': 'x'}",
        pl.Series([{"a": 1, "b": "x"}], dtype=pl.Struct({"a": pl.Int32, "b": pl.String})),
    ),
    "map": ("MAP {'k': 1}", pl.Series([{"k": 1}], dtype=pl.Map(pl.String, pl.Int32))),
    "null": ("NULL", pl.Series([None], dtype=pl.Null)),
}

# name -> (SQL expression, what the message must name besides the column)
SQL_REFUSED: dict[str, tuple[str, str]] = {
    "interval_months": ("INTERVAL 1 MONTH", "INTERVAL"),
    "interval_beyond_a_duration": ("to_days(200000000)", "beyond a duration's range"),
    "union": ("union_value(a := 1)::UNION(a INTEGER, b VARCHAR)", "UNION"),
    "varint": ("123456789012345678901234567890::VARINT", "BIGNUM"),
    "bit": ("'0101'::BIT", "BIT"),
    "timetz": ("TIMETZ '12:34:56+02'", "TIME WITH TIME ZONE"),
    "variant": ("1::VARIANT", "VARIANT"),
    "geometry": ("'POINT(1 2)'::GEOMETRY", "GEOMETRY"),
    "interval_in_list": ("[INTERVAL 1 DAY]", "INTERVAL[]"),
    "uhugeint_in_struct": ("{'a': 1::UHUGEINT}", "STRUCT(a UHUGEINT)"),
}


def _sql_for(expr: str) -> str:
    if " FROM " in expr:
        head, _, rest = expr.partition(" FROM ")
        return f"SELECT {head} AS v FROM {rest}\n"
    return f"SELECT {expr} AS v\n"


@pytest.fixture(scope="module")
def sql_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], dict[str, str]]:
    root = tmp_path_factory.mktemp("types") / "sql"
    (root / "assets").mkdir(parents=True)
    (root / "assetbuild.toml").write_text('[project]\nname = "types"\n')
    for name, (expr, _) in {**SQL_ROUND_TRIPS, **SQL_REFUSED}.items():
        (root / "assets" / f"t_{name}.sql").write_text(_sql_for(expr))
    result = run(root, jobs=2)
    return root, statuses(result), errors(result)


def _same(got: pl.Series, want: pl.Series) -> None:
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert content_hash(got.to_frame("v"), ordered=True) == content_hash(want.to_frame("v"), ordered=True), (
        got.to_physical().to_list() if got.dtype != pl.Null else None,
        want.to_physical().to_list() if want.dtype != pl.Null else None,
    )


@pytest.mark.parametrize("name", sorted(SQL_ROUND_TRIPS))
def test_sql_type_round_trips(sql_project, name):
    root, status, error = sql_project
    assert status[f"t_{name}"] == "built", error.get(f"t_{name}")
    want = SQL_ROUND_TRIPS[name][1]
    _same(assetbuild.read(f"t_{name}", project=root).get_column("v"), want)


@pytest.mark.parametrize("name", sorted(SQL_REFUSED))
def test_sql_type_is_refused_naming_column_and_type(sql_project, name):
    _, status, error = sql_project
    assert status[f"t_{name}"] == "failed"
    message = error[f"t_{name}"]
    assert "column 'v'" in message and SQL_REFUSED[name][1] in message, message
    assert "internal error" not in message.lower()


PY_VALUES = """\
import datetime as dt
import decimal

import polars as pl

VALUES = {
    "int128": pl.Series([-(2**127), 2**100, None], dtype=pl.Int128),
    "uint128": pl.Series([2**128 - 1, 0, None], dtype=pl.UInt128),
    "float16": pl.Series([1.5, -0.0, None], dtype=pl.Float16),
    "float_specials": pl.Series([float("nan"), -0.0, float("-inf"), None]),
    "duration_us": pl.Series([dt.timedelta(days=1, microseconds=3), None]),
    "duration_ns": pl.Series([1, -2, None], dtype=pl.Duration("ns")),
    "datetime_tz": pl.Series([dt.datetime(2024, 3, 31, 1, 30), None], dtype=pl.Datetime("ns")).dt.replace_time_zone("Europe/Berlin"),
    "time": pl.Series([dt.time(1, 2, 3, 4), None]),
    "date": pl.Series([dt.date(1, 1, 1), dt.date(9999, 12, 31), None]),
    "decimal": pl.Series([decimal.Decimal("-1.005"), None], dtype=pl.Decimal(20, 3)),
    "enum": pl.Series(["b", "a", None], dtype=pl.Enum(["b", "a"])),
    "categorical": pl.Series(["x", None, "y"], dtype=pl.Categorical),
    "binary": pl.Series([b"\\x00\\xff", b"", None]),
    "string": pl.Series(["", None, "\\u00e9\\U0001f600"]),
    "null": pl.Series([None, None], dtype=pl.Null),
    "list_of_structs": pl.Series([[{"a": 1.0, "b": None}], [], None]),
    "array_2d": pl.Series([[[1, 2], [3, 4]], None], dtype=pl.Array(pl.Int16, (2, 2))),
    "map": pl.Series([[{"key": "k", "value": 1}], None]).cast(pl.Map(pl.String, pl.Int64)),
    "struct_nested": pl.Series([{"l": [1.5, None], "s": {"t": "x"}}, None]),
    "boolean": pl.Series([True, False, None]),
}
"""

PY_REFUSED = """\
    "object": pl.Series([object()], dtype=pl.Object),
    "int128_in_list": pl.Series([[1]], dtype=pl.List(pl.Int128)),
"""


def _py_files() -> dict[str, str]:
    values = PY_VALUES.replace("}\n", PY_REFUSED + "}\n")
    funcs = "".join(
        f'\n\n@asset\ndef p_{n}() -> pl.DataFrame:\n    return pl.DataFrame({{"v": VALUES["{n}"]}})\n'
        for n in _py_names(values)
    )
    return {
        "assetbuild.toml": '[project]\nname = "pytypes"\n',
        "assets/typevalues.py": values,
        "assets/make.py": "import polars as pl\n\nfrom assetbuild import asset\nfrom typevalues import VALUES\n"
        + funcs,
    }


def _py_names(values_source: str) -> list[str]:
    namespace: dict[str, object] = {}
    exec(values_source, namespace)
    values = namespace["VALUES"]
    assert isinstance(values, dict)
    return list(values)


@pytest.fixture(scope="module")
def py_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], dict[str, str], dict]:
    root = tmp_path_factory.mktemp("types") / "py"
    for rel, text in _py_files().items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    result = run(root, jobs=2)
    namespace: dict[str, object] = {}
    exec(PY_VALUES, namespace)
    return root, statuses(result), errors(result), namespace["VALUES"]  # type: ignore[return-value]


@pytest.mark.parametrize("name", _py_names(PY_VALUES))
def test_python_type_round_trips(py_project, name):
    root, status, error, values = py_project
    assert status[f"p_{name}"] == "built", error.get(f"p_{name}")
    _same(assetbuild.read(f"p_{name}", project=root).get_column("v"), values[name])


@pytest.mark.parametrize(("name", "type_text"), [("object", "Object"), ("int128_in_list", "List(Int128)")])
def test_python_type_is_refused_naming_column_and_type(py_project, name, type_text):
    _, status, error, _ = py_project
    assert status[f"p_{name}"] == "failed"
    assert "column 'v'" in error[f"p_{name}"] and type_text in error[f"p_{name}"], error[f"p_{name}"]


def test_a_refused_type_fails_the_build_with_exit_1(make_project, run_cli):
    root = make_project(
        {"assetbuild.toml": '[project]\nname = "x"\n', "assets/u.sql": _sql_for(SQL_REFUSED["union"][0])}
    )
    r = run_cli(root, "build")
    assert r.code == 1, r
    assert "column 'v'" in r.stderr + r.stdout and "UNION" in r.stderr + r.stdout, r
    assert "internal error" not in (r.stderr + r.stdout).lower()


# `big` holds a value beyond 38 digits: a HUGEINT result that fits DECIMAL(38,0) is stored as one
# (see `_narrow` in executor/sql.py and `int128_30_digits` below), one that does not as Int128
DURATION_UPSTREAM = (
    "import datetime as dt\n\nimport polars as pl\n\nfrom assetbuild import asset\n\n\n@asset\n"
    "def up() -> pl.DataFrame:\n"
    '    return pl.DataFrame({"d": [dt.timedelta(seconds=90), None],\n'
    '                         "a": pl.Series([[1, 2], None], dtype=pl.Array(pl.Int64, 2)),\n'
    '                         "big": pl.Series([2**100, -(2**127)], dtype=pl.Int128),\n'
    '                         "e": pl.Series(["y", "x"], dtype=pl.Enum(["y", "x"]))})\n'
)


def test_select_star_keeps_the_types_of_a_python_upstream(make_project):
    root = make_project(
        {
            "assetbuild.toml": '[project]\nname = "x"\n',
            "assets/up.py": DURATION_UPSTREAM,
            "assets/down.sql": "SELECT * FROM up\n",
        }
    )
    result = run(root)
    assert result.ok, errors(result)
    assert assetbuild.read("down", project=root).schema == assetbuild.read("up", project=root).schema
    assert assetbuild.read("down", project=root).equals(assetbuild.read("up", project=root))


# -- what a SQL asset sees of its inputs -----------------------------------------------------
#
# A SQL asset reads each input as DuckDB sees the stored object. Parquet alone cannot say that an
# Int64 column is a Duration, a list an Array, a 16-byte blob an Int128 or a string an Enum: each
# input type must reach SQL as the DuckDB type that holds exactly its values (checked with
# `typeof`), and `SELECT *` must give back exactly its values — in the same type, or in the type
# the SQL side documents for it (a Duration as microseconds, a HUGEINT narrowed by its values, a
# zone as UTC) — or the asset is refused naming the column.

# name -> (the Python values, DuckDB's type for them, the `SELECT *` result from the input `v`
# (None: unchanged), or what the refusal names)
SQL_INPUTS: dict[str, tuple[str, str, str | None]] = {
    "duration_us": (
        "pl.Series([dt.timedelta(days=1, microseconds=3), dt.timedelta(0), -dt.timedelta(seconds=1), None])",
        "INTERVAL",
        None,
    ),
    "duration_ms": (
        "pl.Series([1, -2, 86_400_000, None], dtype=pl.Duration('ms'))",
        "INTERVAL",
        "v.cast(pl.Duration('us'))",
    ),
    "duration_extremes": (
        "pl.Series([2**63 - 1, -(2**63 - 1), None], dtype=pl.Duration('us'))",
        "INTERVAL",
        None,
    ),
    "duration_ms_beyond_us": (
        "pl.Series([2**62, None], dtype=pl.Duration('ms'))",
        "INTERVAL",
        "!Duration(ms)",
    ),
    "duration_ns_whole_us": (
        "pl.Series([1000, -2000, None], dtype=pl.Duration('ns'))",
        "INTERVAL",
        "v.cast(pl.Duration('us'))",
    ),
    "duration_ns_finer": ("pl.Series([1, -2, None], dtype=pl.Duration('ns'))", "INTERVAL", "!Duration(ns)"),
    "datetime_ms": (
        "pl.Series([dt.datetime(2024, 1, 1, 0, 0, 0, 123000), None], dtype=pl.Datetime('ms'))",
        "TIMESTAMP_MS",
        None,
    ),
    "datetime_ns": ("pl.Series([1704067200123456789, None], dtype=pl.Datetime('ns'))", "TIMESTAMP_NS", None),
    "datetime_berlin": (
        "pl.Series([dt.datetime(2024, 3, 31, 1, 30), None]).dt.replace_time_zone('Europe/Berlin')",
        "TIMESTAMP WITH TIME ZONE",
        "v.dt.convert_time_zone('UTC')",
    ),
    "time": ("pl.Series([dt.time(1, 2, 3, 4), None])", "TIME_NS", None),
    "decimal": (
        "pl.Series([decimal.Decimal('-1.005'), None], dtype=pl.Decimal(20, 3))",
        "DECIMAL(20,3)",
        None,
    ),
    "enum": ("pl.Series(['b', 'a', None], dtype=pl.Enum(['b', 'a']))", "ENUM('b', 'a')", None),
    "categorical": ("pl.Series(['x', None, 'y'], dtype=pl.Categorical)", "VARCHAR", "v.cast(pl.String)"),
    "array": ("pl.Series([[1, 2], None], dtype=pl.Array(pl.Int64, 2))", "BIGINT[2]", None),
    "array_2x3": (
        "pl.Series([[[1, 2, 3], [4, 5, 6]], None], dtype=pl.Array(pl.Int16, (2, 3)))",
        "SMALLINT[3][2]",
        None,
    ),
    "list_of_arrays": (
        "pl.Series([[[1, 2]], [], None], dtype=pl.List(pl.Array(pl.Int8, 2)))",
        "TINYINT[2][]",
        None,
    ),
    "list_of_enums": (
        "pl.Series([['y', None], None], dtype=pl.List(pl.Enum(['y', 'x'])))",
        "ENUM('y', 'x')[]",
        None,
    ),
    "list_of_durations": ("pl.Series([[dt.timedelta(seconds=1)], None])", "INTERVAL[]", "!INTERVAL[]"),
    "struct_with_duration": (
        "pl.Series([{'a': dt.timedelta(seconds=1), 'b': 2}, None])",
        "STRUCT(a INTERVAL, b BIGINT)",
        "!STRUCT(a INTERVAL",
    ),
    "struct_with_array": (
        "pl.Series([{'a': [1, 2], 'b': 'x'}, None], dtype=pl.Struct({'a': pl.Array(pl.Int32, 2), 'b': pl.String}))",
        "STRUCT(a INTEGER[2], b VARCHAR)",
        None,
    ),
    "map_of_arrays": (
        "pl.Series([[{'key': 'k', 'value': [1, 2]}], None]).cast(pl.Map(pl.String, pl.Array(pl.Int64, 2)))",
        "MAP(VARCHAR, BIGINT[2])",
        None,
    ),
    "uint8": ("pl.Series([0, 255, None], dtype=pl.UInt8)", "UTINYINT", None),
    "uint16": ("pl.Series([0, 65535, None], dtype=pl.UInt16)", "USMALLINT", None),
    "uint32": ("pl.Series([0, 2**32 - 1, None], dtype=pl.UInt32)", "UINTEGER", None),
    "uint64": ("pl.Series([0, 2**64 - 1, None], dtype=pl.UInt64)", "UBIGINT", None),
    "int128_extremes": ("pl.Series([-(2**127), 2**127 - 1, -1, 0, None], dtype=pl.Int128)", "HUGEINT", None),
    "int128_30_digits": (
        "pl.Series([10**30, -(10**30), None], dtype=pl.Int128)",
        "HUGEINT",
        "v.cast(pl.Decimal(38, 0))",
    ),
    "int128_small": ("pl.Series([1, -2, None], dtype=pl.Int128)", "HUGEINT", "v.cast(pl.Int64)"),
    "uint128_max": ("pl.Series([2**128 - 1, 0, None], dtype=pl.UInt128)", "UHUGEINT", None),
    "float16": ("pl.Series([1.5, -0.0, None], dtype=pl.Float16)", "FLOAT", "v.cast(pl.Float32)"),
    "null": ("pl.Series([None, None], dtype=pl.Null)", '"NULL"', None),
    "binary": ("pl.Series([b'\\x00\\xff', b'', None])", "BLOB", None),
    "struct_nested": (
        "pl.Series([{'l': [1.5, None], 's': {'t': 'x'}}, None])",
        "STRUCT(l DOUBLE[], s STRUCT(t VARCHAR))",
        None,
    ),
}


def _sql_input_files() -> dict[str, str]:
    values = "VALUES = {\n" + "".join(f"    {n!r}: {v},\n" for n, (v, _, _) in SQL_INPUTS.items()) + "}\n"
    funcs = "".join(
        f'\n\n@asset\ndef p_{n}() -> pl.DataFrame:\n    return pl.DataFrame({{"v": VALUES["{n}"]}})\n'
        for n in SQL_INPUTS
    )
    files = {
        "assetbuild.toml": '[project]\nname = "sqlinputs"\n',
        "assets/make.py": "import datetime as dt\nimport decimal\n\nimport polars as pl\n\n"
        "from assetbuild import asset\n\n" + values + funcs,
        "assets/enum_min.sql": "SELECT min(v) AS v FROM p_enum\n",  # by category order: 'b'
        "assets/few_columns.sql": "SELECT count(*) AS n FROM p_duration_ns_finer\n",  # never reads v
    }
    for n in SQL_INPUTS:
        files[f"assets/s_{n}.sql"] = f"SELECT * FROM p_{n}\n"
        files[f"assets/t_{n}.sql"] = f"SELECT DISTINCT typeof(v) AS t FROM p_{n}\n"
    return files


@pytest.fixture(scope="module")
def sql_inputs_project(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, dict[str, str], dict[str, str]]:
    root = tmp_path_factory.mktemp("types") / "sql_inputs"
    for rel, text in _sql_input_files().items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    result = run(root, jobs=2)
    return root, statuses(result), errors(result)


def _input_values(name: str) -> pl.Series:
    namespace: dict[str, object] = {"pl": pl, "dt": dt, "decimal": decimal}
    return eval(SQL_INPUTS[name][0], namespace)  # noqa: S307 - the test's own literals


@pytest.mark.parametrize("name", sorted(SQL_INPUTS))
def test_sql_sees_each_input_in_its_faithful_type(sql_inputs_project, name):
    root, status, error = sql_inputs_project
    assert status[f"p_{name}"] == "built", error.get(f"p_{name}")
    assert status[f"t_{name}"] == "built", error.get(f"t_{name}")
    assert assetbuild.read(f"t_{name}", project=root).get_column("t").to_list() == [SQL_INPUTS[name][1]]


@pytest.mark.parametrize("name", sorted(SQL_INPUTS))
def test_select_star_gives_back_each_input_exactly_or_refuses_it(sql_inputs_project, name):
    root, status, error = sql_inputs_project
    expected = SQL_INPUTS[name][2]
    if expected is not None and expected.startswith("!"):
        assert status[f"s_{name}"] == "failed", status[f"s_{name}"]
        message = error[f"s_{name}"]
        assert "'v'" in message and expected[1:] in message, message
        assert "internal error" not in message.lower() and "Traceback" not in message
        return
    assert status[f"s_{name}"] == "built", error.get(f"s_{name}")
    v = _input_values(name)
    want = v if expected is None else eval(expected, {"pl": pl, "v": v})  # noqa: S307
    _same(assetbuild.read(f"s_{name}", project=root).get_column("v"), want)


def test_an_enum_input_compares_by_its_categories(sql_inputs_project):
    root, status, error = sql_inputs_project
    assert status["enum_min"] == "built", error.get("enum_min")
    assert assetbuild.read("enum_min", project=root).get_column("v").to_list() == ["b"]  # 'b' < 'a'


def test_a_column_no_faithful_type_holds_fails_only_where_it_is_read(sql_inputs_project):
    root, status, error = sql_inputs_project
    assert status["few_columns"] == "built", error.get("few_columns")
    message = error["s_duration_ns_finer"]
    assert "input 'p_duration_ns_finer'" in message and "microsecond" in message, message
    message = error["s_duration_ms_beyond_us"]
    assert "input 'p_duration_ms_beyond_us'" in message and "4611686018427387904 ms" in message, message


@pytest.mark.parametrize(
    ("name", "dtype"),
    [
        ("duration_us", pl.Duration("us")),
        ("array", pl.Array(pl.Int64, 2)),
        ("enum", pl.Enum(["b", "a"])),
        ("int128_extremes", pl.Int128),
        ("datetime_ms", pl.Datetime("ms")),
    ],
)
def test_query_sees_the_assets_as_sql_assets_do(sql_inputs_project, name, dtype):
    from assetbuild.run.read import query

    root, status, error = sql_inputs_project
    got = query(root, f"SELECT v FROM p_{name}").get_column("v")
    assert got.dtype == dtype
    _same(got, _input_values(name))


def test_query_of_an_interval_prints_it(make_project, run_cli):
    root = make_project({"assetbuild.toml": '[project]\nname = "x"\n', "assets/a.sql": "SELECT 1 AS x\n"})
    assert run_cli(root, "build").code == 0
    r = run_cli(root, "query", "SELECT INTERVAL 36 HOUR AS d", "--format", "json")
    assert r.code == 0, r
    assert r.json["rows"] == [["1 day, 12:00:00"]]
    r = run_cli(root, "query", "SELECT INTERVAL 1 MONTH AS d")
    assert r.code == 2 and "column 'd'" in r.stderr and "months" in r.stderr, r
