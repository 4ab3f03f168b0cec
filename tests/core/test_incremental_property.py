"""Property: over random DAGs and random edit sequences, an incremental build is correct and minimal.

Each example draws a DAG of 3–8 SQL and Python assets over one CSV source, then a sequence of
edits: a code edit that changes data, one that keeps the data, a formatting/comment-only edit, a
source row change, a source change reverted, a source row reorder, a revert to an earlier state.
After every build:

(a) every content hash equals that of a clean `--force` build of a copy of the project;
(b) exactly the assets whose build key changed ran (`built`, or `restored` when that key was built
    before), the others are `up_to_date`. Whether a key changed is predicted from the model: the
    asset's code changed (not its formatting), or an upstream's *clean-build* content hash changed.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .projects import run

SOURCE = "src"
TEMPLATES_1 = ("sql_filter", "sql_shift", "sql_agg", "py_filter", "py_scale", "py_lazy")
TEMPLATES_2 = ("sql_union", "py_join")


@dataclass(frozen=True)
class Asset:
    name: str
    template: str
    ups: tuple[str, ...]
    k: int
    noop: bool = False  # an edit that changes the code but not the data
    style: int = 0  # formatting and comments only

    def semantic(self) -> tuple:
        return (self.template, self.ups, self.k, self.noop)


@dataclass(frozen=True)
class State:
    assets: tuple[Asset, ...]
    rows: tuple[tuple[int, int, int], ...]  # (id, grp, v)

    def csv(self) -> str:
        return "id,grp,v\n" + "".join(f"{i},{g},{v}\n" for i, g, v in self.rows)

    def semantic(self) -> tuple:
        return (tuple(a.semantic() for a in self.assets), self.csv())


# -- rendering --------------------------------------------------------------------------------


def render_sql(a: Asset) -> str:
    u1 = a.ups[0]
    noop = " AND 1 = 1" if a.noop else ""
    where_noop = " WHERE 1 = 1" if a.noop else ""
    if a.template == "sql_filter":
        sql = f"SELECT id, grp, v FROM {u1} WHERE v > {a.k}{noop}"
    elif a.template == "sql_shift":
        sql = f"SELECT id, grp, v + {a.k} AS v FROM {u1}{where_noop}"
    elif a.template == "sql_agg":
        sql = f"SELECT min(id) AS id, grp, CAST(sum(v) + {a.k} AS BIGINT) AS v FROM {u1}{where_noop} GROUP BY grp"
    else:  # sql_union
        sql = f"SELECT id, grp, v FROM {u1} WHERE v > {a.k} UNION ALL SELECT id, grp, v FROM {a.ups[1]}{where_noop}"
    if a.style == 1:
        sql = "-- " + a.name + "\n" + sql.replace(" FROM ", "\n  FROM   ").replace(" WHERE ", "\n WHERE ")
    elif a.style == 2:
        sql = sql.replace("SELECT ", "select /* cols */ ", 1) + ";"
    return sql + "\n"


def render_py(a: Asset) -> str:
    u1 = a.ups[0]
    noop = ".filter(pl.lit(True))" if a.noop else ""
    head = "from assetbuild import asset\nimport polars as pl\n\n"
    if a.template == "py_filter":
        body = f'K = {a.k}\n\n\n@asset\ndef {a.name}({u1}):\n    return {u1}.filter(pl.col("v") > K){noop}\n'
    elif a.template == "py_scale":
        body = (
            f"FACTOR = {a.k}\n\n\ndef _scaled(col):\n    return pl.col(col) * FACTOR\n\n\n"
            f"@asset\ndef {a.name}({u1}: pl.DataFrame) -> pl.DataFrame:\n"
            f'    return {u1}.with_columns(_scaled("v").alias("v")){noop}\n'
        )
    elif a.template == "py_lazy":
        body = (
            f"@asset\ndef {a.name}({u1}: pl.LazyFrame) -> pl.LazyFrame:\n"
            f'    return {u1}.with_columns((pl.col("v") - {a.k}).alias("v")){noop}\n'
        )
    else:  # py_join
        u2 = a.ups[1]
        body = (
            f"K = {a.k}\n\n\n@asset\ndef {a.name}({u1}, {u2}):\n"
            f'    right = {u2}.group_by("id").agg(pl.col("v").sum().alias("v2"))\n'
            f'    out = {u1}.join(right, on="id", how="left")\n'
            f'    out = out.with_columns((pl.col("v") + pl.col("v2").fill_null(K)).alias("v"))\n'
            f'    return out.select("id", "grp", "v"){noop}\n'
        )
    text = head + body
    if a.style == 1:
        text = "# generated asset\n" + text.replace("):\n", '):\n    """Docstring."""\n    # a comment\n', 1)
    elif a.style == 2:
        text = text.replace("@asset\n", '@asset(description="formatted", tags=["x"])\n\n').replace(
            "\n\n\n", "\n\n\n\n"
        )
    return text


def write(root: Path, state: State, previous: State | None) -> None:
    (root / "assets").mkdir(parents=True, exist_ok=True)
    (root / "data").mkdir(exist_ok=True)
    (root / "assetbuild.toml").write_text(
        f'[project]\nname = "prop"\n\n[sources.{SOURCE}]\npath = "data/src.csv"\n'
    )
    old = {a.name: a for a in previous.assets} if previous else {}
    for a in state.assets:
        if old.get(a.name) == a:
            continue  # unchanged files are not rewritten
        if a.template.startswith("sql"):
            (root / "assets" / f"{a.name}.sql").write_text(render_sql(a))
        else:
            (root / "assets" / f"{a.name}.py").write_text(render_py(a))
    if previous is None or previous.csv() != state.csv():
        (root / "data" / "src.csv").write_text(state.csv())


# -- strategies -------------------------------------------------------------------------------


@st.composite
def projects(draw: st.DrawFn) -> State:
    n = draw(st.integers(3, 8))
    assets = []
    for i in range(n):
        names = [SOURCE] + [a.name for a in assets]
        two = i >= 1 and draw(st.booleans())
        if two:
            ups = tuple(draw(st.lists(st.sampled_from(names), min_size=2, max_size=2, unique=True)))
            template = draw(st.sampled_from(TEMPLATES_2))
        else:
            ups = (draw(st.sampled_from(names)),)
            template = draw(st.sampled_from(TEMPLATES_1))
        assets.append(Asset(f"a{i}", template, ups, draw(st.integers(-5, 5))))
    rows = tuple((i, i % 4, draw(st.integers(-9, 9))) for i in range(1, 13))
    return State(tuple(assets), rows)


EDITS = ("code", "same_data", "format", "row", "row_reverted", "reorder", "revert")
edits = st.lists(
    st.tuples(st.sampled_from(EDITS), st.integers(0, 10**6), st.integers(-5, 9)), min_size=2, max_size=6
)


def apply(edit: tuple[str, int, int], state: State, history: list[State]) -> list[State]:
    """The states to build, in order, for one edit (a reverted change yields two)."""
    kind, pick, value = edit
    i = pick % len(state.assets)
    a = state.assets[i]

    def with_asset(new: Asset) -> State:
        return replace(state, assets=state.assets[:i] + (new,) + state.assets[i + 1 :])

    if kind == "code":
        return [with_asset(replace(a, k=value if value != a.k else a.k + 1))]
    if kind == "same_data":
        return [with_asset(replace(a, noop=not a.noop))]
    if kind == "format":
        return [with_asset(replace(a, style=(a.style + 1) % 3))]
    r = pick % len(state.rows)
    changed = list(state.rows)
    rid, grp, v = changed[r]
    changed[r] = (rid, grp, value if value != v else v + 1)
    if kind == "row":
        return [replace(state, rows=tuple(changed))]
    if kind == "row_reverted":
        return [replace(state, rows=tuple(changed)), state]
    if kind == "reorder":
        rows = list(state.rows)
        cut = 1 + pick % (len(rows) - 1)
        return [replace(state, rows=tuple(rows[cut:] + rows[:cut]))]
    return [history[pick % len(history)]]  # revert to an earlier state


# -- the property -----------------------------------------------------------------------------


class Oracle:
    """Content hashes of clean `--force` builds, memoised by the project's meaning."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.memo: dict[tuple, dict[str, str | None]] = {}

    def hashes(self, root: Path, state: State) -> dict[str, str | None]:
        key = state.semantic()
        if key not in self.memo:
            copy = self.workdir / f"clean{len(self.memo)}"
            shutil.copytree(root, copy, ignore=shutil.ignore_patterns(".assetbuild"))
            result = run(copy, force=True)
            assert result.ok, [(a.name, a.status.value, a.reason) for a in result.assets]
            self.memo[key] = {a.name: a.content_hash for a in result.assets}
            shutil.rmtree(copy)
        return self.memo[key]


