"""Rule files → `RuleSet`s: reads `rules/*.yaml`, places each rule on its asset and column, names
and fingerprints it, and checks the assets and columns it points at.

Static, like `definitions/`: imports yaml and the standard library only (sqlglot on the first
`sql`/`expression` rule), never polars, pandera or duckdb, so it can run on the no-op path.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xxhash

from assetbuild.errors import ProjectError, did_you_mean
from assetbuild.gate.packs import Packs
from assetbuild.gate.specs import SEVERITIES, RuleSpec, column_description, parse_column, parse_table
from assetbuild.gate.yamlnodes import Node, compose
from assetbuild.model.results import Severity

# Bump when a rule's meaning changes (how it evaluates), so cached check results are not reused.
RULES_FORMAT = 1
_FILE_KEYS = ("asset", "columns", "table", "severity", "description")


@dataclass(frozen=True)
class Rule:
    """One rule on one asset, e.g. `amount.min`, `table.row_count`, `currency.iso_currency.isin`."""

    name: str
    kind: str  # a key of the rule grammar: "min", "isin", "row_count", "sql", ...
    column: str | None  # None for table rules
    params: dict[str, Any] = field(hash=False)  # canonical values; see specs.py for each kind
    severity: Severity
    description: str | None
    source: str  # "rules/x.yaml:12", the line the rule is written on

    @property
    def path(self) -> str:
        return self.source.rsplit(":", 1)[0]

    @property
    def line(self) -> int | None:
        tail = self.source.rsplit(":", 1)[-1]
        return int(tail) if tail.isdigit() else None

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns of its own asset this rule needs."""
        if self.column is not None:
            return (self.column,)
        if self.kind == "freshness":
            return (self.params["column"],)
        if self.kind == "unique":
            return tuple(self.params["columns"])
        return ()

    def canonical(self) -> dict[str, Any]:
        """What the fingerprint covers: everything but where the rule is written.

        SQL enters as sqlglot's canonical text, so re-wrapping a query in the YAML changes nothing.
        """
        params = self.params
        if "normalized" in params:
            params = {"normalized": params["normalized"]}
        return {
            "name": self.name,
            "kind": self.kind,
            "column": self.column,
            "params": params,
            "severity": self.severity.value,
            "description": self.description,
        }


@dataclass(frozen=True)
class RuleSet:
    """All rules of one asset, merged from every rule file that names it."""

    asset: str
    rules: tuple[Rule, ...]
    fingerprint: str  # xxh3-128 over the canonical rules, insensitive to YAML layout and order
    references: tuple[str, ...]  # other assets the rules read; they must be built first
    # column -> its `description:` in a rule file: documentation (show, report), never a check
    column_descriptions: dict[str, str] = field(default_factory=dict, hash=False)

    @property
    def uses_clock(self) -> bool:
        """True when a result depends on the time of the check (freshness, `now` bounds)."""
        return any(
            r.kind == "freshness"
            or "now" in (r.params.get("value"), r.params.get("min"), r.params.get("max"))
            for r in self.rules
        )

    @property
    def uses_previous_rows(self) -> bool:
        """True when a result depends on the previous materialization's row count."""
        return any(r.kind == "row_count_change" for r in self.rules)

    def rule(self, name: str) -> Rule | None:
        return next((r for r in self.rules if r.name == name), None)


