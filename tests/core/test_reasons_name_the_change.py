"""Issue 21 item 11: a rebuild's reason names the part of the code that changed — the SQL file,
the function, the helper, the constant or the local module — in `plan`, `build` and their JSON."""

from __future__ import annotations

import pytest

CONFIG = '[project]\nname = "why"\n\n[sources.t]\npath = "data/t.csv"\n'
PY = (
    "import polars as pl\n"
    "from assetbuild import asset\n"
    "from limits import FLOOR\n\n"
    "RATE = 1\n\n\n"
    "def helper(df):\n    return df.filter(pl.col('amount') > FLOOR)\n\n\n"
    "class Unused:\n    pass\n\n\n"
    "@asset\ndef c(b):\n    return helper(b).with_columns(r=pl.lit(RATE))\n"
)
FILES = {
    "assetbuild.toml": CONFIG,
    "data/t.csv": "id,amount\n1,2.5\n2,3.0\n",
    "assets/b.sql": "SELECT id, amount * 2 AS amount FROM t\n",
    "assets/c.py": PY,
    "assets/limits.py": "FLOOR = 0\n",
}


@pytest.fixture
def built(make_project, run_cli):
    root = make_project(FILES)
    assert run_cli(root, "build").code == 0
    return root


def _why(run_cli, root, command: str, asset: str) -> tuple[str, list[dict]]:
    r = run_cli(root, command, "--format", "json")
    assert r.json is not None, r
    [a] = [a for a in r.json["assets"] if a["name"] == asset]
    return a["reason"], a["why"]


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (lambda t: t.replace("RATE = 1", "RATE = 2"), ["constant RATE"]),
        (lambda t: t.replace("> FLOOR)", ">= FLOOR)"), ["helper helper"]),
        (lambda t: t.replace("with_columns(r=", "with_columns(rate="), ["function c"]),
        (
            lambda t: t.replace("import polars as pl\n", "import polars as pl\nimport math\n").replace(
                "pl.lit(RATE)", "pl.lit(math.floor(RATE))"
            ),
            ["function c", "import math"],
        ),
    ],
    ids=["constant", "helper", "function", "import"],
)
def test_a_python_edit_names_what_changed(built, run_cli, edit, says):
    path = built / "assets/c.py"
    path.write_text(edit(path.read_text()))
    for command in ("plan", "build"):
        reason, why = _why(run_cli, built, command, "c")
        assert f"code changed: {', '.join(says)}" in reason, (command, reason)
        [code] = [w for w in why if w["cause"] == "code_changed"]
        assert code["parts"] == says, code


def test_an_untouched_part_is_not_named(built, run_cli):
    path = built / "assets/c.py"
    path.write_text(path.read_text().replace("RATE = 1", "RATE = 3"))
    reason, _ = _why(run_cli, built, "plan", "c")
    assert "helper" not in reason and "function c" not in reason and "Unused" not in reason


def test_a_local_module_edit_names_the_module(built, run_cli):
    (built / "assets/limits.py").write_text("FLOOR = 1\n")
    reason, _ = _why(run_cli, built, "plan", "c")
    assert "code changed: module assets/limits.py" in reason, reason


def test_a_sql_edit_names_its_file_and_a_downstream_edit_is_not_hidden(built, run_cli):
    (built / "assets/b.sql").write_text("SELECT id, amount * 3 AS amount FROM t\n")
    path = built / "assets/c.py"
    path.write_text(path.read_text().replace("RATE = 1", "RATE = 2"))
    reason_b, _ = _why(run_cli, built, "plan", "b")
    reason_c, _ = _why(run_cli, built, "plan", "c")
    assert reason_b == "code changed: assets/b.sql"
    # c waits for b, but its own change is said: it will run whatever b gives
    assert reason_c.startswith("code changed: constant RATE"), reason_c


def test_a_revert_says_it_restores_a_version_built_before(built, run_cli):
    path = built / "assets/c.py"
    path.write_text(path.read_text().replace("RATE = 1", "RATE = 2"))
    assert run_cli(built, "build").code == 0
    path.write_text(path.read_text().replace("RATE = 2", "RATE = 1"))
    reason, _ = _why(run_cli, built, "build", "c")
    assert (
        reason
        == "code changed: constant RATE; a stored version was built from exactly these (restored, nothing runs)"
    )
