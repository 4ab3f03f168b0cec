"""Reading source files (CSV, Parquet, NDJSON, JSON) into one table, guarding against files that
change mid-read, and against every silent coercion on the way.

What a source reads is either exactly what its files hold or an error naming the file (and the
line, or the column and both types):

- A CSV row with fewer fields than the header (a blank line included) is an error, not nulls;
  `options = {missing_fields = "null"}` opts into nulls. A row with more fields names its line.
- A value the inferred type cannot hold (`-` in a numeric column after the rows polars looked at)
  names the file, line, column, value and the reader options that fix it; an integer that a
  column inferred as Float64 would round (a 64-bit id next to `1.5`) is an error too.
- The files of one source must agree on their columns and types. `options = {widen = true}`
  reads them together when that loses nothing: narrower integers or floats into wider ones,
  integers into a decimal column, decimals into more digits, datetimes into a finer unit (each
  widened value checked to come back exactly), and a column missing from a file as nulls (unless
  a Parquet file declares it not nullable). Nothing else is ever cast: not int to float, not
  float to decimal, not anything to string.

`widen` and `missing_fields` are assetbuild's own; every other option goes to polars' reader,
with type names (`schema_overrides = {amount = "Decimal(38,2)"}`) turned into polars types.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from assetbuild.errors import AssetFailure
from assetbuild.hashing import hash_bytes
from assetbuild.model.assets import AssetDef, SourceFile

MISSING_FIELDS = ("error", "null")


@dataclass
class _Part:
    """One file's table, with what the combining step needs to know about it."""

    path: str
    frame: pl.DataFrame
    untyped: frozenset[str]  # columns without a value, whose type is no evidence (see read_source)
    required: frozenset[str]  # columns the file declares not nullable (Parquet)


def read_source(root: Path, asset: AssetDef, files: tuple[SourceFile, ...]) -> pl.DataFrame:
    options = dict(asset.config.get("options", {}))
    widen = options.pop("widen", False)
    missing_fields = options.pop("missing_fields", "error")
    if not isinstance(widen, bool):
        raise AssetFailure(f"source '{asset.name}': reader option widen must be true or false")
    if missing_fields not in MISSING_FIELDS:
        raise AssetFailure(f'source \'{asset.name}\': reader option missing_fields must be "error" or "null"')
    fmt = asset.format or "csv"
    parts = []
    for f in files:
        path = root / f.path
        # The file hash decided the build key, so the table must come from exactly those bytes:
        # read them once, hash what was read, and parse that. (Re-hashing the path after parsing
        # it would miss a file that changed during the read and changed back.)
        try:
            data = path.read_bytes()
        except OSError as e:
            raise AssetFailure(f"cannot read source file {f.path}: {e.strerror or e}") from None
        if hash_bytes(data) != f.hash:
            raise AssetFailure(
                f"source file {f.path} changed while it was being read; run the build again once it is complete"
            )
        opts = _with_types(dict(options), f.path)
        frame = _read_one(data, f.path, fmt, opts, missing_fields)
        if len(files) == 1:
            return frame
        typed = _user_typed(opts)
        # A column without a value carries no type: Null, or an inferred CSV type, or (widen) any
        # type, since nulls cast to another type lose nothing.
        untyped = frozenset(
            c
            for c, t in frame.schema.items()
            if t == pl.Null
            or ((widen or (fmt == "csv" and c not in typed)) and frame[c].null_count() == frame.height)
        )
        required = _required_columns(data) if fmt == "parquet" and widen else frozenset()
        parts.append(_Part(f.path, frame, untyped, required))
    return _combine(parts, widen, fmt)