def load_rules(project_root: Path, asset_names: Collection[str]) -> dict[str, RuleSet]:
    """Every `rules/*.yaml` of the project, by asset; a mistake raises ProjectError at its line."""
    project_root = Path(project_root)
    rules_dir = project_root / "rules"
    if not rules_dir.is_dir():
        return {}
    files = sorted(
        p
        for p in rules_dir.iterdir()
        # dot-files are editor backups and lock files, not rules
        if p.suffix in (".yaml", ".yml") and not p.name.startswith(".") and p.is_file()
    )
    packs = Packs()
    by_asset: dict[str, list[Rule]] = {}
    reads: dict[str, set[str]] = {}
    described: dict[str, dict[str, str]] = {}
    for file in files:
        label = file.relative_to(project_root).as_posix()
        try:
            text = file.read_text(encoding="utf-8")
        except UnicodeDecodeError as e:
            raise ProjectError(f"not UTF-8 text: {e.reason}", label) from None
        asset, rules, file_reads, about = _load_file(label, text, asset_names, packs)
        for column, words in about.items():
            described.setdefault(asset, {}).setdefault(column, words)  # the first file's wins
        placed = by_asset.setdefault(asset, [])
        known = {r.name: r for r in placed}
        for rule in rules:
            if rule.name in known:
                raise ProjectError(
                    f"rule '{rule.name}' of asset '{asset}' is already defined at {known[rule.name].source}",
                    rule.path,
                    rule.line,
                    hint="merge the two, or remove one",
                )
            known[rule.name] = rule
            placed.append(rule)
        reads.setdefault(asset, set()).update(file_reads)
    return {
        asset: RuleSet(
            asset,
            tuple(rules),
            fingerprint(rules),
            tuple(sorted(reads[asset] - {asset})),
            described.get(asset, {}),
        )
        for asset, rules in by_asset.items()
    }


def fingerprint(rules: Iterable[Rule]) -> str:
    canonical = sorted((r.canonical() for r in rules), key=lambda c: c["name"])
    text = json.dumps(
        {"format": RULES_FORMAT, "rules": canonical},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=_json_default,
    )
    return xxhash.xxh3_128_hexdigest(text.encode("utf-8"))


def _json_default(value: Any) -> str:
    # Tagged, so that the date 2024-01-01 and the string "2024-01-01" hash apart.
    if isinstance(value, dt.datetime | dt.date):
        return f"{type(value).__name__}:{value.isoformat()}"
    raise TypeError(f"not a rule value: {value!r}")


def check_columns(ruleset: RuleSet, columns: Collection[str]) -> None:
    """Fail, naming the rule's file and line, when a rule names a column the data lacks."""
    present = list(columns)
    for rule in ruleset.rules:
        for column in rule.columns:
            if column not in present:
                hint = did_you_mean(column, present) or (
                    "its columns are: " + ", ".join(present[:20]) + (", ..." if len(present) > 20 else "")
                )
                raise ProjectError(
                    f"rule '{rule.name}' names column '{column}', which asset '{ruleset.asset}' does not have",
                    rule.path,
                    rule.line,
                    hint=hint,
                )


def check_types(ruleset: RuleSet, schema: Mapping[str, str]) -> None:
    """Fail, naming the rule's file and line, the column and its type, when a rule cannot apply
    to the type the data has (`min: 5` on a String column, `matches` on an Int64 one).

    `schema` maps each column to its type as polars names it (`str(dtype)`: "Int64",
    "Datetime(time_unit='us', time_zone=None)"). Called on the data before its rules run: a rule
    and the data disagreeing is a mistake in the project, like a rule naming a missing column.
    """
    for rule in ruleset.rules:
        column = rule.params["column"] if rule.kind == "freshness" else rule.column
        if column is None or column not in schema:
            continue
        type_name = schema[column]
        reason = type_conflict(rule.kind, rule.params, type_name)
        if reason is None:
            continue
        family = _base_type(type_name)
        raise ProjectError(
            f"rule '{rule.name}' cannot apply to column '{column}' of asset '{ruleset.asset}', "
            f"which holds {family}: {reason}",
            rule.path,
            rule.line,
            hint=_type_hint(rule.kind, column),
        )


def type_conflict(kind: str, params: Mapping[str, Any], type_name: str) -> str | None:
    """Why a rule of `kind` cannot apply to a column of `type_name`, or None when it can.

    The same judgement evaluate.py makes when it compiles the rule, on type names only, so that
    it can be made before any data is read (and without polars).
    """
    t = _base_type(type_name)
    text = t in ("String", "Categorical", "Enum")
    integer = re.fullmatch(r"U?Int\d+", t) is not None
    numeric = integer or t in ("Float32", "Float64", "Decimal")
    temporal = t in ("Date", "Datetime")
    if kind in ("min", "max", "between"):
        bounds = [params["value"]] if kind in ("min", "max") else [params["min"], params["max"]]
        for bound in bounds:
            if bound == "now" and not temporal:
                return "`now` compares with date or datetime columns"
            if isinstance(bound, int | float) and not isinstance(bound, bool) and not numeric:
                return "a number compares with numeric columns"
            if isinstance(bound, dt.date) and not temporal:
                return "a date compares with date or datetime columns"
        return None
    if kind in ("matches", "str_length"):
        return None if text else f"'{kind}' applies to text (String or Categorical columns)"
    if kind == "finite":
        return None if numeric else "'finite' applies to numbers"
    if kind == "freshness":
        return None if temporal else "freshness needs a date or datetime column"
    if kind in ("isin", "not_isin"):
        return _isin_conflict(params["values"], t, text, integer, numeric)
    return None


