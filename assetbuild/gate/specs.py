"""The rule grammar of DESIGN §4: the YAML of one column, or of `table:`, → `RuleSpec`s.

A spec is a rule not yet placed on a column or an asset; `rules.py` places it, names it and checks
the assets and columns it points at. Every value is validated here (type, regex, duration, SQL
syntax) so that a bad rule file fails at load time with its line and column. Imports yaml and the
standard library only; sqlglot is imported on the first `sql`/`expression` rule, never otherwise.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from typing import Any

from assetbuild.errors import ProjectError, did_you_mean
from assetbuild.gate.yamlnodes import Node
from assetbuild.model.results import Severity

COLUMN_KINDS = (
    "dtype",
    "nullable",
    "unique",
    "min",
    "max",
    "between",
    "isin",
    "not_isin",
    "matches",
    "str_length",
    "finite",
    "references",
    "use",
)
# What a pack may contain: rules that make sense on any asset's column.
PACK_KINDS = tuple(k for k in COLUMN_KINDS if k not in ("references", "use"))
TABLE_KINDS = ("row_count", "row_count_change", "freshness", "unique", "sql", "expression")
SEVERITIES = tuple(s.value for s in Severity)
_META = ("severity", "description")

# dtype families map to polars dtype classes in evaluate.py; aliases read as their family.
DTYPE_FAMILIES = (
    "string",
    "int",
    "float",
    "decimal",
    "numeric",
    "bool",
    "date",
    "datetime",
    "time",
    "duration",
    "categorical",
    "binary",
    "list",
    "struct",
    *(f"int{b}" for b in (8, 16, 32, 64, 128)),
    *(f"uint{b}" for b in (8, 16, 32, 64, 128)),
    "float32",
    "float64",
)
DTYPE_ALIASES = {
    "str": "string",
    "utf8": "string",
    "text": "string",
    "integer": "int",
    "double": "float64",
    "boolean": "bool",
    "timestamp": "datetime",
    "number": "numeric",
}

_DURATION_UNITS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 604800,
    "week": 604800,
    "weeks": 604800,
}
_DURATION_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]+)")
# Constructs Python's `re` accepts but polars' Rust regex engine rejects at evaluation time.
_RUST_UNSUPPORTED = re.compile(r"\(\?<?[=!]|\(\?P=|\\[1-9]")


@dataclass(frozen=True)
class RuleSpec:
    """One rule as written, before it is placed on a column or asset."""

    kind: str
    params: dict[str, Any] = field(hash=False)
    key: Node  # where the rule is written: its source line
    value: Node  # what it says: errors about names it points at go here
    severity: Severity | None = None
    description: str | None = None
    label: str | None = None  # the name of one of several sql/expression rules
    reads: tuple[str, ...] = ()  # other assets it reads (references, sql, expression)


# -- durations --------------------------------------------------------------------------------


def parse_duration(text: str) -> float | None:
    """Seconds in "90s", "30m", "1h30m", "2d", "1w"; None when the text is not a duration."""
    text = text.strip().lower()
    pos, total = 0, 0.0
    while pos < len(text):
        m = _DURATION_PART.match(text, pos)
        if not m or m.group(2) not in _DURATION_UNITS:
            return None
        total += float(m.group(1)) * _DURATION_UNITS[m.group(2)]
        pos = m.end()
    return total if pos and total > 0 else None


def format_duration(seconds: float) -> str:
    """The shortest "2d3h", "1h30m", "45s" form of a duration, for messages."""
    left = int(round(seconds))
    if left <= 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if left >= size:
            parts.append(f"{left // size}{unit}")
            left %= size
    return "".join(parts)


# -- the shared shapes ------------------------------------------------------------------------


def _meta(items: list[tuple[str, Node, Node]]) -> tuple[Severity | None, str | None]:
    severity = description = None
    for key, _, value in items:
        if key == "severity":
            severity = Severity(value.choice("severity", SEVERITIES))
        elif key == "description":
            description = value.string("description")
    return severity, description


def _unwrap(kind: str, node: Node) -> tuple[Node, Severity | None, str | None]:
    """`min: 0`, or the long form `min: {value: 0, severity: warn, description: ...}`."""
    if not node.is_mapping:
        return node, None, None
    items = node.items(("value", *_META), f"'{kind}'")
    value = next((v for k, _, v in items if k == "value"), None)
    if value is None:
        raise node.error(f"'{kind}' written as a mapping needs a `value`", hint=f"{kind}: {{value: ...}}")
    return (value, *_meta(items))


def _params_mapping(
    kind: str, node: Node, allowed: tuple[str, ...]
) -> tuple[dict[str, Node], Severity | None, str | None]:
    """Rules whose value is a mapping of parameters, with severity/description beside them."""
    items = node.items((*allowed, *_META), f"'{kind}'")
    params = {k: v for k, _, v in items if k in allowed}
    if not params:
        raise node.error(f"'{kind}' needs at least one of: {', '.join(allowed)}")
    return (params, *_meta(items))


def _bound(kind: str, node: Node) -> Any:
    """A comparison bound: a number, a date, a timestamp, or `now` (the time of the check).

    Quoted ISO dates and timestamps are read as such, so "2024-01-01" and 2024-01-01 are one bound.
    """
    v = node.value() if node.is_scalar else None
    if isinstance(v, str) and v != "now":
        try:
            v = dt.datetime.fromisoformat(v) if ("T" in v or ":" in v) else dt.date.fromisoformat(v)
        except ValueError:
            v = None
    if isinstance(v, bool) or not isinstance(v, int | float | str | dt.date):
        raise node.error(
            f"'{kind}' must be a number, a date, a timestamp or `now`, not {node.describe()}",
            hint="dates are written 2024-01-31, timestamps 2024-01-31T12:00:00Z",
        )
    if isinstance(v, float) and v != v:
        raise node.error(f"'{kind}' cannot be NaN")
    if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
        return int(v)  # 0 and 0.0 are one bound, and must fingerprint as one
    return v


def _scalar_list(kind: str, node: Node) -> list[Any]:
    values = []
    for item in node.sequence(f"'{kind}'"):
        v = item.value() if item.is_scalar else None
        if v is None or not isinstance(v, str | int | float | bool | dt.date):
            raise item.error(
                f"'{kind}' values must be strings, numbers, booleans or dates, not {item.describe()}",
                hint="nulls are governed by `nullable`" if v is None and item.is_scalar else None,
            )
        if isinstance(v, bool) and str(item.raw.value).lower() not in ("true", "false"):
            # YAML 1.1 reads NO, yes, on, off as booleans: the Norway problem in a country list.
            raise item.error(
                f"'{item.raw.value}' is read as the boolean {v}",
                hint=f'write it in quotes: "{item.raw.value}"',
            )
        values.append(v)
    if not values:
        raise node.error(f"'{kind}' needs at least one value")
    # A set: order and repeats are formatting, so they must not change the fingerprint.
    return sorted(set(values), key=lambda v: (type(v).__name__, v))


def _comparable(a: Any, b: Any) -> bool:
    num = (int, float)
    return (isinstance(a, num) and isinstance(b, num)) or (type(a) is type(b) and a != "now")


def _check_regex(node: Node, pattern: str) -> None:
    try:
        re.compile(pattern)
    except re.error as e:
        # re.error.pos indexes the pattern; the pattern starts after the quote, if any.
        offset = (e.pos or 0) + node.quote_width if node.raw.start_mark.line == node.raw.end_mark.line else 0
        raise node.error(f"invalid regular expression: {e.msg}", col_offset=offset) from None
    bad = _RUST_UNSUPPORTED.search(pattern)
    if bad:
        raise node.error(
            f"'{bad.group(0)}' (look-around or back-reference) is not supported by the polars regex engine",
            hint="rewrite the pattern without look-around, or use an `expression:` rule",
        )


# -- column rules -----------------------------------------------------------------------------


def parse_column(node: Node, what: str, in_pack: bool = False) -> list[RuleSpec]:
    """The rules of one column, `{dtype: float, min: 0, use: iso_currency}`, or of one pack.

    A column may also say `severity:` and `description:` beside its rules: defaults for each of
    them that does not say its own. A pack may not (its file has its own description).
    """
    allowed = PACK_KINDS if in_pack else (*COLUMN_KINDS, *_META)
    items = node.items(allowed, what)
    severity, description = _meta(items)
    specs = []
    for kind, key, value in items:
        if kind in _META:
            continue
        spec = _column_rule(kind, key, value)
        if spec is not None:
            specs.append(
                replace(spec, severity=spec.severity or severity, description=spec.description or description)
            )
    return specs


def column_description(node: Node) -> str | None:
    """A column's own `description:` (documentation; parse_column checked it is text)."""
    if not node.is_mapping:
        return None
    for key, _, value in node.items(None, "a column"):
        if key == "description":
            return value.string("description")
    return None