def check_build(root: Path, state: State, before: State, jobs: int, oracle: Oracle, ctx: dict) -> None:
    result = run(root, jobs=jobs)
    got = {a.name: a for a in result.assets}
    assert result.ok, [(a.name, a.status.value, a.reason) for a in result.assets]
    clean = oracle.hashes(root, state)
    clean_before = ctx["clean"]

    # (a) correct: the same data as a clean build
    assert {n: a.content_hash for n, a in got.items()} == clean

    # (b) minimal: what ran is exactly what the model says changed
    old = {a.name: a for a in before.assets}
    keys = {SOURCE: state.csv()}
    must_run = {SOURCE: state.csv() != before.csv()}
    for a in state.assets:
        keys[a.name] = (a.semantic(), tuple(clean[u] for u in a.ups))
        code_changed = old[a.name].semantic() != a.semantic()
        must_run[a.name] = code_changed or any(clean[u] != clean_before[u] for u in a.ups)
    for name, a in got.items():
        status = a.status.value
        if must_run[name]:
            expected = "restored" if keys[name] in ctx["seen"][name] else "built"
            assert status == expected, f"{name}: {status} ({a.reason}), expected {expected}"
            assert a.build_key != ctx["keys"][name], f"{name} ran with an unchanged build key"
        else:
            assert status == "up_to_date", f"{name}: {status} ({a.reason}) but nothing it reads changed"
            assert a.build_key == ctx["keys"][name]
        ctx["seen"][name].add(keys[name])
    ctx["clean"] = clean
    ctx["keys"] = {n: a.build_key for n, a in got.items()}


@pytest.mark.slow
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(start=projects(), steps=edits, jobs=st.sampled_from([1, 2]))
def test_incremental_equals_clean_and_runs_only_what_changed(start: State, steps, jobs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="assetbuild-prop-") as tmp:
        root = Path(tmp) / "proj"
        oracle = Oracle(Path(tmp))
        write(root, start, None)
        first = run(root, jobs=jobs)
        assert first.ok and {a.status.value for a in first.assets} == {"built"}
        clean = oracle.hashes(root, start)
        assert {a.name: a.content_hash for a in first.assets} == clean
        ctx = {
            "clean": clean,
            "keys": {a.name: a.build_key for a in first.assets},
            "seen": {SOURCE: {start.csv()}},
        }
        for a in start.assets:
            ctx["seen"][a.name] = {(a.semantic(), tuple(clean[u] for u in a.ups))}
        state, history = start, [start]
        for edit in steps:
            for new in apply(edit, state, history):
                write(root, new, state)
                check_build(root, new, state, jobs, oracle, ctx)
                state = new
                history.append(state)