def _read_one(data: bytes, rel: str, fmt: str, options: dict[str, Any], missing_fields: str) -> pl.DataFrame:
    source = io.BytesIO(data)
    try:
        if not data:
            raise AssetFailure(f"source file {rel} is empty (0 bytes); a CSV needs at least a header line")
        if fmt == "csv":
            options.setdefault("try_parse_dates", True)
            if rel.lower().endswith(".tsv"):
                options.setdefault("separator", "\t")
            return _read_csv(data, rel, options, missing_fields)
        if fmt == "parquet":
            return pl.read_parquet(source, **options)
        if fmt == "ndjson":
            return pl.read_ndjson(source, **options)
        if fmt == "json":
            return pl.read_json(source, **options)
    except AssetFailure:
        raise
    except TypeError as e:
        raise AssetFailure(f"source file {rel}: bad reader option ({e})") from None
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        hint = ""
        if fmt in ("ndjson", "json") and "parse" in first:
            hint = (
                "\n  polars infers the types from the first 100 rows: give the column a type with "
                'options = {schema_overrides = {COLUMN = "Float64"}}, or look at more rows with '
                "options = {infer_schema_length = 100000}"
            )
        raise AssetFailure(f"cannot read {rel} as {fmt}: {first}{hint}") from None
    raise AssetFailure(f"source file {rel}: unsupported format '{fmt}'")


# -- type names in options --------------------------------------------------------------------

_TYPE_NAMES = {
    n.lower(): n
    for n in (
        "String",
        "Boolean",
        "Int8",
        "Int16",
        "Int32",
        "Int64",
        "Int128",
        "UInt8",
        "UInt16",
        "UInt32",
        "UInt64",
        "Float32",
        "Float64",
        "Date",
        "Time",
        "Datetime",
        "Duration",
        "Decimal",
        "Categorical",
        "Binary",
        "Null",
    )
}
_TYPE_NAMES.update({"utf8": "String", "str": "String", "bool": "Boolean"})
_TYPE_RE = re.compile(r"\s*([A-Za-z][A-Za-z0-9]*)\s*(?:\((.*)\))?\s*\Z")
_TYPE_EXAMPLES = 'e.g. "Int64", "Float64", "String", "Boolean", "Date", "Datetime(us)", "Decimal(38,2)"'


def _with_types(options: dict[str, Any], rel: str) -> dict[str, Any]:
    """`schema` / `schema_overrides` given as type names (TOML has no polars types) made polars types."""
    for key in ("schema", "schema_overrides"):
        value = options.get(key)
        if isinstance(value, dict):
            options[key] = {c: _dtype(t, key, rel) for c, t in value.items()}
        elif isinstance(value, list):
            options[key] = [_dtype(t, key, rel) for t in value]
    return options


def _dtype(name: Any, key: str, rel: str) -> Any:
    if not isinstance(name, str):
        return name
    m = _TYPE_RE.match(name)
    canonical = _TYPE_NAMES.get(m.group(1).lower()) if m else None
    if m is None or canonical is None:
        raise AssetFailure(
            f"source file {rel}: bad reader option {key}: unknown type {name!r} ({_TYPE_EXAMPLES})"
        )
    args = [a.strip().strip("'\"") for a in m.group(2).split(",")] if m.group(2) else []
    try:
        if canonical == "Decimal":
            return pl.Decimal(*(int(a) for a in args))
        if canonical in ("Datetime", "Duration") and args:
            return getattr(pl, canonical)(*args)
        if args:
            raise ValueError(f"{canonical} takes no arguments")
        return getattr(pl, canonical)
    except Exception as e:
        raise AssetFailure(
            f"source file {rel}: bad reader option {key}: type {name!r}: {e} ({_TYPE_EXAMPLES})"
        ) from None


def _user_typed(options: dict[str, Any]) -> set[str]:
    typed: set[str] = set()
    for key in ("schema", "schema_overrides"):
        if isinstance(options.get(key), dict):
            typed |= set(options[key])
    return typed


def _type_name(dtype: Any) -> str:
    """A type as the user reads it, and writes it in `schema_overrides`: Int64, Decimal(38,2)."""
    if isinstance(dtype, pl.Decimal):
        return f"Decimal({dtype.precision if dtype.precision is not None else 38},{dtype.scale})"
    if isinstance(dtype, (pl.Datetime, pl.Duration)):
        unit = dtype.time_unit or "us"
        tz = getattr(dtype, "time_zone", None)
        return f"{type(dtype).__name__}({unit}" + (f", {tz})" if tz else ")")
    return str(dtype)