def _column_rule(kind: str, key: Node, node: Node) -> RuleSpec | None:
    if kind == "str_length":
        p, severity, description = _params_mapping(kind, node, ("min", "max"))
        lo = p["min"].integer("str_length min", 0) if "min" in p else None
        hi = p["max"].integer("str_length max", 0) if "max" in p else None
        if lo is not None and hi is not None and lo > hi:
            raise node.error(f"str_length min {lo} is greater than max {hi}")
        return RuleSpec(kind, {"min": lo, "max": hi}, key, node, severity, description)

    value, severity, description = _unwrap(kind, node)
    params: dict[str, Any]
    reads: tuple[str, ...] = ()
    if kind == "dtype":
        name = value.string("dtype").strip().lower()
        name = DTYPE_ALIASES.get(name, name)
        if name not in DTYPE_FAMILIES:
            raise value.error(
                f"unknown dtype '{name}'",
                hint=did_you_mean(name, [*DTYPE_FAMILIES, *DTYPE_ALIASES])
                or "expected one of: " + ", ".join(DTYPE_FAMILIES),
            )
        params = {"dtype": name}
    elif kind in ("nullable", "unique", "finite"):
        flag = value.boolean(kind)
        # `nullable: true`, `unique: false`, `finite: false` state the absence of a constraint.
        if flag == (kind == "nullable"):
            return None
        params = {"value": flag}
    elif kind in ("min", "max"):
        params = {"value": _bound(kind, value)}
    elif kind == "between":
        items = value.sequence("'between'")
        if len(items) != 2:
            raise value.error("'between' needs two values: [low, high]")
        lo, hi = (_bound("between", i) for i in items)
        if _comparable(lo, hi) and lo > hi:
            raise value.error(f"'between' low {lo!r} is greater than high {hi!r}")
        params = {"min": lo, "max": hi}
    elif kind in ("isin", "not_isin"):
        params = {"values": _scalar_list(kind, value)}
    elif kind == "matches":
        pattern = value.string("matches")
        _check_regex(value, pattern)
        params = {"pattern": pattern}
    elif kind == "references":
        target = value.string("references")
        asset, _, column = target.partition(".")
        if not asset or not column:
            raise value.error(
                f"'references' must name ASSET.COLUMN, not '{target}'",
                hint="references: merchants.merchant_id",
            )
        params = {"asset": asset, "column": column}
        reads = (asset,)
    elif kind == "use":
        names = [value] if value.is_scalar else value.sequence("'use'")
        params = {"packs": [n.string("use") for n in names]}
    else:  # pragma: no cover - COLUMN_KINDS and this function move together
        raise AssertionError(kind)
    return RuleSpec(kind, params, key, value, severity, description, reads=reads)