def _isin_conflict(values: list[Any], t: str, text: bool, integer: bool, numeric: bool) -> str | None:
    def all_of(*types: type) -> bool:
        return all(isinstance(v, types) and not isinstance(v, bool) for v in values)

    if text:
        return None if all_of(str) else "a string column needs string values"
    if integer:
        return None if all_of(int, float) else "an integer column needs numeric values"
    if numeric:
        return None if all_of(int, float) else "a numeric column needs numeric values"
    if t == "Boolean" and all(isinstance(v, bool) for v in values):
        return None
    if t == "Date" and all(isinstance(v, dt.date) and not isinstance(v, dt.datetime) for v in values):
        return None
    return f"isin is not supported for {t} columns with these values"


def _base_type(type_name: str) -> str:
    """ "Datetime(time_unit='us', time_zone=None)" → "Datetime": the family a message names."""
    return type_name.split("(", 1)[0].strip()


# What each rule applies to, for the hints of the two checks above and below.
_APPLIES = {
    "min": "min, max and between compare numbers with numeric columns, and dates, timestamps or "
    "`now` with date and datetime columns",
    "matches": "matches and str_length apply to String and Categorical columns",
    "finite": "finite applies to numeric columns",
    "isin": "isin and not_isin take values of the column's type: strings for text, numbers for "
    "numbers, true/false for Boolean, dates for Date",
    "freshness": "freshness reads a Date or Datetime column",
}
_APPLIES.update(max=_APPLIES["min"], between=_APPLIES["min"], str_length=_APPLIES["matches"])
_APPLIES["not_isin"] = _APPLIES["isin"]


def _type_hint(kind: str, column: str) -> str:
    return (
        f"{_APPLIES[kind]}; fix the rule, or give '{column}' the type it expects where it is made "
        f'(a cast in the asset; for a source, options = {{schema_overrides = {{{column} = "..."}}}})'
    )


# `dtype:` families as a column of that family is named by polars: what a rule declared beside
# them must fit. "numeric" stands as Float64: every rule that fits one numeric type fits it.
_DTYPE_AS_TYPE = {
    "string": "String",
    "int": "Int64",
    "float": "Float64",
    "decimal": "Decimal",
    "numeric": "Float64",
    "bool": "Boolean",
    "date": "Date",
    "datetime": "Datetime",
    "time": "Time",
    "duration": "Duration",
    "categorical": "Categorical",
    "binary": "Binary",
    "list": "List",
    "struct": "Struct",
    "float32": "Float32",
    "float64": "Float64",
    **{f"int{b}": f"Int{b}" for b in (8, 16, 32, 64, 128)},
    **{f"uint{b}": f"UInt{b}" for b in (8, 16, 32, 64, 128)},
}


def _check_declared_dtype(column: str, placed: list[tuple[Rule, Node]]) -> None:
    """A rule that contradicts the `dtype:` written for its own column fails when the file loads:
    `{dtype: string, min: 5}` can never pass, whatever the data."""
    dtype = next((r for r, _ in placed if r.kind == "dtype"), None)
    if dtype is None:
        return
    family = dtype.params["dtype"]
    for rule, key in placed:
        reason = type_conflict(rule.kind, rule.params, _DTYPE_AS_TYPE[family])
        if reason is not None:
            raise key.error(
                f"rule '{rule.name}' cannot apply to column '{column}', declared `dtype: {family}` "
                f"at {dtype.source}: {reason}",
                hint=f"{_APPLIES[rule.kind]}; remove the rule or fix the dtype",
            )


