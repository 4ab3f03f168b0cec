"""Sources never coerce silently (executor/source.py).

A CSV row with a missing field, a blank line, a value the inferred type cannot hold, and files of
one source whose schemas drift are each an error naming the file (and the line, or the column and
both types), unless the user opts into a named, lossless behaviour: `missing_fields = "null"`,
`widen = true`, or a type of their own (`schema_overrides`, `infer_schema = false`, ...).
Every test writes real files (CSV text, Parquet written by pyarrow) into a real project.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
from decimal import Decimal
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assetbuild.definitions.loader import load_project
from assetbuild.errors import AssetFailure, ProjectError
from assetbuild.executor.source import read_source
from assetbuild.sources.probe import observe

from .projects import by_name, run


def _toml(path: str, options: str = "") -> str:
    extra = f"options = {{{options}}}\n" if options else ""
    return f'[project]\nname = "types"\n\n[sources.raw]\npath = "{path}"\n{extra}'


def _parquet(**columns: pa.Array) -> bytes:
    return _table_bytes(pa.table(columns))


def _table_bytes(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def _read(root: Path) -> pl.DataFrame:
    """The source's table as a build reads it (raises AssetFailure as a build fails it)."""
    project = load_project(root)
    files = observe(project, ["raw"])["raw"].files
    return read_source(project.root, project.assets["raw"], files)


def _failure(root: Path) -> str:
    """The message of the source's failure in a real build (and that nothing downstream ran)."""
    result = run(root)
    raw = by_name(result)["raw"]
    assert raw.status.value == "failed", f"read without complaint: {raw.schema}"
    assert raw.error and raw.reason == raw.error.splitlines()[0][:300]
    return raw.error


# -- 1. a CSV row with a missing field -----------------------------------------------------------


def test_a_csv_row_missing_a_field_fails_naming_the_file_and_the_line(make_project):
    root = make_project(
        {
            "assetbuild.toml": _toml("data/raw.csv"),
            "data/raw.csv": "id,user_id,amount\n1,u1,5\n2,u2\n3,u3,7\n",
        }
    )
    error = _failure(root)
    first = error.splitlines()[0]
    assert first.startswith("data/raw.csv: line 3 has 2 fields but the header has 3"), error
    assert "amount" in first  # what is missing
    assert 'missing_fields = "null"' in error  # and how to opt in


def test_the_line_is_counted_in_the_file_not_in_rows(make_project):
    """A quoted field spanning lines, CRLF line ends and a header: the number is the file's line."""
    text = 'id,note,amount\r\n1,"two\r\nlines",5\r\n2,"a, b",6\r\n3,x\r\n4,y,8\r\n'
    root = make_project({"assetbuild.toml": _toml("data/raw.csv"), "data/raw.csv": text})
    assert _failure(root).startswith("data/raw.csv: line 5 has 2 fields but the header has 3")


def test_every_short_row_is_counted(make_project):
    rows = "".join(f"{i},u{i},{i}\n" if i % 10 else f"{i},u{i}\n" for i in range(1, 60))
    root = make_project(
        {"assetbuild.toml": _toml("data/raw.csv"), "data/raw.csv": "id,user_id,amount\n" + rows}
    )
    error = _failure(root)
    assert error.startswith("data/raw.csv: line 11 has 2 fields"), error
    assert "5 rows have missing fields" in error, error


@pytest.mark.parametrize(
    ("text", "line"), [("id,amount\n1,5\n\n2,6\n", 3), ("id,amount\n1,5\n2,6\n\n", 4)], ids=["middle", "end"]
)
def test_a_blank_line_is_not_read_as_a_row_of_nulls(make_project, text, line):
    root = make_project({"assetbuild.toml": _toml("data/raw.csv"), "data/raw.csv": text})
    error = _failure(root)
    assert error.startswith(f"data/raw.csv: line {line} is blank but the header has 2 fields"), error


def test_missing_fields_null_opts_into_nulls(make_project):
    root = make_project(
        {
            "assetbuild.toml": _toml("data/raw.csv", 'missing_fields = "null"'),
            "data/raw.csv": "id,user_id,amount\n1,u1,5\n2,u2\n3,u3,7\n",
        }
    )
    assert _read(root).to_dicts()[1] == {"id": 2, "user_id": "u2", "amount": None}
    assert by_name(run(root))["raw"].rows == 3