# -- table rules ------------------------------------------------------------------------------


def parse_table(node: Node) -> list[RuleSpec]:
    """The `table:` section: row counts, freshness, compound keys, SQL audits and expressions."""
    specs: list[RuleSpec] = []
    for kind, key, value in node.items(TABLE_KINDS, "'table'"):
        if kind in ("sql", "expression"):
            specs.extend(_sql_rules(kind, key, value))
        else:
            specs.append(_table_rule(kind, key, value))
    return specs


def _table_rule(kind: str, key: Node, node: Node) -> RuleSpec:
    if kind == "unique":
        value, severity, description = _unwrap(kind, node)
        columns = [c.string("a unique column") for c in value.sequence("table 'unique'")]
        if not columns:
            raise value.error("table 'unique' needs at least one column")
        return RuleSpec(kind, {"columns": sorted(set(columns))}, key, value, severity, description)
    if kind == "row_count":
        p, severity, description = _params_mapping(kind, node, ("min", "max"))
        lo = p["min"].integer("row_count min", 0) if "min" in p else None
        hi = p["max"].integer("row_count max", 0) if "max" in p else None
        if lo is not None and hi is not None and lo > hi:
            raise node.error(f"row_count min {lo} is greater than max {hi}")
        return RuleSpec(kind, {"min": lo, "max": hi}, key, node, severity, description)
    if kind == "row_count_change":
        p, severity, description = _params_mapping(kind, node, ("max_drop", "max_growth"))
        drop = p["max_drop"].number("max_drop", 0) if "max_drop" in p else None
        if drop is not None and drop > 1:
            raise p["max_drop"].error("max_drop is a fraction of the previous rows (0.5 = 50%), at most 1")
        growth = p["max_growth"].number("max_growth", 0) if "max_growth" in p else None
        return RuleSpec(kind, {"max_drop": drop, "max_growth": growth}, key, node, severity, description)
    if kind == "freshness":
        items = node.items(("column", "max_age", *_META), "'freshness'")
        p = {k: v for k, _, v in items}
        for required in ("column", "max_age"):
            if required not in p:
                raise node.error(
                    f"'freshness' needs `{required}`", hint="freshness: {column: ts, max_age: 1h}"
                )
        age_text = str(p["max_age"].value()) if p["max_age"].is_scalar else ""
        seconds = parse_duration(age_text)
        if seconds is None:
            raise p["max_age"].error(
                f"max_age must be a duration, not {p['max_age'].describe()}",
                hint="use e.g. 30m, 1h, 2d or 1h30m",
            )
        params = {"column": p["column"].string("freshness column"), "max_age_s": seconds}
        return RuleSpec(kind, params, key, node, *_meta(items))
    raise AssertionError(kind)  # pragma: no cover


