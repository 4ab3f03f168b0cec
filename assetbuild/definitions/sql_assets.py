"""SQL assets: one query per `assets/*.sql` file; upstream and canonical fingerprint via sqlglot.

Upstream are the tables the query reads, found by scope traversal so that CTE and subquery
names are not mistaken for assets. The fingerprint is the canonical SQL text: whitespace,
comments, keyword case and table alias names do not change it; column order and logic do.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from assetbuild.errors import ProjectError
from assetbuild.hashing import hash_text

DIALECT = "duckdb"


@dataclass(frozen=True)
class SqlInfo:
    upstream: tuple[tuple[str, int], ...]  # (table name, line where it is first named)
    fingerprint: str
    canonical: str
    ordered: bool = False  # a top-level ORDER BY: the row order is part of the result


def analyze_sql(text: str, relpath: str, dialect: str = DIALECT) -> SqlInfo:
    """Parse one SQL asset; raise ProjectError with file:line:col when it is not one valid query."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError, TokenError
    from sqlglot.optimizer.scope import traverse_scope

    try:
        statements = [s for s in sqlglot.parse(text, read=dialect) if s is not None]
    except ParseError as e:
        first = e.errors[0] if e.errors else {}
        description = re.sub(r"<class '(?:\w+\.)*(\w+)'>", r"\1", str(first.get("description") or e))
        near = str(first.get("highlight") or "").strip()
        raise ProjectError(
            f"SQL syntax error: {description}" + (f" (near '{near[:40]}')" if near else ""),
            relpath,
            first.get("line"),
            first.get("col"),
            hint="the file must hold one SELECT query (DuckDB dialect)",
        ) from None
    except TokenError as e:
        raise ProjectError(f"SQL syntax error: {e}", relpath, _token_error_line(str(e))) from None
    except RecursionError:
        raise ProjectError(
            "the query is nested too deeply to analyse", relpath, hint="flatten it with CTEs (WITH ... AS)"
        ) from None
    if not statements:
        raise ProjectError(
            "the SQL file is empty", relpath, 1, hint="write one SELECT query; its result is the asset"
        )
    if len(statements) > 1:
        raise ProjectError(
            f"the SQL file holds {len(statements)} statements; an asset is one query",
            relpath,
            _second_statement_line(text),
            hint="keep one SELECT per file (use CTEs for intermediate steps)",
        )
    tree = statements[0]
    if not isinstance(tree, exp.Query):
        raise ProjectError(
            f"an SQL asset must be a query (SELECT ...), not {tree.key.upper()}",
            relpath,
            1,
            hint="assets are defined by what they SELECT; assetbuild writes the result itself",
        )
    names: dict[str, int] = {}
    try:
        scopes = traverse_scope(tree)
    except Exception as e:  # sqlglot raises OptimizeError and friends on odd scoping
        raise ProjectError(f"cannot analyse the query: {e}", relpath, 1) from None
    for scope in scopes:
        for source in scope.sources.values():
            if isinstance(source, exp.Table) and isinstance(source.this, exp.Identifier):
                name = ".".join(p.name for p in source.parts)
                if name not in names:
                    names[name] = _line_of(text, source)
    _refuse_undeclared_reads(tree, text, relpath, dialect)
    try:
        canonical = canonical_sql(tree)
    except RecursionError:
        raise ProjectError(
            "the query is nested too deeply to analyse", relpath, hint="flatten it with CTEs (WITH ... AS)"
        ) from None
    return SqlInfo(
        upstream=tuple(sorted(names.items())),
        fingerprint=hash_text(canonical),
        canonical=canonical,
        ordered=_top_level_order(tree),
    )


def _top_level_order(tree: object) -> bool:
    """The query's own ORDER BY (not one inside a subquery, CTE, window or aggregate)."""
    from sqlglot import exp

    node = tree
    while isinstance(node, exp.Subquery) and not node.args.get("order"):
        node = node.this
    return isinstance(node, exp.Expression) and node.args.get("order") is not None


# Table functions that compute rows from their arguments alone; every other one (read_csv,
# read_parquet, glob, sqlite_scan, ...) reads something outside the asset's declared inputs.
PURE_TABLE_FUNCTIONS = frozenset({"range", "generate_series", "unnest"})


def _refuse_undeclared_reads(tree: Any, text: str, relpath: str, dialect: str) -> None:
    """An asset reads only its upstream: a file it read by itself would not be in its build key,
    so the asset would stay `up_to_date` when that file changed."""
    from sqlglot import exp

    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Func):
            continue
        call = table.this.sql(dialect=dialect)
        name = call.split("(", 1)[0].strip().lower()
        if name in PURE_TABLE_FUNCTIONS:
            continue
        raise ProjectError(
            f"{call[:60]} reads data that is not an input of this asset",
            relpath,
            _line_of(text, table),
            hint="declare the file as a source ([sources.NAME] path = ...) and select FROM NAME; "
            "an asset reads only its upstream, so its build key covers all it reads",
        )


