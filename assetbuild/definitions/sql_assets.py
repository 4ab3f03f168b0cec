"""SQL assets: one query per `assets/*.sql` file; upstream and canonical fingerprint via sqlglot.

Upstream are the tables the query reads, found by scope traversal so that CTE and subquery
names are not mistaken for assets. The fingerprint is the canonical SQL text: whitespace,
comments, keyword case and table alias names do not change it; column order and logic do.

A text that is not one plain query is a ProjectError in SQL's words (`sql_problem`, also used for
the SQL in rules): what is missing or left open, and where — never sqlglot's class names or token
dumps. Jinja templating (`jinja_in`) is named as such before sqlglot sees it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from assetbuild.errors import ProjectError
from assetbuild.hashing import hash_text

# What SQL an asset's code means on the engine, part of every SQL fingerprint: bumped when the same
# query gives other data (2: inputs are seen in their own types, e.g. a Duration as INTERVAL, where
# they were the Parquet file's physical ones), so each SQL asset runs once after the upgrade.
SQL_SEMANTICS = "sql-inputs-2\n"

DIALECT = "duckdb"


@dataclass(frozen=True)
class SqlInfo:
    upstream: tuple[tuple[str, int], ...]  # (table name, line where it is first named)
    fingerprint: str
    canonical: str
    ordered: bool = False  # a top-level ORDER BY: the row order is part of the result


@dataclass(frozen=True)
class SqlProblem:
    """What is wrong with a piece of SQL, in the words of SQL, and where: 1-based, in its text."""

    message: str
    line: int | None
    col: int | None
    hint: str | None = None


def analyze_sql(text: str, relpath: str, dialect: str = DIALECT) -> SqlInfo:
    """Parse one SQL asset; raise ProjectError with file:line:col when it is not one valid query."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.optimizer.scope import traverse_scope

    jinja = jinja_in(text)
    if jinja is not None:
        raise ProjectError(jinja.message, relpath, jinja.line, jinja.col, hint=jinja.hint)
    try:
        statements = [s for s in sqlglot.parse(text, read=dialect) if s is not None]
    except RecursionError:
        raise ProjectError(
            "the query is nested too deeply to analyse", relpath, hint="flatten it with CTEs (WITH ... AS)"
        ) from None
    except Exception as e:
        problem = sql_problem(e, text)
        if problem is None:
            raise
        raise ProjectError(
            f"SQL syntax error: {problem.message}",
            relpath,
            problem.line,
            problem.col,
            hint="the file must hold one SELECT query (DuckDB dialect)",
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
        raise ProjectError(f"cannot analyse the query: {_without_internals(str(e))}", relpath, 1) from None
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
        fingerprint=hash_text(SQL_SEMANTICS + canonical),
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


# -- what is wrong with a text that is not SQL, said in SQL's words ---------------------------

# Jinja's delimiters. None of them can start valid DuckDB SQL outside a string or a comment (a
# struct literal opens with a key, never with another `{`, `%` or `#`).
_JINJA = {"{{": "}}", "{%": "%}", "{#": "#}"}
_JINJA_OPEN = re.compile(r"\{[{%#]")
_REF = re.compile(r"""\{\{-?\s*ref\(\s*(?:['"][^'"]*['"]\s*,\s*)?['"]([^'"]+)['"]\s*\)\s*-?\}\}""")


def jinja_in(text: str, where: str = "native SQL assets") -> SqlProblem | None:
    """The first Jinja tag (`{{ ref('x') }}`, `{% if %}`, `{# #}`) outside strings and comments.

    Checked before parsing: sqlglot answers some tags with a token dump, and reads `{{ x }}` as a
    DuckDB struct literal that only fails when the query runs.
    """
    code, _ = _code_only(text)
    m = _JINJA_OPEN.search(code)
    if m is None:
        return None
    start = m.start()
    close = code.find(_JINJA[m.group(0)], start + 2)
    tag = text[start : close + 2] if 0 <= close - start < 80 else text[start : start + 40]
    tag = tag.splitlines()[0].strip() if "\n" in tag else tag
    line, col = _position(text, start)
    ref = _REF.match(tag)
    if ref:
        hint = (
            f"name the upstream asset directly: FROM {ref.group(1)}. "
            "assetbuild reads each .sql file as one plain DuckDB query; dbt projects are not native assets"
        )
    else:
        hint = (
            "write plain DuckDB SQL: name upstream assets directly (FROM orders, not {{ ref('orders') }}) "
            "and express conditions in the query itself (CASE WHEN, WHERE); dbt projects are not native assets"
        )
    return SqlProblem(f"{tag} is Jinja templating (as in dbt), which {where} do not support", line, col, hint)


def sql_problem(error: BaseException, text: str) -> SqlProblem | None:
    """A sqlglot error (ParseError, TokenError, or any other SqlglotError) as a readable message
    with its position in `text`; None for an exception that is not sqlglot's.

    sqlglot's own messages name its classes (`Required keyword: 'expression' missing for <class
    'sqlglot.expressions.core.GT'>`) and print token objects; these say what is missing, where.
    """
    from sqlglot.errors import ParseError, SqlglotError, TokenError

    if isinstance(error, ParseError):
        first = error.errors[0] if error.errors else {}
        highlight = str(first.get("highlight") or "")
        line, end = first.get("line"), first.get("col")
        # sqlglot's column is where the offending token ends; a reader looks for where it starts
        col = max(1, end - len(highlight) + 1) if isinstance(end, int) and highlight else end
        message = _plain_parse_error(str(first.get("description") or error), highlight)
        return SqlProblem(message, line if isinstance(line, int) else None, col)
    if isinstance(error, TokenError):
        return _token_problem(error, text)
    if isinstance(error, SqlglotError):
        return SqlProblem(_without_internals(str(error)), None, None)
    return None


# sqlglot's class names for the operators and clauses a query most often leaves incomplete
_OPERATORS = {
    "GT": ">",
    "GTE": ">=",
    "LT": "<",
    "LTE": "<=",
    "EQ": "=",
    "NEQ": "<>",
    "NullSafeEQ": "<=>",
    "Add": "+",
    "Sub": "-",
    "Mul": "*",
    "Div": "/",
    "IntDiv": "//",
    "Mod": "%",
    "DPipe": "||",
    "And": "AND",
    "Or": "OR",
    "Xor": "XOR",
    "Not": "NOT",
    "Is": "IS",
    "In": "IN",
    "Like": "LIKE",
    "ILike": "ILIKE",
    "Between": "BETWEEN",
    "BitwiseAnd": "&",
    "BitwiseOr": "|",
    "BitwiseXor": "^",
    "BitwiseLeftShift": "<<",
    "BitwiseRightShift": ">>",
    "Where": "WHERE",
    "Having": "HAVING",
    "Qualify": "QUALIFY",
    "Union": "UNION",
    "Intersect": "INTERSECT",
    "Except": "EXCEPT",
    "If": "CASE WHEN",
    "Case": "CASE",
    "Cast": "CAST",
    "Alias": "AS",
}
_MISSING = {
    "expression": "the value on its right",
    "this": "what it applies to",
    "high": "its upper bound (BETWEEN low AND high)",
    "low": "its lower bound (BETWEEN low AND high)",
    "true": "THEN ...",
}
_MISSING_BY_CLASS = {
    "Where": "its condition",
    "Having": "its condition",
    "Qualify": "its condition",
    "Union": "the query after it",
    "Intersect": "the query after it",
    "Except": "the query after it",
}
_REQUIRED = re.compile(r"Required keyword: '(\w+)' missing for <class '(?:[\w.]+\.)?(\w+)'>")
_TOKEN_REPR = re.compile(r"<Token token_type: TokenType\.(\w+), text: (.*?), line: \d+[^>]*>")
_CLASS_REPR = re.compile(r"<class '(?:[\w.]+\.)?(\w+)'>")


def _plain_parse_error(description: str, highlight: str) -> str:
    required = _REQUIRED.match(description)
    if required:
        keyword, cls = required.groups()
        what = _MISSING_BY_CLASS.get(cls) or _MISSING.get(keyword, "a part")
        message = f"'{_OPERATORS.get(cls, cls.upper())}' is incomplete: {what} is missing"
    elif description.startswith("Invalid expression / Unexpected token"):
        message = f"unexpected '{highlight}'" if highlight else "unexpected token"
    elif description == "Expecting )":
        message = "a '(' is not closed: expected ')'"
    else:
        message = _without_internals(description)
    near = highlight.strip()[:40]
    return message + (f" (near '{near}')" if near and f"'{near}'" not in message else "")


def _without_internals(text: str) -> str:
    def token(m: re.Match[str]) -> str:
        return "the end of the query" if m.group(1) in ("SENTINEL", "EOF") else f"'{m.group(2)}'"

    text = _CLASS_REPR.sub(r"\1", _TOKEN_REPR.sub(token, text))
    return text[:1].lower() + text[1:]


_UNCLOSED = {
    "'": "a 'string' is not closed",
    '"': 'a "quoted name" is not closed',
    "/*": "a /* comment */ is not closed",
}


def _token_problem(error: Exception, text: str) -> SqlProblem:
    """The tokenizer stopped: almost always a string, quoted name or comment left open."""
    cause = str(error.__cause__ or "")
    missing = re.match(r"Missing (.+?) from \d+:(\d+)", cause)
    _, unclosed = _code_only(text)
    if missing:
        opener, offset = missing.group(1), int(missing.group(2))
    elif unclosed is not None:
        opener, offset = unclosed
    else:
        line, col = _position(text, len(text.rstrip()))
        return SqlProblem("a character here cannot start any SQL token", line, col)
    line, col = _position(text, min(offset, len(text)))
    what = _UNCLOSED.get(opener, f"a {opener} string is not closed")
    return SqlProblem(f"{what}: it runs to the end of the text", line, col)


def _code_only(text: str) -> tuple[str, tuple[str, int] | None]:
    """`text` with strings, quoted names, dollar-quoted strings and comments blanked out (line
    breaks kept, so positions stay), and the first of them left open: (its opener, its offset)."""
    out = list(text)
    n, i = len(text), 0
    unclosed: tuple[str, int] | None = None
    while i < n:
        c = text[i]
        opener = closer = ""
        if text.startswith("--", i):
            opener, closer = "--", "\n"
        elif text.startswith("/*", i):
            opener, closer = "/*", "*/"
        elif c in "'\"":
            opener = closer = c
        elif c == "$":
            dollar = re.match(r"\$(?:[A-Za-z_]\w*)?\$", text[i:])
            if dollar:
                opener = closer = dollar.group(0)
        if not opener:
            i += 1
            continue
        j = i + len(opener)
        while True:
            k = text.find(closer, j)
            if k < 0:
                if opener != "--" and unclosed is None:
                    unclosed = (opener, i)
                end = n
                break
            if closer in ("'", '"') and text.startswith(closer * 2, k):
                j = k + 2  # a doubled quote is the quote character itself
                continue
            end = k + (0 if closer == "\n" else len(closer))
            break
        for p in range(i, end):
            if out[p] != "\n":
                out[p] = " "
        i = end
    return "".join(out), unclosed


def _position(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of a 0-based offset."""
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1