def _sql_rules(kind: str, key: Node, node: Node) -> list[RuleSpec]:
    """`sql: "SELECT ..."` / `{query: ..., name:, severity:}` / a list of those (each named)."""
    text_key = "query" if kind == "sql" else "expression"
    if node.is_scalar:
        return [_sql_spec(kind, key, node, None, None, None)]
    if node.is_mapping:
        return [_sql_item(kind, key, node, text_key, name_required=False)]
    specs, labels = [], set()
    for i, item in enumerate(node.sequence(f"'{kind}'"), start=1):
        if item.is_scalar and kind == "expression":
            spec = _sql_spec(kind, key, item, str(i), None, None)
        else:
            spec = _sql_item(kind, key, item, text_key, name_required=kind == "sql", index=i)
        if spec.label in labels:
            raise item.error(f"two {kind} rules are named '{spec.label}'")
        labels.add(spec.label or "")
        specs.append(spec)
    return specs


def _sql_item(
    kind: str, key: Node, node: Node, text_key: str, name_required: bool, index: int | None = None
) -> RuleSpec:
    items = node.items((text_key, "name", *_META), f"an '{kind}' rule")
    p = {k: v for k, _, v in items}
    if text_key not in p:
        raise node.error(f"this '{kind}' rule needs `{text_key}`")
    if name_required and "name" not in p:
        raise node.error(
            f"each rule in an '{kind}' list needs a `name`", hint=f"- {{name: ..., {text_key}: ...}}"
        )
    label = p["name"].string("name") if "name" in p else (str(index) if index is not None else None)
    if label is not None and not re.fullmatch(r"[A-Za-z0-9_\-]+", label):
        raise p["name"].error(f"rule name '{label}' may hold only letters, digits, '_' and '-'")
    return _sql_spec(kind, key, p[text_key], label, *_meta(items))


def _sql_spec(
    kind: str, key: Node, node: Node, label: str | None, severity: Severity | None, description: str | None
) -> RuleSpec:
    text = node.string(kind).strip().rstrip(";").strip()
    normalized, tables = _parse_sql(kind, node, text)
    # `normalized` (sqlglot's canonical SQL) feeds the fingerprint; `text` is what runs.
    params = {"query" if kind == "sql" else "expression": text, "normalized": normalized}
    return RuleSpec(kind, params, key, node, severity, description, label=label, reads=tables)