WELL_FORMED = {
    # name: (csv text, options, expected rows)
    "empty_last_field": ("a,b,c\n1,2,\n3,4,5\n", "", 2),
    "empty_quoted_last_field": ('a,b,c\n1,2,""\n', "", 1),
    "all_fields_empty": ("a,b,c\n,,\n", "", 1),
    "quoted_newline_and_separator": ('a,b\n1,"x\ny, z"\n2,w\n', "", 2),
    "crlf": ("a,b\r\n1,\r\n2,3\r\n", "", 2),
    "no_final_newline": ("a,b\n1,\n2,3", "", 2),
    "single_column_with_empty_values": ("a\n1\n\n2\n", "", 3),
    "header_only": ("a,b,c\n", "", 0),
    "semicolons": ("a;b\n1;\n2;3\n", 'separator = ";"', 2),
    "comment_lines": ("# exported\na,b\n# note\n1,\n2,3\n", 'comment_prefix = "#"', 2),
    "no_header": ("1,2,\n3,4,5\n", "has_header = false", 2),
    "skip_rows": ("junk line\na,b\n1,\n", "skip_rows = 1", 1),
}


@pytest.mark.parametrize("name", WELL_FORMED)
def test_well_formed_csv_passes_the_field_check(make_project, name):
    """The check must not cry wolf: empty fields, quoting, CRLF and reader options are not missing fields."""
    text, options, rows = WELL_FORMED[name]
    root = make_project({"assetbuild.toml": _toml("data/raw.csv", options), "data/raw.csv": text})
    assert _read(root).height == rows


def test_a_tsv_row_missing_a_field_fails_too(make_project):
    root = make_project({"assetbuild.toml": _toml("data/raw.tsv"), "data/raw.tsv": "a\tb\tc\n1\t2\t\n3\t4\n"})
    assert _failure(root).startswith("data/raw.tsv: line 3 has 2 fields but the header has 3")


def test_a_row_with_too_many_fields_names_the_line(make_project):
    root = make_project({"assetbuild.toml": _toml("data/raw.csv"), "data/raw.csv": "a,b\n1,2\n3,4\n5,6,7\n"})
    error = _failure(root)
    assert error.startswith("data/raw.csv: line 4 has 3 fields but the header has 2"), error
    assert "truncate_ragged_lines" in error


@pytest.mark.parametrize(
    "options", ["empty_string_is_null = false", "columns = ['a']", 'null_values = ["x"]']
)
def test_reader_options_do_not_hide_a_short_row(make_project, options):
    """Options under which the table cannot show a missing field (it reads as "", or is not read)."""
    root = make_project(
        {"assetbuild.toml": _toml("data/raw.csv", options), "data/raw.csv": "a,b\n1,x\n2\n3,y\n"}
    )
    assert _failure(root).startswith("data/raw.csv: line 3 has 1 field but the header has 2 (no value for b)")


def test_truncating_long_rows_does_not_excuse_short_ones(make_project):
    options = "truncate_ragged_lines = true"
    long_rows = make_project(
        {"assetbuild.toml": _toml("data/raw.csv", options), "data/raw.csv": "a,b,c\n1,2,\n3,4,5,6,\n7,,,\n"}
    )
    assert _read(long_rows).rows() == [(1, 2, None), (3, 4, 5), (7, None, None)]
    short = make_project(
        {"assetbuild.toml": _toml("data/raw.csv", options), "data/raw.csv": "a,b,c\n1,2,3,4\n5,6\n"},
        name="short",
    )
    assert _failure(short).startswith("data/raw.csv: line 3 has 2 fields but the header has 3")


def test_an_unclosed_quote_names_its_line(make_project):
    text = 'id,note\n1,a\n2,"b, and the rest\n3,c\n'
    root = make_project({"assetbuild.toml": _toml("data/raw.csv"), "data/raw.csv": text})
    assert _failure(root).startswith(
        "data/raw.csv: line 3: the quoted field '\"b, and the rest' is never closed"
    )


FIELDS = st.sampled_from(["", "x", "1", "a,b", 'q"q', "two\nlines", " sp ", "-", "1.5", '""'])


_EXAMPLES = itertools.count()


