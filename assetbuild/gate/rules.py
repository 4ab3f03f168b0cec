"""Rule files → `RuleSet`s: reads `rules/*.yaml`, places each rule on its asset and column, names
and fingerprints it, and checks the assets and columns it points at.

Static, like `definitions/`: imports yaml and the standard library only (sqlglot on the first
`sql`/`expression` rule), never polars, pandera or duckdb, so it can run on the no-op path.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xxhash

from assetbuild.errors import ProjectError, did_you_mean
from assetbuild.gate.packs import Packs
from assetbuild.gate.specs import SEVERITIES, RuleSpec, parse_column, parse_table
from assetbuild.gate.yamlnodes import compose
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
    for file in files:
        label = file.relative_to(project_root).as_posix()
        try:
            text = file.read_text(encoding="utf-8")
        except UnicodeDecodeError as e:
            raise ProjectError(f"not UTF-8 text: {e.reason}", label) from None
        asset, rules, file_reads = _load_file(label, text, asset_names, packs)
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
        asset: RuleSet(asset, tuple(rules), fingerprint(rules), tuple(sorted(reads[asset] - {asset})))
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


# -- one file ---------------------------------------------------------------------------------


def _load_file(
    label: str, text: str, asset_names: Collection[str], packs: Packs
) -> tuple[str, list[Rule], set[str]]:
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
    if "columns" in sections:
        for column, _, node in sections["columns"][1].items(None, "'columns'"):
            for spec in parse_column(node, f"column '{column}'"):
                if spec.kind == "use":
                    rules.extend(_expand_use(spec, column, default, packs))
                    continue
                _check_reads(spec, asset_names, reads)
                rules.append(
                    _place(spec, f"{column}.{spec.kind}", column, spec.severity or default, spec.description)
                )
    if "table" in sections:
        for spec in parse_table(sections["table"][1]):
            _check_reads(spec, asset_names, reads)
            name = f"table.{spec.kind}" + (f".{spec.label}" if spec.label else "")
            params = (
                dict(spec.params, tables=list(spec.reads)) if spec.kind in ("sql", "expression") else None
            )
            rules.append(_place(spec, name, None, spec.severity or default, spec.description, params))
    return asset, rules, reads


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
