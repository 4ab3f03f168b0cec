"""Fuzzing the static readers of a project: whatever text a user writes, the TOML loader, the SQL
analyser, the Python scanner and the rules loader answer with a result or a `ProjectError` (exit 2
with file and line) — never another exception, which the CLI would show as an internal error.

Inputs mix arbitrary text with text built from each language's own tokens, so that the fuzzer
gets past the parsers into the validation that follows them. Derandomized: a failure reproduces.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assetbuild.definitions.config import load_config
from assetbuild.definitions.python_assets import scan_python_file
from assetbuild.definitions.sql_assets import analyze_sql
from assetbuild.errors import ProjectError

FUZZ = settings(
    max_examples=250,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def _joined(tokens: list[str], min_size: int = 0, max_size: int = 40) -> st.SearchStrategy[str]:
    """Text made of a language's tokens, some arbitrary text, and the separators between them."""
    piece = st.one_of(st.sampled_from(tokens), st.text(max_size=6))
    return st.lists(piece, min_size=min_size, max_size=max_size).map("".join)


def _text_or(structured: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(st.text(max_size=300), structured)


# -- assetbuild.toml ---------------------------------------------------------------------------

# fmt: off
TOML_TOKENS = [
    "\n", " ", "=", "[", "]", "[[", "]]", ".", ",", "{", "}", '"', "'", "#", "\\",
    "project", "name", "environment", "sources", "exports", "lineage", "build", "jobs", "path", "format",
    "options", "tags", "owner", "metadata", "description", "namespace", "api_key", "timeout",
    '"data/x.csv"', '"data/*.csv"', '"/etc/passwd"', '"../x"', '"csv"', '"parquet"', '"xlsx"',
    "0", "-1", "1e400", "true", "nan", "inf", "1979-05-27", "[1, 2]", '["a", 1]', "{a = 1}", '"""', "'''",
    "[project]\n", "[sources.orders]\n", "[sources.orders.options]\n", "[exports]\n", "[build]\n", "[lineage]\n",
    'name = "p"\n', 'path = "data/x.csv"\n', "jobs = 2\n", 'format = "csv"\n', "x = 1\n",
]
# fmt: on


@pytest.fixture(scope="module")
def workdir() -> Path:
    with tempfile.TemporaryDirectory(prefix="fuzz-") as d:
        yield Path(d)


@FUZZ
@given(data=st.one_of(_text_or(_joined(TOML_TOKENS, max_size=60)).map(str.encode), st.binary(max_size=200)))
def test_toml_loader_raises_only_project_errors(workdir: Path, data: bytes) -> None:
    (workdir / "assetbuild.toml").write_bytes(data)
    try:
        load_config(workdir)
    except ProjectError as e:
        assert e.path == "assetbuild.toml"


# -- SQL assets --------------------------------------------------------------------------------

# fmt: off
SQL_TOKENS = [
    " ", "\n", "SELECT", "FROM", "WHERE", "GROUP BY", "ORDER BY", "JOIN", "ON", "USING", "WITH", "AS", "UNION ALL",
    "INSERT INTO", "DELETE", "CREATE TABLE", "COPY", "PRAGMA", "ATTACH", "VALUES", "LATERAL", "QUALIFY", "PIVOT",
    "(", ")", ",", ";", "*", "=", "'", '"', "`", "--", "/*", "*/", "$$", "?", "$1", ":x", "@", "::", "->", "->>",
    "a", "b", "t", "x.y", "orders", "1", "1.5e3", "NULL", "count(*)", "sum(v)", "read_parquet('x')", "[1,2]",
    "{'a': 1}", "CASE WHEN", "THEN", "ELSE", "END", "OVER (PARTITION BY a)", "EXCLUDE", "REPLACE", "UNNEST",
]
# fmt: on


@FUZZ
@given(text=_text_or(_joined(SQL_TOKENS, max_size=30)))
def test_sql_analyser_raises_only_project_errors(text: str) -> None:
    try:
        info = analyze_sql(text, "assets/fuzz.sql")
    except ProjectError as e:
        assert e.path == "assets/fuzz.sql"
    else:
        assert isinstance(info.fingerprint, str) and all(isinstance(n, str) for n, _ in info.upstream)


@pytest.mark.parametrize("depth", [60, 1000])
def test_sql_analyser_survives_deep_nesting(depth: int) -> None:
    text = "SELECT " + "(" * depth + "1" + ")" * depth + " AS x"
    try:
        analyze_sql(text, "assets/deep.sql")
    except ProjectError as e:
        assert e.path == "assets/deep.sql"


# -- Python assets -----------------------------------------------------------------------------

# fmt: off
PY_TOKENS = [
    "\n", "    ", " ", "@asset", "@asset()", "@check", "@check(asset='a')", "@assetbuild.asset", "(", ")", ":", ",",
    "=", "def ", "async def ", "class ", "return ", "lambda ", "import ", "from ", "from . import x", "as ",
    "f", "g", "a", "b", "pl", "polars", "assetbuild", "name='x'", "name=1", "tags=['t']", "tags=x", "retries=2",
    "retries='two'", "schema=M", "metadata={'a': 1}", "export='out/x.parquet'", "description=f'{x}'", "*args",
    "**kw", "x: pl.LazyFrame", "-> pl.DataFrame", "'''", '"', "#", "\\", "yield ", "global X", "X = 1",
    "if __name__ == '__main__':", "try:", "except:", "pass", "...", "[", "]", "{", "}", "0", "None",
]
# fmt: on
PY_HEADER = "from assetbuild import asset, check\nimport polars as pl\n\n"


@FUZZ
@given(
    body=st.one_of(
        _text_or(_joined(PY_TOKENS, max_size=50)).map(lambda t: (PY_HEADER + t).encode()),
        st.binary(max_size=200),
    )
)
def test_python_scanner_raises_only_project_errors(workdir: Path, body: bytes) -> None:
    (workdir / "assets").mkdir(exist_ok=True)
    path = workdir / "assets" / "fuzz.py"
    path.write_bytes(body)
    try:
        scan_python_file(path, "assets/fuzz.py", [path.parent, workdir], workdir)
    except ProjectError as e:
        assert e.path == "assets/fuzz.py"


@settings(FUZZ, max_examples=30)
@given(depth=st.integers(min_value=50, max_value=2000))
def test_python_scanner_survives_deep_nesting(workdir: Path, depth: int) -> None:
    (workdir / "assets").mkdir(exist_ok=True)
    path = workdir / "assets" / "deep.py"
    path.write_text(PY_HEADER + "@asset()\ndef f(a):\n    return " + "(" * depth + "a" + ")" * depth + "\n")
    with contextlib.suppress(ProjectError):
        scan_python_file(path, "assets/deep.py", [path.parent, workdir], workdir)


# -- rules/*.yaml ------------------------------------------------------------------------------

# fmt: off
YAML_TOKENS = [
    "\n", "  ", " ", ":", "- ", "{", "}", "[", "]", ",", "'", '"', "#", "&a ", "*a", "!!str ", "!!python/object:os.system ",
    "!!binary ", "|\n", ">\n", "---\n", "...\n", "? ", "%YAML 1.2\n",
    "asset", "columns", "table", "severity", "description", "a", "b", "x", "y", "ref", "error", "warn",
    "dtype", "nullable", "unique", "min", "max", "between", "isin", "not_isin", "matches", "str_length",
    "finite", "references", "use", "row_count", "row_count_change", "max_drop", "freshness", "column", "max_age",
    "sql", "expression", "iso_currency", "true", "null", "1", "-1", "1.5", "1h", "2024-01-01", "now", "string",
    "int", "a.x", "'^u[0-9]+$'", "'['", "SELECT * FROM a", "x >", "asset: a\n", "columns:\n", "table:\n",
    "2024-13-45", "2024-01-01 25:00:00", "1e999", ".nan", "-.inf", "0x1F", "0o17", "1_000", "~", "<<: *a",
]
# Explicit tags make the YAML library's constructors run on values they do not expect.
YAML_TAG_TOKENS = [
    "!!int ", "!!float ", "!!bool ", "!!null ", "!!timestamp ", "!!set ", "!!omap ", "!!map ", "!!seq ",
    "!!python/name:os.system ", "!unknown ",
]
# fmt: on


def _load_rules_text(workdir: Path, data: bytes) -> None:
    from assetbuild.gate.rules import load_rules

    (workdir / "rules").mkdir(exist_ok=True)
    (workdir / "rules" / "fuzz.yaml").write_bytes(data)
    try:
        load_rules(workdir, ["a", "b", "ref"])
    except ProjectError as e:
        assert e.path is None or e.path.startswith("rules/")


@FUZZ
@given(data=st.one_of(_text_or(_joined(YAML_TOKENS, max_size=50)).map(str.encode), st.binary(max_size=200)))
def test_rules_loader_raises_only_project_errors(workdir: Path, data: bytes) -> None:
    _load_rules_text(workdir, data)


@FUZZ
@given(data=_joined(YAML_TOKENS + YAML_TAG_TOKENS, max_size=50).map(str.encode))
def test_rules_loader_with_yaml_tags_raises_only_project_errors(workdir: Path, data: bytes) -> None:
    _load_rules_text(workdir, data)


@pytest.mark.parametrize(
    "value",
    [
        "!!int abc",
        "!!float x",
        "!!timestamp nope",
        "2024-13-45",
        "2024-01-01 25:00:00",
        "!!python/name:os.system ",
        "!!int ",
        "!!float ",
        "!!bool ",
    ],
)
def test_rules_loader_rejects_values_yaml_cannot_construct(workdir: Path, value: str) -> None:
    from assetbuild.gate.rules import load_rules

    (workdir / "rules").mkdir(exist_ok=True)
    (workdir / "rules" / "fuzz.yaml").write_text(f"asset: a\ncolumns:\n  x: {{min: {value}}}\n")
    with pytest.raises(ProjectError) as e:
        load_rules(workdir, ["a"])
    assert e.value.path == "rules/fuzz.yaml" and e.value.line == 3