def canonical_sql(tree: object) -> str:
    """The query as text with formatting, comments, keyword case and alias names normalised.

    Identifier case is normalised (DuckDB resolves names case-insensitively), but the names a
    query gives its output columns keep their case: DuckDB names a column by its alias as written,
    or an unaliased expression by its text as written (`sum(AMOUNT)`, `t.a + 1`). Those names are
    appended, so an edit that renames an output column is never mistaken for formatting.
    """
    from sqlglot import exp

    assert isinstance(tree, exp.Expression)
    names = _output_names(tree)
    canon = _qualified(tree)
    _drop_sole_qualifiers(canon)
    for paren in list(canon.find_all(exp.Paren)):
        if _redundant(paren):
            paren.replace(paren.this)
    for join in canon.find_all(exp.Join):
        kind = (join.args.get("kind") or "").upper()
        # JOIN means INNER JOIN; LEFT/RIGHT/FULL JOIN mean the OUTER ones.
        if (kind == "INNER" and not join.args.get("side")) or (kind == "OUTER" and join.args.get("side")):
            join.set("kind", None)
    text = canon.sql(dialect=DIALECT, comments=False, normalize=True)
    return text + ("\n-- output names: " + json.dumps(names) if names else "")


def _qualified(tree: object) -> Any:
    """Qualified with canonical table aliases (`_0`, `_1`, ...) and normalised identifiers."""
    from sqlglot import exp
    from sqlglot.optimizer.qualify import qualify

    assert isinstance(tree, exp.Expression)
    options: dict[str, Any] = {
        "dialect": DIALECT,
        "validate_qualify_columns": False,
        "canonicalize_table_aliases": True,
        "quote_identifiers": True,
    }
    try:
        return qualify(tree.copy(), **options)
    except Exception:
        pass
    try:
        # Without a schema sqlglot cannot place some columns (e.g. in an IN subquery); table
        # aliases can still be made canonical.
        return qualify(tree.copy(), qualify_columns=False, **options)
    except Exception:
        # the plain normal form is still insensitive to formatting, comments and case
        from sqlglot.optimizer.normalize_identifiers import normalize_identifiers

        return normalize_identifiers(tree.copy(), dialect=DIALECT)


def _drop_sole_qualifiers(tree: object) -> None:
    """`SELECT t.a FROM t` is `SELECT a FROM t`: drop qualifiers naming a scope's only source.

    Subqueries inside expressions are left alone: an unqualified name there may be correlated
    (refer to the outer query), so their qualifiers carry meaning.
    """
    from sqlglot.optimizer.scope import traverse_scope

    try:
        scopes = traverse_scope(tree)  # type: ignore[arg-type]
    except Exception:
        return
    for scope in scopes:
        if scope.is_subquery or scope.is_udtf or len(scope.sources) != 1:
            continue
        (alias,) = scope.sources
        for column in scope.columns:
            if column.table == alias and not column.args.get("db"):
                column.set("table", None)


def _output_names(tree: object) -> list[str]:
    """Column names as written, wherever a query names columns (case kept, quotes dropped)."""
    from sqlglot import exp

    assert isinstance(tree, exp.Expression)
    names: list[str] = []
    for node in tree.walk():
        if isinstance(node, exp.Alias):
            names.append(node.alias)
        elif isinstance(node, exp.TableAlias):
            names.extend(c.name for c in node.columns)
        elif isinstance(node, exp.Select):
            for projection in node.expressions:
                if not isinstance(projection, exp.Alias | exp.Column | exp.Star):
                    names.append("= " + projection.sql(dialect=DIALECT, comments=False))
    return names


def _redundant(paren: object) -> bool:
    """Parentheses that cannot change precedence: around a whole condition, projection or atom."""
    from sqlglot import exp

    assert isinstance(paren, exp.Paren)
    inner, parent = paren.this, paren.parent
    if isinstance(inner, exp.Query):
        return False
    if isinstance(inner, exp.Column | exp.Literal | exp.Paren | exp.Boolean | exp.Null):
        return True
    # a function call renders as NAME(...), an atom; And/Or/Collate are Funcs written infix
    if isinstance(inner, exp.Func) and not isinstance(inner, exp.Binary | exp.Predicate | exp.Unary):
        return True
    if isinstance(parent, exp.Where | exp.Having | exp.Qualify | exp.Alias | exp.Paren):
        return True
    if isinstance(parent, exp.Join) and paren.arg_key == "on":
        return True
    return isinstance(parent, exp.Select) and paren.arg_key == "expressions"


def _line_of(text: str, table: object) -> int:
    from sqlglot import exp

    assert isinstance(table, exp.Table)
    meta_line = table.this.meta.get("line") if isinstance(table.this, exp.Identifier) else None
    if isinstance(meta_line, int):
        return meta_line
    m = re.search(r"\b" + re.escape(table.name) + r"\b", text, re.IGNORECASE)
    return text.count("\n", 0, m.start()) + 1 if m else 1


def _token_error_line(message: str) -> int | None:
    m = re.search(r"[Ll]ine (\d+)", message)
    return int(m.group(1)) if m else None


def _second_statement_line(text: str) -> int | None:
    """Line where a second statement starts (the first token after a `;`)."""
    from sqlglot.dialects.dialect import Dialect
    from sqlglot.tokens import TokenType

    after_semicolon = False
    for token in Dialect.get_or_raise(DIALECT).tokenize(text):
        if token.token_type == TokenType.SEMICOLON:
            after_semicolon = True
        elif after_semicolon:
            return token.line
    return None