@settings(
    max_examples=100,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    width=st.integers(2, 5),
    rows=st.lists(st.lists(FIELDS, min_size=5, max_size=5), max_size=25),
    short=st.none() | st.tuples(st.integers(0, 24), st.integers(0, 4)),
    crlf=st.booleans(),
)
def test_the_field_check_finds_exactly_the_short_rows(make_project, width, rows, short, crlf):
    """Random CSV written by Python's csv module: with no short row it reads; one short row (or a
    blank line), anywhere, is named by its line."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n" if crlf else "\n")
    writer.writerow([f"c{i}" for i in range(width)])
    line, short_line = 2, None
    for i, fields in enumerate(rows):
        record = fields[:width]
        if short is not None and i == short[0] % max(len(rows), 1):
            record, short_line = record[: min(short[1], width - 1)], line
        start = buf.tell()
        writer.writerow(record)
        line += buf.getvalue()[start:].count("\n")
    root = make_project(
        {"assetbuild.toml": _toml("data/raw.csv"), "data/raw.csv": buf.getvalue().encode()},
        name=f"fuzz{next(_EXAMPLES)}",
    )
    if short_line is None:
        assert _read(root).height == len(rows)
    else:
        with pytest.raises(AssetFailure) as e:
            _read(root)
        assert str(e.value).startswith(f"data/raw.csv: line {short_line} "), (str(e.value), buf.getvalue())


# -- 2. schema drift across the files of one source ---------------------------------------------


def _two_files(make_project, a: bytes, b: bytes, options: str = "", ext: str = "parquet") -> Path:
    return make_project(
        {
            "assetbuild.toml": _toml(f"data/parts/*.{ext}", options),
            f"data/parts/a.{ext}": a,
            f"data/parts/b.{ext}": b,
        }
    )


def test_int_in_one_file_and_string_in_another_fails(make_project):
    root = _two_files(
        make_project,
        _parquet(id=pa.array([1, 2], pa.int64())),
        _parquet(id=pa.array(["3", "x"], pa.string())),
    )
    error = _failure(root)
    assert error.startswith("data/parts/b.parquet: column id is String but data/parts/a.parquet has Int64"), (
        error
    )


@pytest.mark.parametrize("options", ["", "widen = true"])
def test_decimal_money_and_float_money_fail_even_with_widen(make_project, options):
    money = pa.array([Decimal("10.01"), Decimal("0.10")], pa.decimal128(38, 2))
    root = _two_files(
        make_project, _parquet(amount=money), _parquet(amount=pa.array([0.1, 0.2], pa.float64())), options
    )
    error = _failure(root)
    assert error.startswith(
        "data/parts/b.parquet: column amount is Float64 but data/parts/a.parquet has Decimal(38,2)"
    ), error


@pytest.mark.parametrize("options", ["", "widen = true"])
def test_int64_ids_and_float64_ids_fail_even_with_widen(make_project, options):
    big = 2**53 + 1
    root = _two_files(
        make_project,
        _parquet(id=pa.array([big, big + 2], pa.int64())),
        _parquet(id=pa.array([1.0, 2.0], pa.float64())),
        options,
    )
    assert _failure(root).startswith(
        "data/parts/b.parquet: column id is Float64 but data/parts/a.parquet has Int64"
    )


def test_widen_reads_narrower_types_into_wider_ones_exactly(make_project):
    a = _parquet(id=pa.array([2**31 - 1, -(2**31)], pa.int32()), x=pa.array([0.1, 1e38], pa.float32()))
    b = _parquet(id=pa.array([2**53 + 1, -1], pa.int64()), x=pa.array([0.1, 1e300], pa.float64()))
    error = _failure(_two_files(make_project, a, b))
    assert error.startswith("data/parts/b.parquet: column id is Int64 but data/parts/a.parquet has Int32"), (
        error
    )
    assert "widen = true" in error  # the hint names the lossless way

    table = _read(_two_files(make_project, a, b, "widen = true"))
    assert table.schema == pl.Schema({"id": pl.Int64, "x": pl.Float64})
    assert table["id"].to_list() == [2**31 - 1, -(2**31), 2**53 + 1, -1]
    assert table["x"].head(2).cast(pl.Float32).to_list() == pl.Series([0.1, 1e38], dtype=pl.Float32).to_list()
    assert table["x"].tail(2).to_list() == [0.1, 1e300]


def test_widen_reads_integers_into_a_decimal_column_when_exact(make_project):
    money = pa.array([Decimal("10.01"), Decimal("-0.10")], pa.decimal128(38, 2))
    root = _two_files(
        make_project,
        _parquet(amount=money),
        _parquet(amount=pa.array([7, 2**62], pa.int64())),
        "widen = true",
    )
    table = _read(root)
    assert table.schema["amount"] == pl.Decimal(38, 2)
    assert table["amount"].to_list() == [Decimal("10.01"), Decimal("-0.10"), Decimal("7.00"), Decimal(2**62)]


def test_widen_refuses_an_integer_a_decimal_column_cannot_hold(make_project):
    money = pa.array([Decimal("10.01")], pa.decimal128(38, 36))  # two integer digits
    root = _two_files(
        make_project, _parquet(amount=money), _parquet(amount=pa.array([7, 1000], pa.int64())), "widen = true"
    )
    error = _failure(root)
    assert error.startswith("data/parts/b.parquet: column amount is Int64"), error
    assert "1000" in error and "Decimal(38,36)" in error, error


def test_a_column_missing_from_one_file_fails_unless_widened(make_project):
    a = _parquet(id=pa.array([1], pa.int64()), note=pa.array(["x"], pa.string()))
    b = _parquet(id=pa.array([2], pa.int64()))
    assert _failure(_two_files(make_project, a, b)).startswith(
        "data/parts/b.parquet: has no column note, which data/parts/a.parquet has"
    )
    assert _failure(_two_files(make_project, b, a)).startswith(
        "data/parts/b.parquet: has a column note, which data/parts/a.parquet has not"
    )
    for first, second in ((a, b), (b, a)):
        table = _read(_two_files(make_project, first, second, "widen = true"))
        assert table.columns == ["id", "note"]
        assert sorted(table.rows(), key=str) == [(1, "x"), (2, None)]


def test_widen_does_not_add_nulls_to_a_column_declared_not_nullable(make_project):
    schema = pa.schema([pa.field("id", pa.int64()), pa.field("note", pa.string(), nullable=False)])
    a = _table_bytes(pa.table({"id": [1], "note": ["x"]}, schema=schema))
    b = _parquet(id=pa.array([2], pa.int64()))
    error = _failure(_two_files(make_project, a, b, "widen = true"))
    assert error.startswith("data/parts/b.parquet: has no column note, which data/parts/a.parquet has"), error
    assert "not nullable" in error


def test_an_all_null_column_of_another_type_is_drift_unless_widened(make_project):
    a = _parquet(discount=pa.array([0.5, None], pa.float64()))
    b = _parquet(discount=pa.array([None, None], pa.string()))
    error = _failure(_two_files(make_project, a, b))
    assert error.startswith(
        "data/parts/b.parquet: column discount is String but data/parts/a.parquet has Float64"
    )
    table = _read(_two_files(make_project, a, b, "widen = true"))
    assert table.schema["discount"] == pl.Float64 and table["discount"].to_list() == [0.5, None, None, None]


def test_ndjson_files_drift_like_any_other(make_project):
    root = _two_files(make_project, b'{"id": 1}\n', b'{"id": 1.5}\n', ext="ndjson")
    assert _failure(root).startswith(
        "data/parts/b.ndjson: column id is Float64 but data/parts/a.ndjson has Int64"
    )


def test_columns_in_another_order_are_matched_by_name(make_project):
    a = _parquet(id=pa.array([1], pa.int64()), note=pa.array(["x"], pa.string()))
    b = _parquet(note=pa.array(["y"], pa.string()), id=pa.array([2], pa.int64()))
    assert _read(_two_files(make_project, a, b)).rows() == [(1, "x"), (2, "y")]


# The widening matrix: for every pair of types, with `widen = true`, the read either fails naming
# both files, the column and both types, or yields a table from which every file's values come
# back exactly (cast back to the file's own type); and it succeeds exactly for these pairs.
TYPES: dict[str, tuple[pa.DataType, list]] = {
    "Int8": (pa.int8(), [-128, 127, None]),
    "Int16": (pa.int16(), [-32768, 32767, None]),
    "Int32": (pa.int32(), [-(2**31), 2**31 - 1, None]),
    "Int64": (pa.int64(), [-(2**63), 2**63 - 1, 2**53 + 1, None]),
    "UInt8": (pa.uint8(), [0, 255, None]),
    "UInt32": (pa.uint32(), [0, 2**32 - 1, None]),
    "UInt64": (pa.uint64(), [0, 2**63 - 1, None]),
    "Float32": (pa.float32(), [0.1, -3.5e38, None]),
    "Float64": (pa.float64(), [0.1, 2.0**60 + 2**8, None]),
    "Decimal(38,2)": (pa.decimal128(38, 2), [Decimal("12345678901234567890.01"), Decimal("-0.10"), None]),
    "Decimal(10,4)": (pa.decimal128(10, 4), [Decimal("123456.0001"), None]),
    "String": (pa.string(), ["1", "x", None]),
    "Boolean": (pa.bool_(), [True, None]),
    "Date": (pa.date32(), [dt.date(2024, 2, 29), None]),
    "Datetime(ms)": (pa.timestamp("ms"), [dt.datetime(2024, 1, 1, 0, 0, 0, 123000), None]),
    "Datetime(us)": (pa.timestamp("us"), [dt.datetime(2024, 1, 1, 0, 0, 0, 123456), None]),
    "Datetime(us, UTC)": (pa.timestamp("us", "UTC"), [dt.datetime(2024, 1, 1, tzinfo=dt.UTC), None]),
    "Null": (pa.null(), [None, None]),
}
INT_RANGES = {
    "Int8": (-(2**7), 2**7 - 1),
    "UInt8": (0, 2**8 - 1),
    "Int16": (-(2**15), 2**15 - 1),
    "UInt16": (0, 2**16 - 1),
    "Int32": (-(2**31), 2**31 - 1),
    "UInt32": (0, 2**32 - 1),
    "Int64": (-(2**63), 2**63 - 1),
    "UInt64": (0, 2**64 - 1),
}
INT_DIGITS = {"Int8": 3, "Int16": 5, "Int32": 10, "Int64": 19, "UInt8": 3, "UInt32": 10, "UInt64": 20}


def _decimal(name: str) -> tuple[int, int] | None:
    if not name.startswith("Decimal("):
        return None
    p, s = name[8:-1].split(",")
    return int(p), int(s)


def _widened(t1: str, t2: str) -> str | None:
    """The specification: the type two files' columns are read as with `widen = true`, or None."""
    if "Null" in (t1, t2):
        return t2 if t1 == "Null" else t1
    if t1 in INT_RANGES and t2 in INT_RANGES:
        lo, hi = min(INT_RANGES[t1][0], INT_RANGES[t2][0]), max(INT_RANGES[t1][1], INT_RANGES[t2][1])
        holding = [t for t, (a, b) in INT_RANGES.items() if a <= lo and hi <= b]
        return holding[0] if holding else "Int64"  # no type holds both: Int64, if every value fits
    d1, d2 = _decimal(t1), _decimal(t2)
    if d1 and d2:
        scale = max(d1[1], d2[1])
        return f"Decimal({min(38, scale + max(d1[0] - d1[1], d2[0] - d2[1]))},{scale})"
    if (d1 or d2) and (t1 in INT_DIGITS or t2 in INT_DIGITS):
        p, s = d1 or d2  # type: ignore[misc]
        digits = INT_DIGITS[t2 if d1 else t1]
        return f"Decimal({min(38, s + max(p - s, digits))},{s})"
    if {t1, t2} == {"Float32", "Float64"}:
        return "Float64"
    if {t1, t2} == {"Datetime(ms)", "Datetime(us)"}:
        return "Datetime(us)"
    return None