# -- CSV ----------------------------------------------------------------------------------------

# The options that decide where CSV rows and fields begin and end: every check reads the file
# with exactly these, so that it sees the rows the real read saw.
_STRUCTURE = (
    "has_header",
    "separator",
    "comment_prefix",
    "quote_char",
    "skip_rows",
    "skip_lines",
    "skip_rows_after_header",
    "eol_char",
    "encoding",
    "n_rows",
    "truncate_ragged_lines",
    "decimal_comma",
)
_MARK = "\x1eab\x1e"  # appended to every line of a copy of the file; never in real data
_ROW = "__assetbuild_row__"
_PARSE_ERROR = re.compile(
    r"could not parse `(?P<value>.*?)` as dtype `(?P<dtype>[^`]+)` at column '(?P<column>.*?)'", re.DOTALL
)
_UNCLOSED = re.compile(r"Field `(?P<value>.*?)` is not properly escaped", re.DOTALL)
_MORE_FIELDS = "found more fields than defined"
_INTEGER_TEXT = r"^\s*[+-]?\d+\s*$"


def _read_csv(data: bytes, rel: str, options: dict[str, Any], missing_fields: str) -> pl.DataFrame:
    try:
        frame = pl.read_csv(io.BytesIO(data), **options)
    except TypeError:
        raise
    except Exception as e:
        explained = _explain_csv_error(e, data, rel, options)
        if explained is None:
            raise
        raise explained from None
    if missing_fields == "error":
        _check_field_counts(data, rel, frame, options)
    _check_float_integers(data, rel, frame, options)
    return frame


def _structure(options: dict[str, Any], **extra: Any) -> dict[str, Any]:
    out = {k: options[k] for k in _STRUCTURE if k in options}
    out.update(extra)
    return out


def _check_field_counts(data: bytes, rel: str, frame: pl.DataFrame, options: dict[str, Any]) -> None:
    """A row with fewer fields than the header (a blank line too) is an error, not nulls.

    Polars fills the missing fields of a short row with nulls, which the table cannot tell from
    empty fields. A missing field always leaves the last column null, so a table whose last
    column has no null has no short row; otherwise a copy of the file with a mark after every
    line is read with the same options: a row is short exactly when the mark is not in its last
    column plus one.
    """
    if frame.width <= 1 and "columns" not in options:
        return  # one column: a blank line is an empty field
    shortcut = (
        "columns" not in options
        and options.get("empty_string_is_null", True) is not False
        and not options.get("missing_utf8_is_empty_string")  # polars 1.x: a missing field read as ""
    )
    if shortcut and frame[:, -1].null_count() == 0:
        return
    sep = str(options.get("separator", ","))
    try:
        marked = _mark_line_ends(data, sep, str(options.get("eol_char", "\n")))
        header = pl.read_csv(io.BytesIO(marked), **_structure(options, n_rows=0, infer_schema=False))
        width = header.width - 1
        if width <= 1:
            return
        if options.get("truncate_ragged_lines"):
            # a long row lost its mark to the truncation: look for the mark inside the row instead
            cols = list(range(width))
            table = pl.read_csv(
                io.BytesIO(marked),
                **_structure(options, columns=cols, infer_schema=False, row_index_name=_ROW),
            )
            short = table.filter(pl.any_horizontal(pl.col(c).eq_missing(_MARK) for c in table.columns[1:]))
        else:
            table = pl.read_csv(
                io.BytesIO(marked),
                **_structure(options, columns=[width], infer_schema=False, row_index_name=_ROW),
            )
            short = table.filter(pl.col(table.columns[1]).ne_missing(_MARK))
    except Exception as e:
        raise AssetFailure(
            f"{rel}: could not check that every row has all its fields ({str(e).strip().splitlines()[0]})\n"
            '  options = {missing_fields = "null"} skips the check (a missing field is read as null)'
        ) from None
    if short.height == 0:
        return
    row = int(short[_ROW][0])
    names = header.columns[:width]
    where = _where(data, row, options)
    fields = _field_count(data, where, options)
    what = "the header" if options.get("has_header", True) else "the first row"
    if where is None or fields is None:
        first = f"{rel}: row {row + 1} has fewer fields than {what} ({width})"
    elif fields == 0:
        first = f"{rel}: line {where} is blank but {what} has {width} fields"
    else:
        missing = names[fields:]
        shown = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
        first = f"{rel}: line {where} has {_fields(fields)} but {what} has {width} (no value for {shown})"
    count = f"{short.height} rows have missing fields; " if short.height > 1 else ""
    raise AssetFailure(
        f"{first}\n  {count}a missing field is an error, not a silent null: fix the file, or read "
        'missing fields as nulls with options = {missing_fields = "null"}'
    )


