"""SQL assets: one query per `assets/*.sql` file; upstream and canonical fingerprint via sqlglot.

Upstream are the tables the query reads, found by scope traversal so that CTE and subquery
names are not mistaken for assets. The fingerprint is the canonical SQL text: whitespace,
comments, keyword case and table alias names do not change it; column order and logic do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import ProjectError
from ..hashing import hash_text

DIALECT = "duckdb"


@dataclass(frozen=True)
class SqlInfo:
    upstream: tuple[tuple[str, int], ...]  # (table name, line where it is first named)
    fingerprint: str
    canonical: str


def analyze_sql(text: str, relpath: str) -> SqlInfo:
    """Parse one SQL asset; raise ProjectError with file:line:col when it is not one valid query."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError, TokenError
    from sqlglot.optimizer.scope import traverse_scope

    try:
        statements = [s for s in sqlglot.parse(text, read=DIALECT) if s is not None]
    except ParseError as e:
        first = e.errors[0] if e.errors else {}
        raise ProjectError(
            f"SQL syntax error: {first.get('description') or e}",
            relpath,
            first.get("line"),
            first.get("col"),
            hint="the file must hold one SELECT query (DuckDB dialect)",
        ) from None
    except TokenError as e:
        raise ProjectError(f"SQL syntax error: {e}", relpath, _token_error_line(str(e))) from None
    if not statements:
        raise ProjectError(
            "the SQL file is empty", relpath, 1, hint="write one SELECT query; its result is the asset"
        )
    if len(statements) > 1:
        raise ProjectError(
            f"the SQL file holds {len(statements)} statements; an asset is one query",
            relpath,
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
    canonical = canonical_sql(tree)
    return SqlInfo(upstream=tuple(sorted(names.items())), fingerprint=hash_text(canonical), canonical=canonical)


def canonical_sql(tree: object) -> str:
    """The query as text with formatting, comments, keyword case and alias names normalised."""
    from sqlglot import exp
    from sqlglot.optimizer.qualify import qualify

    assert isinstance(tree, exp.Expression)
    tree = tree.copy()
    try:
        tree = qualify(
            tree,
            dialect=DIALECT,
            validate_qualify_columns=False,
            canonicalize_table_aliases=True,
            quote_identifiers=True,
        )
    except Exception:
        # qualify cannot place every column without a schema; the plain normal form is still
        # insensitive to formatting, comments and case, only not to alias renames.
        from sqlglot.optimizer.normalize_identifiers import normalize_identifiers

        tree = normalize_identifiers(tree, dialect=DIALECT)
    for join in tree.find_all(exp.Join):
        # JOIN and INNER JOIN mean the same thing.
        if (join.args.get("kind") or "").upper() == "INNER" and not join.args.get("side"):
            join.set("kind", None)
    return tree.sql(dialect=DIALECT, comments=False, normalize=True)


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