def _polars_name(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.Decimal):
        return f"Decimal({dtype.precision},{dtype.scale})"
    if isinstance(dtype, pl.Datetime):
        return f"Datetime({dtype.time_unit}" + (f", {dtype.time_zone})" if dtype.time_zone else ")")
    return str(dtype)


@pytest.mark.parametrize("widen", [True, False], ids=["widen", "strict"])
def test_the_widening_matrix_never_loses_a_value(make_project, widen):
    options = "widen = true" if widen else ""
    expected = {
        (t1, t2): wide
        for t1 in TYPES
        for t2 in TYPES
        if t1 != t2 and (wide := _widened(t1, t2) if widen or "Null" in (t1, t2) else None)
    }
    assert len(expected) > (40 if widen else 30)
    seen = []
    for i, (t1, (a_type, a_values)) in enumerate(TYPES.items()):
        for j, (t2, (b_type, b_values)) in enumerate(TYPES.items()):
            if t1 == t2:
                continue
            a = _parquet(v=pa.array(a_values, a_type))
            b = _parquet(v=pa.array(b_values, b_type))
            root = make_project(
                {
                    "assetbuild.toml": _toml("data/parts/*.parquet", options),
                    "data/parts/a.parquet": a,
                    "data/parts/b.parquet": b,
                },
                name=f"m_{i}_{j}",
            )
            try:
                table = _read(root)
            except AssetFailure as e:
                message = str(e)
                assert (t1, t2) not in expected, f"{t1} + {t2} should read as {expected[(t1, t2)]}: {message}"
                assert message.startswith(f"data/parts/b.parquet: column v is {t2}"), message
                assert f"data/parts/a.parquet has {t1}" in message, message
                continue
            wide = _polars_name(table.schema["v"])
            assert (t1, t2) in expected, f"{t1} + {t2} read as {wide} (only lossless pairs may widen)"
            assert wide == expected[(t1, t2)], (t1, t2, wide)
            for values, part in ((a, table.head(len(a_values))), (b, table.tail(len(b_values)))):
                original = pl.read_parquet(io.BytesIO(values))["v"]
                back = part["v"].cast(original.dtype, strict=True)
                assert back.eq_missing(original).all(), (t1, t2, original.to_list(), part["v"].to_list())
            seen.append((t1, t2))
    assert set(seen) == set(expected)