def _fields(n: int) -> str:
    return f"{n} field" if n == 1 else f"{n} fields"


def _lines(data: bytes, eol: str) -> list[bytes]:
    if eol == "\n" and b"\r" in data:
        data = data.replace(b"\r\n", b"\n")
    return data.split(eol.encode())


def _mark_line_ends(data: bytes, sep: str, eol: str) -> bytes:
    """The file with `SEP MARK` before every line end (CRLF read as LF)."""
    if eol == "\n" and b"\r" in data:
        data = data.replace(b"\r\n", b"\n")
    end, tail = eol.encode(), (sep + _MARK).encode()
    marked = data.replace(end, tail + end)
    return marked if data.endswith(end) else marked + tail


def _where(data: bytes, row: int, options: dict[str, Any]) -> int | None:
    """The line of the file on which data row `row` (0-based, as polars counts them) starts.

    Every line that is not a comment starts, in a copy of the file, with a field holding its
    number; the copy is read with the same options, and the row's first field is the number.
    """
    sep = str(options.get("separator", ","))
    eol = str(options.get("eol_char", "\n"))
    comment = options.get("comment_prefix")
    lines = _lines(data, eol)
    if lines and lines[-1] == b"":
        lines.pop()
    out = []
    for i, line in enumerate(lines, 1):
        out.append(
            line if comment and line.startswith(comment.encode()) else f"{_MARK}{i}{sep}".encode() + line
        )
    numbered = eol.encode().join(out) + eol.encode()
    n_rows = row + 1 if options.get("n_rows") is None else min(row + 1, int(options["n_rows"]))
    try:
        first = pl.read_csv(
            io.BytesIO(numbered),
            **_structure(options, columns=[0], infer_schema=False, truncate_ragged_lines=True, n_rows=n_rows),
        )
        value = str(first[:, 0][row])
    except Exception:
        return None
    return int(value[len(_MARK) :]) if value.startswith(_MARK) and value[len(_MARK) :].isdigit() else None


def _field_count(data: bytes, line: int | None, options: dict[str, Any]) -> int | None:
    """How many fields the record starting on `line` has (0 for a blank line), for the message."""
    if line is None:
        return None
    lines = _lines(data, str(options.get("eol_char", "\n")))
    if line > len(lines):
        return None
    if lines[line - 1].strip() == b"":
        return 0
    encoding = "utf-8" if str(options.get("encoding", "utf8")).startswith("utf8") else "cp1252"
    text = [ln.decode(encoding, errors="replace") + "\n" for ln in lines[line - 1 : line + 1000]]
    quote = options.get("quote_char", '"')
    sep = str(options.get("separator", ","))
    dialect: dict[str, Any] = {"delimiter": sep, "strict": False}
    dialect.update({"quotechar": quote} if quote else {"quoting": csv.QUOTE_NONE})
    try:
        return len(next(csv.reader(text, **dialect)))
    except (StopIteration, csv.Error):
        return None


