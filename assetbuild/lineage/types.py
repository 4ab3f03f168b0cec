"""Column types for schema facets, in DuckDB's type names: what the warehouse views show.

Stored schemas hold polars' reprs (`Int64`, `Datetime(time_unit='us', time_zone=None)`), which
mean nothing to a lineage backend or to someone reading a Parquet export with another tool. One
family is used throughout: DuckDB's, because every published asset is a DuckDB view in
`.assetbuild/warehouse.duckdb`, so a facet says what a person querying it sees (BIGINT, VARCHAR,
DECIMAL(38,2), TIMESTAMP WITH TIME ZONE, STRUCT(a BIGINT)[]). Where DuckDB reads polars' Parquet
as something coarser than the data means (a Duration stored as plain int64, an Int128 as bytes,
a fixed-size Array as a list) the facet keeps the meaning: INTERVAL, HUGEINT, BIGINT[3].

Pure string work (the reprs are parsed, polars is not imported): a build that emits lineage for
a restore must not pay for polars. A repr this does not understand is kept as it is, rather than
guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

_SIMPLE = {
    "Int8": "TINYINT",
    "Int16": "SMALLINT",
    "Int32": "INTEGER",
    "Int64": "BIGINT",
    "Int128": "HUGEINT",
    "UInt8": "UTINYINT",
    "UInt16": "USMALLINT",
    "UInt32": "UINTEGER",
    "UInt64": "UBIGINT",
    "UInt128": "UHUGEINT",
    "Float32": "FLOAT",
    "Float64": "DOUBLE",
    "Boolean": "BOOLEAN",
    "String": "VARCHAR",
    "Utf8": "VARCHAR",  # polars < 0.20
    "Binary": "BLOB",
    "Date": "DATE",
    "Time": "TIME_NS",  # polars' time of day has nanoseconds, as DuckDB's TIME_NS
    "Null": '"NULL"',  # as DuckDB spells it: the bare word is the value, not the type
    # dictionary-encoded strings in Parquet: DuckDB reads them as VARCHAR
    "Categorical": "VARCHAR",
    "Enum": "VARCHAR",
}
_TIMESTAMP = {"ns": "TIMESTAMP_NS", "us": "TIMESTAMP", "ms": "TIMESTAMP"}
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# words DuckDB's parser refuses as a bare struct field name (its reserved keywords, and the
# type_function ones that fail there): quoted, so every type written here parses in DuckDB
_MUST_QUOTE = frozenset(
    """all analyse analyze and any array as asc asymmetric both case cast check collate column
    constraint create default deferrable desc describe distinct do else end except false fetch for
    foreign from group having in initially intersect into lambda lateral leading limit not null
    offset on only or order pivot pivot_longer pivot_wider placing primary qualify references
    returning select show some summarize symmetric table then to trailing true union unique unpivot
    using variadic when where window with anti asof at authorization binary by collation
    concurrently cross freeze full glob ilike inner is isnull join left like natural notnull outer
    overlaps positional right semi similar tablesample unpack verbose""".split()  # noqa: SIM905
)


def duckdb_type(polars_repr: str) -> str:
    """`Int64` -> `BIGINT`, `Decimal(precision=38, scale=2)` -> `DECIMAL(38,2)`; unknown -> as given."""
    return _convert(polars_repr)


@lru_cache(maxsize=4096)
def _convert(text: str) -> str:
    try:
        parser = _Parser(text)
        node = parser.value()
        if not parser.at_end():
            return text
        converted = _duckdb(node)
    except _Unknown:
        return text
    return converted


# -- the repr, parsed ----------------------------------------------------------------------------


class _Unknown(Exception):
    """A repr (or a part of one) this module has no DuckDB name for."""


@dataclass
class _Type:
    name: str
    args: list[Any] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<num>-?\d+)
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<punct>[()\[\]{},:=])
    )""",
    re.VERBOSE,
)