def test_csv_files_inferring_different_types_fail_until_the_column_is_given_a_type(make_project):
    a = "id,amount\n1,5\n2,7\n"
    b = "id,amount\n3,5.5\n4,0.25\n"
    root = _two_files(make_project, a.encode(), b.encode(), ext="csv")
    error = _failure(root)
    assert error.startswith("data/parts/b.csv: column amount is Float64 but data/parts/a.csv has Int64"), (
        error
    )
    assert 'schema_overrides = {amount = "Float64"}' in error, error

    root = _two_files(make_project, a.encode(), b.encode(), 'schema_overrides = {amount = "Float64"}', "csv")
    assert _read(root)["amount"].to_list() == [5.0, 7.0, 5.5, 0.25]


def test_an_empty_csv_column_takes_the_type_of_the_other_files(make_project):
    """A CSV column without a value in one file carries no type there: nothing is cast."""
    a = b"id,discount\n1,\n2,\n"
    b = b"id,discount\n3,0.5\n"
    header_only = b"id,discount\n"
    root = make_project(
        {
            "assetbuild.toml": _toml("data/parts/*.csv"),
            "data/parts/a.csv": a,
            "data/parts/b.csv": b,
            "data/parts/c.csv": header_only,
        }
    )
    table = _read(root)
    assert table.schema == pl.Schema({"id": pl.Int64, "discount": pl.Float64})
    assert table["discount"].to_list() == [None, None, 0.5]