def _explain_csv_error(e: Exception, data: bytes, rel: str, options: dict[str, Any]) -> AssetFailure | None:
    text = str(e)
    unclosed = _UNCLOSED.search(text)
    if unclosed:
        value = unclosed.group("value")
        at = data.find(value.encode()) if value else -1
        line = data.count(b"\n", 0, at) + 1
        where = f"line {line}: " if at >= 0 else ""
        shown = value.splitlines()[0][:60] if value.strip() else value
        return AssetFailure(
            f"{rel}: {where}the quoted field {shown!r} is never closed (its quote runs to the end of the file)\n"
            '  close the quote in the file, or double a quote that is part of a value ("")'
        )
    m = _PARSE_ERROR.search(text)
    if m:
        return _type_error(data, rel, options, m.group("value"), m.group("column"), m.group("dtype"))
    if _MORE_FIELDS in text:
        return _long_row_error(data, rel, options)
    return None


def _type_error(
    data: bytes, rel: str, options: dict[str, Any], value: str, column: str, raw: str
) -> AssetFailure:
    """`-` in a column inferred as Int64 from the first 100 rows: the file, line, column, value and fixes."""
    given = column in _user_typed(options)
    length = options.get("infer_schema_length", 100)
    row = None
    try:
        raw_col = pl.read_csv(
            io.BytesIO(data),
            **_structure(options, columns=[column], infer_schema=False, row_index_name=_ROW),
        )
        hits = raw_col.filter(pl.col(column) == value)
        row = int(hits[_ROW][0]) if hits.height else None
    except Exception:
        pass  # the message goes without the line
    where = _where(data, row, options) if row is not None else None
    at = f"line {where}" if where is not None else (f"row {row + 1}" if row is not None else "a row")
    why = (
        "the type the options give it" if given else f"the type polars inferred from the first {length} rows"
    )
    fixes = [
        f"if {value!r} means missing: options = {{null_values = [{_toml_string(value)}]}}",
        f'to read the column as text: options = {{schema_overrides = {{{column} = "String"}}}}',
    ]
    if not given:
        fixes += [
            "to read every column as text: options = {infer_schema = false} (or infer_schema_length = 0)",
            "to infer the types from more rows: options = {infer_schema_length = 100000}",
        ]
    return AssetFailure(
        f"{rel}: {at}: column {column} holds {value!r}, which is not {_article(_dtype_of(raw))} ({why})\n"
        + "\n".join("  " + f for f in fixes)
    )


def _long_row_error(data: bytes, rel: str, options: dict[str, Any]) -> AssetFailure | None:
    hint = "  options = {truncate_ragged_lines = true} drops the extra fields"
    try:
        marked = _mark_line_ends(data, str(options.get("separator", ",")), str(options.get("eol_char", "\n")))
        header = pl.read_csv(io.BytesIO(marked), **_structure(options, n_rows=0, infer_schema=False))
        width = header.width - 1
        ends = pl.read_csv(
            io.BytesIO(marked),
            **_structure(
                options, columns=[width], infer_schema=False, row_index_name=_ROW, truncate_ragged_lines=True
            ),
        )
        long = ends.filter(pl.col(ends.columns[1]).ne_missing(_MARK) & pl.col(ends.columns[1]).is_not_null())
        if long.height == 0:
            return None
        row = int(long[_ROW][0])
    except Exception:
        return None
    where = _where(data, row, options)
    what = "the header" if options.get("has_header", True) else "the first row"
    fields = _field_count(data, where, options)
    if where is None:
        return AssetFailure(f"{rel}: row {row + 1} has more fields than {what} ({width})\n{hint}")
    count = _fields(fields) if fields and fields > width else "more fields"
    return AssetFailure(f"{rel}: line {where} has {count} but {what} has {width}\n{hint}")