class _Parser:
    """Reads the small language of polars dtype reprs: `Name`, `Name(arg, key=value)`, strings,
    integers, None, tuples, lists and `{'field': Type}` dicts."""

    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                raise _Unknown(text)
            kind = m.lastgroup
            assert kind is not None
            self.tokens.append((kind, m.group(kind)))
            pos = m.end()
            while pos < len(text) and text[pos].isspace():
                pos += 1
        self.i = 0

    def at_end(self) -> bool:
        return self.i == len(self.tokens)

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def _take(self, punct: str | None = None) -> tuple[str, str]:
        token = self._peek()
        if token is None or (punct is not None and token != ("punct", punct)):
            raise _Unknown(punct)
        self.i += 1
        return token

    def _is(self, punct: str) -> bool:
        return self._peek() == ("punct", punct)

    def value(self) -> Any:
        kind, text = self._take()
        if kind == "str":
            return _unquote(text)
        if kind == "num":
            return int(text)
        if kind == "name":
            if text in ("None", "True", "False"):
                return {"None": None, "True": True, "False": False}[text]
            node = _Type(text)
            if self._is("("):
                self._take("(")
                self._arguments(node, ")")
            return node
        if text in ("(", "["):
            return self._sequence(")" if text == "(" else "]")
        if text == "{":
            return self._mapping()
        raise _Unknown(text)

    def _arguments(self, node: _Type, close: str) -> None:
        while not self._is(close):
            token = self._peek()
            after = self.tokens[self.i + 1] if self.i + 1 < len(self.tokens) else None
            if token is not None and token[0] == "name" and after == ("punct", "="):
                self.i += 2
                node.kwargs[token[1]] = self.value()
            else:
                node.args.append(self.value())
            if not self._is(close):
                self._take(",")
        self._take(close)

    def _sequence(self, close: str) -> list[Any]:
        items: list[Any] = []
        while not self._is(close):
            items.append(self.value())
            if not self._is(close):
                self._take(",")
        self._take(close)
        return items

    def _mapping(self) -> list[tuple[Any, Any]]:
        pairs: list[tuple[Any, Any]] = []
        while not self._is("}"):
            key = self.value()
            self._take(":")
            pairs.append((key, self.value()))
            if not self._is("}"):
                self._take(",")
        self._take("}")
        return pairs


def _unquote(literal: str) -> str:
    body = literal[1:-1]
    return re.sub(r"\\(.)", r"\1", body)


# -- DuckDB names ----------------------------------------------------------------------------------


def _duckdb(node: Any) -> str:
    if not isinstance(node, _Type):
        raise _Unknown(repr(node))
    name = node.name
    if name in _SIMPLE:
        return _SIMPLE[name]
    if name == "Decimal":
        precision = _arg(node, 0, "precision")
        scale = _arg(node, 1, "scale")
        # polars leaves the precision open (None) for "as wide as needed": DuckDB's widest is 38
        return f"DECIMAL({precision if isinstance(precision, int) else 38},{scale if isinstance(scale, int) else 0})"
    if name == "Datetime":
        unit = _arg(node, 0, "time_unit") or "us"
        zone = _arg(node, 1, "time_zone")
        if zone:
            return "TIMESTAMP WITH TIME ZONE"  # DuckDB keeps the instant, not the zone's name
        if unit not in _TIMESTAMP:
            raise _Unknown(str(unit))
        return _TIMESTAMP[unit]
    if name == "Duration":
        return "INTERVAL"
    if name == "List":
        return f"{_duckdb(_arg(node, 0, 'inner'))}[]"
    if name == "Array":
        inner = _duckdb(_arg(node, 0, "inner"))
        shape = _arg(node, 1, "shape")
        sizes = shape if isinstance(shape, list) else [shape] if isinstance(shape, int) else []
        if not sizes or not all(isinstance(s, int) for s in sizes):
            raise _Unknown("Array shape")
        # polars' shape is outermost first; DuckDB writes the innermost size first
        return inner + "".join(f"[{s}]" for s in reversed(sizes))
    if name == "Struct":
        return f"STRUCT({', '.join(f'{_quote(n)} {_duckdb(t)}' for n, t in _struct_fields(node))})"
    raise _Unknown(name)


def _arg(node: _Type, position: int, keyword: str) -> Any:
    if keyword in node.kwargs:
        return node.kwargs[keyword]
    return node.args[position] if position < len(node.args) else None


def _struct_fields(node: _Type) -> list[tuple[str, Any]]:
    fields = _arg(node, 0, "fields")
    if isinstance(fields, list) and all(isinstance(p, tuple) for p in fields):
        pairs = fields  # Struct({'a': Int64})
    elif isinstance(fields, list):  # older polars: Struct([Field('a', Int64)])
        pairs = [(_arg(f, 0, "name"), _arg(f, 1, "dtype")) for f in fields if isinstance(f, _Type)]
        if len(pairs) != len(fields):
            raise _Unknown("Struct")
    else:
        raise _Unknown("Struct")
    if not all(isinstance(n, str) for n, _ in pairs):
        raise _Unknown("Struct")
    return [(str(n), t) for n, t in pairs]


def _quote(name: str) -> str:
    """A struct field: bare when DuckDB reads it so, else quoted (DuckDB itself also quotes
    unreserved keywords such as `label`; both spellings name the same type)."""
    if _IDENTIFIER.match(name) and name.lower() not in _MUST_QUOTE:
        return name
    return '"' + name.replace('"', '""') + '"'
