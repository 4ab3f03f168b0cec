"""Column lineage of one SQL query with sqlglot: which input columns each output column comes from.

Every output column gets its input columns with an OpenLineage transformation: DIRECT (IDENTITY,
TRANSFORMATION, AGGREGATION) when its value is computed from them, INDIRECT (WINDOW, CONDITIONAL,
FILTER) when they only steer it. Dependencies of the whole result (JOIN, FILTER, GROUP_BY, SORT)
are reported once, for the dataset. Lineage is followed through CTEs, derived tables, set
operations and `SELECT *` (expanded from the upstream schemas).

It never invents lineage: a column that cannot be placed on one known upstream column is left
out, and a query sqlglot cannot analyse yields no column lineage at all. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from sqlglot import exp
    from sqlglot.optimizer.scope import Scope

DIALECT = "duckdb"

DIRECT = "DIRECT"
INDIRECT = "INDIRECT"
IDENTITY = "IDENTITY"
TRANSFORMATION = "TRANSFORMATION"
AGGREGATION = "AGGREGATION"
JOIN = "JOIN"
FILTER = "FILTER"
GROUP_BY = "GROUP_BY"
SORT = "SORT"
WINDOW = "WINDOW"
CONDITIONAL = "CONDITIONAL"

# Composing two DIRECT steps keeps the stronger one: an aggregate of a transformed column is an
# aggregation, an identity of a transformation is a transformation.
_DIRECT_RANK = {IDENTITY: 0, TRANSFORMATION: 1, AGGREGATION: 2}


@dataclass(frozen=True, order=True)
class ColumnSource:
    """One input column that an output column (or the whole output) depends on."""

    dataset: str  # the upstream asset, spelled as in `upstream_schemas`
    column: str  # the upstream column, spelled as in its schema
    type: str  # DIRECT | INDIRECT
    subtype: str  # IDENTITY | TRANSFORMATION | AGGREGATION | JOIN | FILTER | GROUP_BY | SORT | WINDOW | CONDITIONAL
    masking: bool = False  # the value cannot be read back from the output (hash, count)

    def to_json(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "column": self.column,
            "type": self.type,
            "subtype": self.subtype,
            "masking": self.masking,
        }


@dataclass(frozen=True)
class ColumnLineage:
    """Per output column its sources, and the sources that affect every row of the output."""

    fields: dict[str, tuple[ColumnSource, ...]]
    dataset: tuple[ColumnSource, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "fields": {name: [s.to_json() for s in srcs] for name, srcs in self.fields.items()},
            "dataset": [s.to_json() for s in self.dataset],
        }


EMPTY = ColumnLineage(fields={})


def sql_column_lineage(
    sql: str,
    upstream_schemas: Mapping[str, Sequence[tuple[str, str]]],
    *,
    output_columns: Sequence[str] | None = None,
    dialect: str = DIALECT,
) -> ColumnLineage:
    """Column lineage of `sql`, reading tables named as the keys of `upstream_schemas`.

    `upstream_schemas` maps each upstream table to its `[(column, dtype)]`; `output_columns`, when
    known, spells the output columns as the engine produced them (DuckDB is case-insensitive, so
    sqlglot's lower-cased names are mapped back onto them) and drops any it cannot match.
    """
    try:
        return _Analysis(sql, upstream_schemas, dialect).run(output_columns)
    except Exception:
        # Lineage is best effort and must never fail a build: a query sqlglot cannot analyse (an
        # odd dialect feature, a table function) gets no column lineage rather than a wrong one.
        return EMPTY


class _Analysis:
    def __init__(self, sql: str, schemas: Mapping[str, Sequence[tuple[str, str]]], dialect: str) -> None:
        import sqlglot
        from sqlglot.optimizer.qualify import qualify
        from sqlglot.optimizer.scope import build_scope

        self.tables = {name.lower(): name for name in schemas}
        self.columns = {name.lower(): {c.lower(): c for c, _ in cols} for name, cols in schemas.items()}
        # Types do not matter for lineage, and engine dtype names need not parse as SQL types.
        mapping: dict[str, object] = {
            name: {c: "UNKNOWN" for c, _ in cols} for name, cols in schemas.items() if cols
        }
        tree = sqlglot.parse_one(sql, read=dialect)
        tree = qualify(
            tree,
            dialect=dialect,
            schema=mapping,
            validate_qualify_columns=False,
            quote_identifiers=False,
        )
        root = build_scope(tree)
        if root is None:
            raise ValueError("not a query")
        self.root = root
        # A subquery's scope is its SELECT (walk_in_scope yields it and stops there).
        self.scope_of: dict[int, Scope] = {id(s.expression): s for s in root.traverse()}
        self._outputs: dict[tuple[int, str], list[ColumnSource]] = {}
        self._indirects: dict[int, list[ColumnSource]] = {}
        # Per scope, its output names and where each (lower-cased) first appears: asking a scope
        # for one of its N columns must not cost O(N), or a wide query costs O(N²).
        self._names: dict[int, list[str]] = {}
        self._positions: dict[int, dict[str, int]] = {}

    def names(self, scope: Scope) -> list[str]:
        """The output column names of `scope` (computed once: sqlglot rebuilds them per call)."""
        key = id(scope)
        if key not in self._names:
            self._names[key] = _named_selects(scope)
        return self._names[key]

    def position(self, scope: Scope, name: str) -> int:
        """Where the output column `name` (any case) is in `scope`, or -1."""
        key = id(scope)
        positions = self._positions.get(key)
        if positions is None:
            positions = {}
            for i, n in enumerate(self.names(scope)):
                positions.setdefault(n.lower(), i)
            self._positions[key] = positions
        return positions.get(name.lower(), -1)

    def run(self, output_columns: Sequence[str] | None) -> ColumnLineage:
        spelled = {c.lower(): c for c in output_columns} if output_columns is not None else None
        fields: dict[str, tuple[ColumnSource, ...]] = {}
        for name in self.names(self.root):
            if name == "*":
                continue
            out = name if spelled is None else spelled.get(name.lower())
            if out is None:
                continue
            sources = _unique(self._output(self.root, name))
            if sources:
                fields[out] = sources
        return ColumnLineage(fields=fields, dataset=_unique(self._indirect(self.root)))

    # -- one output column of a scope ---------------------------------------------------------

    def _output(self, scope: Scope, name: str) -> list[ColumnSource]:
        key = (id(scope), name.lower())
        if key in self._outputs:
            return self._outputs[key]
        self._outputs[key] = []  # a guard against recursive CTEs
        result: list[ColumnSource] = []
        index = self.position(scope, name)
        if index >= 0:
            if scope.set_operation_scopes:
                for branch in scope.set_operation_scopes:
                    branch_names = self.names(branch)
                    if index < len(branch_names):
                        result += self._output(branch, branch_names[index])
            else:
                selects = _query(scope).selects
                if index < len(selects):
                    result = self._expression(scope, selects[index])
        self._outputs[key] = result
        return result

    def _expression(self, scope: Scope, projection: exp.Expr) -> list[ColumnSource]:
        from sqlglot import exp

        node = projection.unalias() if isinstance(projection, exp.Alias) else projection
        result: list[ColumnSource] = []
        for ref, inner in self._references(scope, node):
            kind, subtype, masking = _classify(ref, node)
            result += [_compose(kind, subtype, masking, src) for src in inner]
        return result

    def _references(self, scope: Scope, node: exp.Expr) -> Iterator[tuple[exp.Expr, list[ColumnSource]]]:
        """Each column (or scalar subquery) inside `node`, with the sources it stands for."""
        from sqlglot import exp
        from sqlglot.optimizer.scope import walk_in_scope

        for item in walk_in_scope(node):
            if isinstance(item, exp.Column):
                yield item, self._column(scope, item)
            elif item is not node and id(item) in self.scope_of and isinstance(item, exp.Query):
                sub = self.scope_of[id(item)]
                names = self.names(sub)
                inner = self._output(sub, names[0]) if len(names) == 1 else []
                inner += [replace(s, type=INDIRECT, subtype=FILTER) for s in self._indirect(sub)]
                yield item, inner

    def _column(self, scope: Scope, column: exp.Column) -> list[ColumnSource]:
        from sqlglot import exp

        if not column.table:
            return []
        current: Scope | None = scope
        while current is not None:
            source = current.sources.get(column.table)
            if source is not None:
                if isinstance(source, exp.Table):
                    found = self._base(source, column.name)
                    return [ColumnSource(found[0], found[1], DIRECT, IDENTITY)] if found else []
                return self._output(source, column.name)
            current = current.parent  # a correlated subquery reads its outer query's tables
        return []

    def _base(self, table: exp.Table, column: str) -> tuple[str, str] | None:
        dataset = self.tables.get(table.name.lower())
        if dataset is None:
            return None  # not an upstream asset (a table function, a file read): unknown
        known = self.columns.get(dataset.lower(), {})
        if not known:
            return dataset, column  # no schema given: the query's own spelling is all we have
        spelled = known.get(column.lower())
        return (dataset, spelled) if spelled is not None else None

    # -- what steers the whole result ---------------------------------------------------------

    def _indirect(self, scope: Scope) -> list[ColumnSource]:
        from sqlglot import exp
        from sqlglot.optimizer.scope import Scope as ScopeClass

        key = id(scope)
        if key in self._indirects:
            return self._indirects[key]
        self._indirects[key] = []
        result: list[ColumnSource] = []
        if scope.set_operation_scopes:
            for branch in scope.set_operation_scopes:
                result += self._indirect(branch)
        else:
            select = _query(scope)
            clauses: list[tuple[str, exp.Expr | None]] = [
                (JOIN, join.args.get("on")) for join in select.args.get("joins") or []
            ]
            clauses += [(FILTER, select.args.get(k)) for k in ("where", "having", "qualify")]
            clauses += [(GROUP_BY, select.args.get("group")), (SORT, select.args.get("order"))]
            aliases = {s.alias_or_name.lower(): s for s in select.selects if isinstance(s, exp.Alias)}
            for subtype, clause in clauses:
                if clause is None:
                    continue
                for ref, inner in self._references(scope, clause):
                    if isinstance(ref, exp.Column) and not ref.table and ref.name.lower() in aliases:
                        # ORDER BY / QUALIFY naming an output column: it steers through its sources.
                        inner = self._expression(scope, aliases[ref.name.lower()])
                    result += [_compose(INDIRECT, subtype, False, src) for src in inner]
            for _, source in scope.selected_sources.values():
                if isinstance(source, ScopeClass):
                    result += self._indirect(source)  # a CTE's filter decides our rows too
        self._indirects[key] = result
        return result


def _classify(ref: exp.Expr, root: exp.Expr) -> tuple[str, str, bool]:
    """How the value of `root` depends on `ref`, one of the columns inside it."""
    from sqlglot import exp

    if ref is root:
        return DIRECT, IDENTITY, False
    aggregated = masking = False
    child: exp.Expr = ref
    parent = ref.parent
    while parent is not None and child is not root:
        if isinstance(parent, exp.Window) and child is not parent.this:
            return INDIRECT, WINDOW, False  # PARTITION BY / ORDER BY of a window
        if isinstance(parent, exp.If) and child is parent.this:
            return INDIRECT, CONDITIONAL, False  # CASE WHEN <condition> / IF(<condition>, ...)
        if isinstance(parent, exp.Case) and child is parent.this:
            return INDIRECT, CONDITIONAL, False  # CASE <operand> WHEN ...
        if isinstance(parent, exp.Filter) and child is parent.expression:
            return INDIRECT, FILTER, False  # agg(...) FILTER (WHERE <condition>)
        if isinstance(parent, exp.AggFunc):
            aggregated = True
            masking = masking or isinstance(parent, exp.Count)
        if isinstance(parent, _masking_functions()):
            masking = True
        child, parent = parent, parent.parent
    return DIRECT, AGGREGATION if aggregated else TRANSFORMATION, masking


def _compose(kind: str, subtype: str, masking: bool, inner: ColumnSource) -> ColumnSource:
    """An outer use (kind, subtype) of a column whose own lineage is `inner`."""
    if inner.type == INDIRECT:
        return inner
    if kind == INDIRECT:
        return replace(inner, type=INDIRECT, subtype=subtype, masking=False)
    stronger = subtype if _DIRECT_RANK[subtype] >= _DIRECT_RANK[inner.subtype] else inner.subtype
    return replace(inner, subtype=stronger, masking=inner.masking or masking)


def _masking_functions() -> tuple[type, ...]:
    from sqlglot import exp

    names = ("MD5", "MD5Digest", "SHA", "SHA2", "SHA1Digest", "SHA2Digest")
    return tuple(getattr(exp, n) for n in names if hasattr(exp, n))


def _named_selects(scope: Scope) -> list[str]:
    if scope.outer_columns:
        return list(scope.outer_columns)
    return list(_query(scope).named_selects)


def _query(scope: Scope) -> exp.Query:
    return cast("exp.Query", scope.expression)


def _unique(sources: Iterable[ColumnSource]) -> tuple[ColumnSource, ...]:
    return tuple(dict.fromkeys(sources))