def _check_float_integers(data: bytes, rel: str, frame: pl.DataFrame, options: dict[str, Any]) -> None:
    """An integer in a column polars inferred as Float64 (because of a `1.5` elsewhere) must be exact.

    Every integer below 2**53 is exact in a Float64; above, `9007199254740993` reads as
    9007199254740992.0. Only a column holding such magnitudes is looked at again, as text.
    """
    typed = _user_typed(options)
    for column, dtype in frame.schema.items():
        if dtype != pl.Float64 or column in typed:
            continue
        values = frame[column]
        finite = values.filter(values.is_finite())
        big = finite.abs().max() if finite.len() else None
        if big is None or not isinstance(big, float) or big < 2.0**53:
            continue
        if "columns" not in options:
            by: list[Any] = [frame.columns.index(column)]
        elif "new_columns" not in options and all(isinstance(c, str) for c in options["columns"]):
            by = [column]
        else:
            continue
        try:
            raw = pl.read_csv(io.BytesIO(data), **_structure(options, columns=by, infer_schema=False))[:, 0]
        except Exception:
            continue
        if raw.len() != values.len():
            continue
        checked = pl.DataFrame({"text": raw, "value": values}).with_row_index(_ROW)
        exact = pl.col("text").str.strip_chars().cast(pl.Int128, strict=False)
        wrong = checked.filter(
            pl.col("text").str.contains(_INTEGER_TEXT)
            & (pl.col("value").abs() >= 2.0**53)
            # an integer too long for an Int128 is too long for a Float64 to hold exactly, too
            & (exact.is_null() | exact.ne_missing(pl.col("value").cast(pl.Int128, strict=False)))
        )
        if wrong.height == 0:
            continue
        row, text, value = int(wrong[_ROW][0]), wrong["text"][0].strip(), wrong["value"][0]
        where = _where(data, row, options)
        at = f"line {where}" if where is not None else f"row {row + 1}"
        raise AssetFailure(
            f"{rel}: {at}: column {column} holds {text}, which its inferred type Float64 cannot hold "
            f"exactly (it would read as {value!r})\n"
            f'  give the column a type: options = {{schema_overrides = {{{column} = "String"}}}} '
            f'(ids), or a decimal type such as "Decimal(38,2)" (amounts)'
        )


_SHORT_TYPES = {
    "i8": "Int8",
    "i16": "Int16",
    "i32": "Int32",
    "i64": "Int64",
    "i128": "Int128",
    "u8": "UInt8",
    "u16": "UInt16",
    "u32": "UInt32",
    "u64": "UInt64",
    "f32": "Float32",
    "f64": "Float64",
    "bool": "Boolean",
    "str": "String",
    "date": "Date",
    "time": "Time",
}


def _dtype_of(raw: str) -> str:
    return _SHORT_TYPES.get(raw, "Datetime" if raw.startswith("datetime") else raw)


def _article(name: str) -> str:
    return f"an {name}" if name[:1].lower() in "aeiou" else f"a {name}"


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# -- several files, one table ---------------------------------------------------------------------


def _required_columns(data: bytes) -> frozenset[str]:
    """The columns a Parquet file declares not nullable (a footer read)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(pa.BufferReader(data))
    except Exception:
        return frozenset()
    return frozenset(f.name for f in schema if not f.nullable)


def _combine(parts: list[_Part], widen: bool, fmt: str) -> pl.DataFrame:
    """The files' tables as one: same columns and types, or a lossless widening (`widen = true`)."""
    order = _columns(parts, widen)
    types: dict[str, Any] = {}
    for column in order:
        types[column] = _column_type(parts, column, widen, fmt)
    frames = []
    for part in parts:
        exprs = []
        for column in order:
            target = types[column]
            if column not in part.frame.columns:
                exprs.append(_nulls(column, part.frame.height, target))
                continue
            series = part.frame[column]
            if series.dtype != target:
                series = _widened(part, series, target, parts)
            exprs.append(series.alias(column))
        frames.append(pl.DataFrame(exprs, schema=types) if exprs else part.frame)
    try:
        return pl.concat(frames, how="vertical")
    except Exception as e:  # the schemas agree by now; this would be a bug
        raise AssetFailure(
            f"its files do not share one schema ({e}); files: {', '.join(p.path for p in parts)}"
        ) from None