def test_own_reader_options_are_checked_when_the_project_is_read(make_project):
    for options, where in (
        ('widen = "yes"', "options.widen must be true or false"),
        ("missing_fields = 1", "options.missing_fields"),
    ):
        root = make_project({"assetbuild.toml": _toml("data/raw.csv", options), "data/raw.csv": "a\n1\n"})
        with pytest.raises(ProjectError, match=where) as e:
            load_project(root)
        assert e.value.path == "assetbuild.toml" and e.value.line == 6
    root = make_project(
        {"assetbuild.toml": _toml("data/raw.csv") + "widen = true\n", "data/raw.csv": "a\n1\n"}
    )
    with pytest.raises(ProjectError, match="'widen' in \\[sources.raw\\] is a reader option") as e:
        load_project(root)
    assert e.value.hint == "options = {widen = true}" and e.value.line == 6


def test_the_readme_sources_example_reads(make_project):
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("\n## Sources\n", 1)[1].split("\n## ", 1)[0]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    root = make_project(
        {
            "assetbuild.toml": '[project]\nname = "readme"\n\n' + example,
            "data/payments/a.parquet": _parquet(id=pa.array([1], pa.int32())),
            "data/payments/b.parquet": _parquet(id=pa.array([2**40], pa.int64()), note=pa.array(["x"])),
            "data/sales.csv": "amount,day\n1.25,2024-01-01\n-,2024-01-02\n",
        }
    )
    result = by_name(run(root))
    assert result["payments"].status.value == "built", result["payments"].error
    assert result["sales"].schema == [("amount", "Decimal(precision=38, scale=2)"), ("day", "Date")]


# -- 3. what the user sees -----------------------------------------------------------------------