def _parse_sql(kind: str, node: Node, text: str) -> tuple[str, tuple[str, ...]]:
    """Canonical SQL and the table names it reads; a syntax error points into the rule file."""
    import sqlglot  # only projects with sql/expression rules pay for it
    from sqlglot import exp

    from assetbuild.definitions.sql_assets import SqlProblem, jinja_in, sql_problem

    def refuse(problem: SqlProblem, hint: str | None) -> ProjectError:
        line, col = _sql_error_position(node, text, problem.line, problem.col)
        return ProjectError(problem.message, node.path, line, col, hint=hint)

    jinja = jinja_in(text, "rules")
    if jinja is not None:
        raise refuse(jinja, "write the SQL itself, naming the columns and assets it reads")
    try:
        tree = sqlglot.parse_one(text, dialect="duckdb")
    except RecursionError:
        raise node.error(f"the '{kind}' rule is nested too deeply to analyse") from None
    except Exception as e:  # ParseError, TokenError, or any other SqlglotError
        problem = sql_problem(e, text)
        if problem is None:
            raise
        message = f"invalid SQL in '{kind}' rule: {problem.message}"
        raise refuse(SqlProblem(message, problem.line, problem.col), _SQL_HINTS[kind]) from None
    if kind == "sql" and not isinstance(tree, exp.Query):
        raise node.error("an 'sql' rule must be one SELECT query returning the failing rows")
    if kind == "expression" and isinstance(tree, exp.Query | exp.Command | exp.DDL | exp.DML):
        raise node.error(
            "an 'expression' rule is a boolean SQL expression such as `amount >= 0`",
            hint="a query returning failing rows belongs in `sql:`",
        )
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    tables = set()
    for t in tree.find_all(exp.Table):
        if not t.name:  # a table function such as read_parquet(...)
            raise node.error(
                f"'{t.sql(dialect='duckdb')}': a rule reads assets only",
                hint="its result is cached by the content of the assets it names; files are not tracked",
            )
        if t.db:
            raise node.error(f"'{t.sql(dialect='duckdb')}': refer to assets by their bare name")
        if t.name not in ctes:
            tables.add(t.name)
    return tree.sql(dialect="duckdb"), tuple(sorted(tables))


_SQL_HINTS = {
    "expression": "an 'expression' rule is one boolean SQL expression over the asset's columns, "
    "true for the good rows: e.g. `amount >= 0 AND currency IS NOT NULL`",
    "sql": "an 'sql' rule is one SELECT query returning the failing rows: "
    "e.g. `SELECT * FROM orders WHERE amount < 0`",
}


def _sql_error_position(node: Node, text: str, q_line: int | None, q_col: int | None) -> tuple[int, int]:
    """Map a (line, col) inside the query onto the rule file, where the layout allows.

    `text` is the query as written, stripped: the position is first moved back into the value
    as YAML holds it (the whitespace stripped off its start), then onto the file.
    """
    if q_line is None or q_col is None:
        return node.line, node.col
    raw = node.string("rule")
    lead = raw[: len(raw) - len(raw.lstrip())]
    if lead:
        lines = text.split("\n")
        offset = sum(len(x) + 1 for x in lines[: q_line - 1]) + q_col - 1 + len(lead)
        q_line = raw.count("\n", 0, offset) + 1
        q_col = offset - (raw.rfind("\n", 0, offset) + 1) + 1
    style = getattr(node.raw, "style", None)
    single_line = node.raw.start_mark.line == node.raw.end_mark.line
    if style in (None, "'", '"') and single_line and q_line == 1:
        return node.line, node.col + node.quote_width + q_col - 1
    if style == "|":  # literal block: query line N is file line (node line + N), after the indent
        file_line = node.line + q_line
        lines = str(node.raw.start_mark.buffer or "").splitlines()
        if file_line - 1 < len(lines):
            line_text = lines[file_line - 1]
            return file_line, len(line_text) - len(line_text.lstrip(" ")) + q_col
    return node.line, node.col