def _nulls(name: str, n: int, dtype: Any) -> pl.Series:
    return pl.repeat(None, n, dtype=dtype, eager=True).alias(name)


def _columns(parts: list[_Part], widen: bool) -> list[str]:
    """The columns of the table: the files' columns by name, in the order they first appear."""
    first = parts[0]
    order = list(first.frame.columns)
    for part in parts[1:]:
        order += [c for c in part.frame.columns if c not in order]
        if widen:
            continue
        missing = [c for c in first.frame.columns if c not in part.frame.columns]
        extra = [c for c in part.frame.columns if c not in first.frame.columns]
        if missing or extra:
            problem = (
                f"has no column {missing[0]}, which {first.path} has"
                if missing
                else f"has a column {extra[0]}, which {first.path} has not"
            )
            raise AssetFailure(
                f"{part.path}: {problem}\n  the files of one source must have the same columns; "
                "options = {widen = true} reads them together, with nulls where a file has no such column"
            )
    for part in parts:
        for column in (c for c in order if c not in part.frame.columns):
            strict = next((p for p in parts if column in p.required), None)
            if strict is not None:
                raise AssetFailure(
                    f"{part.path}: has no column {column}, which {strict.path} has and declares not nullable\n"
                    "  widen adds a missing column as nulls only where the column may be null"
                )
    return order


def _column_type(parts: list[_Part], column: str, widen: bool, fmt: str) -> Any:
    """The one type of a column over the files: every file's own, or their lossless widening."""
    joined: Any = None
    holders: list[_Part] = []  # the files whose types decided `joined`
    for part in parts:
        if column not in part.frame.columns or column in part.untyped:
            continue
        own = part.frame.schema[column]
        if joined is None:
            joined, holders = own, [part]
            continue
        if own == joined:
            continue
        wide = _join(joined, own)
        if wide is None or not widen:
            other = next((h for h in holders if _join(h.frame.schema[column], own) is None), holders[0])
            raise _drift(part, other, column, wide, widen, fmt)
        joined = wide
        holders.append(part)
    if joined is None:  # no file gives it a type: every value is null
        present = [p.frame.schema[column] for p in parts if column in p.frame.columns]
        joined = next((t for t in present if t != pl.Null), present[0] if present else pl.Null)
    return joined


def _drift(part: _Part, other: _Part, column: str, wide: Any, widen: bool, fmt: str) -> AssetFailure:
    own, theirs = part.frame.schema[column], other.frame.schema[column]
    first = f"{part.path}: column {column} is {_type_name(own)} but {other.path} has {_type_name(theirs)}"
    if not widen and wide is not None:
        hint = f"options = {{widen = true}} reads both as {_type_name(wide)} without loss"
    elif fmt == "csv":
        hint = "a CSV file's types are inferred from its own values"
    else:
        hint = "no type holds both without loss: fix the file written with the wrong type"
    if fmt == "csv":
        text, typed = (part, theirs) if own == pl.String else (other, own)
        if pl.String in (own, theirs) and typed != pl.String:
            # what made the column text there: a value the other type cannot read (`n/a`, `-`)
            values = text.frame[column]
            bad = values.filter(values.is_not_null() & values.cast(typed, strict=False).is_null())
            if bad.len():
                first += f" ({text.path} holds {bad[0]!r})"
                hint += f"; if {bad[0]!r} means missing: options = {{null_values = [{_toml_string(bad[0])}]}}"
        one = wide if wide is not None else _csv_hint_type(own, theirs)
        hint += f'; to give the column one type: options = {{schema_overrides = {{{column} = "{_type_name(one)}"}}}}'
    return AssetFailure(f"{first}\n  {hint}")


def _csv_hint_type(a: Any, b: Any) -> Any:
    return pl.Float64 if {a, b} <= {pl.Int64, pl.Float64} else pl.String