def test_cli_build_prints_the_offending_file_column_and_types(make_project, run_cli):
    money = pa.array([Decimal("10.01")], pa.decimal128(38, 2))
    root = make_project(
        {
            "assetbuild.toml": _toml("data/*.parquet"),
            "data/a.parquet": _parquet(amount=money),
            "data/b.parquet": _parquet(amount=pa.array([0.1], pa.float64())),
            "assets/total.sql": "SELECT sum(amount) AS total FROM raw\n",
        }
    )
    r = run_cli(root, "build")
    assert r.code == 1, r
    shown = r.stdout + r.stderr  # each asset's line, with its error, is on stderr
    assert "data/b.parquet: column amount is Float64 but data/a.parquet has Decimal(38,2)" in shown, r
    assert "Traceback" not in r.stdout + r.stderr

    (root / "data/a.parquet").unlink()
    (root / "data/b.parquet").unlink()
    (root / "assetbuild.toml").write_text(_toml("data/raw.csv"))
    (root / "data/raw.csv").write_text("id,amount\n1,5\n2\n")
    r = run_cli(root, "build")
    assert r.code == 1, r
    assert "data/raw.csv: line 3 has 1 field but the header has 2" in r.stdout + r.stderr, r


# -- 4. a value the inferred type cannot hold ----------------------------------------------------

SALES = "id,amount\n" + "".join(f"{i},{i * 3}\n" for i in range(1, 151)) + "151,-\n152,9\n"


def test_a_dash_after_row_100_names_the_file_column_value_line_and_the_fixes(make_project):
    root = make_project({"assetbuild.toml": _toml("data/sales.csv"), "data/sales.csv": SALES})
    error = _failure(root)
    assert error.startswith("data/sales.csv: line 152: column amount holds '-'"), error
    assert "first 100 rows" in error and "Int64" in error
    for fix in ('null_values = ["-"]', "infer_schema = false", 'schema_overrides = {amount = "String"}'):
        assert fix in error, (fix, error)


@pytest.mark.parametrize(
    ("options", "dtype", "nulls"),
    [
        ('null_values = ["-"]', pl.Int64, 1),
        ("infer_schema = false", pl.String, 0),
        ("infer_schema_length = 0", pl.String, 0),
        ("infer_schema_length = 10000", pl.String, 0),
        ('schema_overrides = {amount = "String"}', pl.String, 0),
    ],
)
def test_each_documented_fix_reads_the_file(make_project, options, dtype, nulls):
    root = make_project({"assetbuild.toml": _toml("data/sales.csv", options), "data/sales.csv": SALES})
    table = _read(root)
    assert table.height == 152 and table.schema["amount"] == dtype
    assert table["amount"].null_count() == nulls


def test_schema_overrides_takes_type_names(make_project):
    text = "id,amount,day,n\n1,10.01,2024-02-29,3\n"
    options = 'schema_overrides = {amount = "Decimal(38,2)", day = "Date", n = "Int32", id = "string"}'
    root = make_project({"assetbuild.toml": _toml("data/raw.csv", options), "data/raw.csv": text})
    assert _read(root).schema == pl.Schema(
        {"id": pl.String, "amount": pl.Decimal(38, 2), "day": pl.Date, "n": pl.Int32}
    )
    bad = make_project(
        {
            "assetbuild.toml": _toml("data/raw.csv", 'schema_overrides = {n = "Integer"}'),
            "data/raw.csv": text,
        },
        name="bad",
    )
    error = _failure(bad)
    assert "schema_overrides" in error and "'Integer'" in error and "Int64" in error, error


def test_an_integer_id_that_a_float_column_would_round_fails(make_project):
    """A file mixing `9007199254740993` and `1.5` would read the id as 9007199254740992.0."""
    text = "id,v\n9007199254740993,1\n1.5,2\n9007199254740992,3\n"
    root = make_project({"assetbuild.toml": _toml("data/raw.csv"), "data/raw.csv": text})
    error = _failure(root)
    assert error.startswith("data/raw.csv: line 2: column id holds 9007199254740993"), error
    assert "Float64" in error and 'schema_overrides = {id = "String"}' in error, error

    exact = make_project(
        {"assetbuild.toml": _toml("data/raw.csv"), "data/raw.csv": "id\n9007199254740992\n1.5\n1e300\n"},
        name="exact",
    )
    assert _read(exact)["id"].to_list() == [2.0**53, 1.5, 1e300]