# -- one file ---------------------------------------------------------------------------------


def _load_file(
    label: str, text: str, asset_names: Collection[str], packs: Packs
) -> tuple[str, list[Rule], set[str], dict[str, str]]:
    root = compose(label, text)
    sections = {k: (key, value) for k, key, value in root.items(_FILE_KEYS, "a rule file")}
    if "asset" not in sections:
        raise root.error("a rule file needs `asset: NAME` (the asset its rules check)")
    asset_node = sections["asset"][1]
    asset = asset_node.string("asset")
    if asset not in asset_names:
        raise asset_node.error(f"unknown asset '{asset}'", hint=did_you_mean(asset, asset_names))
    default = Severity.ERROR
    if "severity" in sections:
        default = Severity(sections["severity"][1].choice("severity", SEVERITIES))
    if "description" in sections:
        sections["description"][1].string("description")  # documentation only; must still be text

    rules: list[Rule] = []
    reads: set[str] = set()
    about: dict[str, str] = {}
    if "columns" in sections:
        for column, _, node in sections["columns"][1].items(None, "'columns'"):
            placed: list[tuple[Rule, Node]] = []  # each rule with the key it is written at
            specs = parse_column(node, f"column '{column}'")
            words = column_description(node)
            if words:
                about[column] = words
            for spec in specs:
                if spec.kind == "use":
                    placed.extend((r, spec.key) for r in _expand_use(spec, column, default, packs))
                    continue
                _check_reads(spec, asset_names, reads)
                rule = _place(
                    spec, f"{column}.{spec.kind}", column, spec.severity or default, spec.description
                )
                placed.append((rule, spec.key))
            _check_declared_dtype(column, placed)
            rules.extend(r for r, _ in placed)
    if "table" in sections:
        for spec in parse_table(sections["table"][1]):
            _check_reads(spec, asset_names, reads)
            name = f"table.{spec.kind}" + (f".{spec.label}" if spec.label else "")
            params = (
                dict(spec.params, tables=list(spec.reads)) if spec.kind in ("sql", "expression") else None
            )
            rules.append(_place(spec, name, None, spec.severity or default, spec.description, params))
    return asset, rules, reads, about


def _place(
    spec: RuleSpec,
    name: str,
    column: str | None,
    severity: Severity,
    description: str | None,
    params: dict[str, Any] | None = None,
) -> Rule:
    return Rule(
        name=name,
        kind=spec.kind,
        column=column,
        params=params if params is not None else dict(spec.params),
        severity=severity,
        description=description,
        source=spec.key.where,
    )


def _expand_use(use: RuleSpec, column: str, default: Severity, packs: Packs) -> list[Rule]:
    """`currency: {use: iso_currency}` → the pack's rules, named `currency.iso_currency.KIND`.

    Their source is the `use:` line; a severity or description written beside `use:` wins over the pack's.
    """
    rules = []
    names: list[str] = use.params["packs"]
    items = [use.value] if use.value.is_scalar else use.value.sequence("'use'")
    for name, node in zip(names, items, strict=True):
        pack = packs.get(name)
        if pack is None:
            raise node.error(
                f"unknown rule pack '{name}'",
                hint=did_you_mean(name, packs.names()) or "available packs: " + ", ".join(packs.names()),
            )
        for spec in pack.specs:
            moved = RuleSpec(spec.kind, spec.params, use.key, node, spec.severity, spec.description)
            rules.append(
                _place(
                    moved,
                    f"{column}.{pack.name}.{spec.kind}",
                    column,
                    use.severity or spec.severity or default,
                    use.description or spec.description or pack.description,
                )
            )
    return rules


def _check_reads(spec: RuleSpec, asset_names: Collection[str], reads: set[str]) -> None:
    for name in spec.reads:
        if name not in asset_names:
            what = "references" if spec.kind == "references" else f"this '{spec.kind}' rule reads"
            raise spec.value.error(
                f"{what} '{name}', which is not an asset", hint=did_you_mean(name, asset_names)
            )
        reads.add(name)