def _widened(part: _Part, series: pl.Series, target: Any, parts: list[_Part]) -> pl.Series:
    """The file's column as `target`, checked to give back every value exactly."""
    if series.name in part.untyped:
        return _nulls(series.name, series.len(), target)
    try:
        wide = series.cast(target, strict=True)
    except Exception:
        wide = series.cast(target, strict=False)  # what did not fit is null: found below
    try:
        lost = ~wide.cast(series.dtype, strict=False).eq_missing(series)
    except Exception as e:
        raise AssetFailure(
            f"{part.path}: column {series.name}: cannot check its widening to {_type_name(target)}: {e}"
        ) from None
    if lost.any():
        value = series.filter(lost)[0]
        other_path, other = next(
            (
                (p.path, p.frame.schema[series.name])
                for p in parts
                if series.name in p.frame.columns and p.frame.schema[series.name] != series.dtype
            ),
            ("another file", target),
        )
        raise AssetFailure(
            f"{part.path}: column {series.name} is {_type_name(series.dtype)} but {other_path} has "
            f"{_type_name(other)}, and its value {value} does not fit {_type_name(target)} exactly\n"
            "  widen reads files together only when no value changes"
        )
    return wide


# The lossless joins. Integers: the smallest integer type holding both ranges (Int64 when none
# of 64 bits does, every value then checked); decimals: enough digits on both sides of the point
# (at most 38, every value then checked); floats: Float64; datetimes and durations: the finer unit.
_INTS = [
    (pl.Int8, -(2**7), 2**7 - 1),
    (pl.UInt8, 0, 2**8 - 1),
    (pl.Int16, -(2**15), 2**15 - 1),
    (pl.UInt16, 0, 2**16 - 1),
    (pl.Int32, -(2**31), 2**31 - 1),
    (pl.UInt32, 0, 2**32 - 1),
    (pl.Int64, -(2**63), 2**63 - 1),
    (pl.UInt64, 0, 2**64 - 1),
    (pl.Int128, -(2**127), 2**127 - 1),
]
_INT_RANGE = {t: (lo, hi) for t, lo, hi in _INTS}
_UNITS = ("ms", "us", "ns")


def _int_digits(dtype: Any) -> int:
    lo, hi = _INT_RANGE[dtype]
    return len(str(max(-lo, hi)))


def _join(a: Any, b: Any) -> Any:
    if a == b:
        return a
    if a == pl.Null or b == pl.Null:
        return b if a == pl.Null else a
    if a in _INT_RANGE and b in _INT_RANGE:
        lo, hi = min(_INT_RANGE[a][0], _INT_RANGE[b][0]), max(_INT_RANGE[a][1], _INT_RANGE[b][1])
        wide = pl.Int128 in (a, b)  # 128 bits only when a file has them
        holding = [t for t, tlo, thi in _INTS if tlo <= lo and hi <= thi and (wide or t != pl.Int128)]
        return holding[0] if holding else (pl.Int128 if wide else pl.Int64)
    if isinstance(a, pl.Decimal) and isinstance(b, pl.Decimal):
        pa_, pb = a.precision or 38, b.precision or 38
        scale = max(a.scale, b.scale)
        return pl.Decimal(min(38, scale + max(pa_ - a.scale, pb - b.scale)), scale)
    if isinstance(a, pl.Decimal) or isinstance(b, pl.Decimal):
        dec, other = (a, b) if isinstance(a, pl.Decimal) else (b, a)
        if other not in _INT_RANGE:
            return None
        p = dec.precision or 38
        return pl.Decimal(min(38, dec.scale + max(p - dec.scale, _int_digits(other))), dec.scale)
    if {a, b} == {pl.Float32, pl.Float64}:
        return pl.Float64
    if isinstance(a, pl.Datetime) and isinstance(b, pl.Datetime) and a.time_zone == b.time_zone:
        return pl.Datetime(_finer(a.time_unit, b.time_unit), a.time_zone)
    if isinstance(a, pl.Duration) and isinstance(b, pl.Duration):
        return pl.Duration(_finer(a.time_unit, b.time_unit))
    return None


def _finer(a: Any, b: Any) -> Any:
    return max(a or "us", b or "us", key=_UNITS.index)
