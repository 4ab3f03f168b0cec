"""Property: `plan` predicts what the next `build` does, and the build gates what it publishes.

Each example draws a project from test_incremental_property (3–8 SQL and Python assets over one
CSV source), quality rules on some assets (`v: {min: K}` and/or `row_count_change`, error or warn),
optionally one Python asset that fails (always, or when its input holds a given `v`), and a
sequence of steps. A step edits the project (code, data, formatting, source rows, reverts, rule
thresholds and severities, rule files added or removed, the failing asset toggled), draws a
selection (everything, `name`, `+name`, `name+`, each with an optional exclude of one name), then
takes P = plan(selection) and B = build(selection) and checks:

1. P and B name the same assets in the same order;
2. each prediction holds: will_build ⇒ built | check_failed | failed; will_restore ⇒ restored |
   check_failed; up_to_date ⇒ up_to_date (or check_failed when P said the checks will run, or
   that the data fails them); blocked ⇒ blocked; pending ⇒ anything. An asset may end `blocked`
   when something upstream of it ended failed, check_failed or blocked, but one P decided
   (will_build, will_restore, up_to_date) only when that upstream is a re-check P left open: a
   restore P decided on has a stored passing verdict. Decided predictions carry B's build key,
   and a restore or an unchanged asset B's content hash;
3. the gate: what B published (built, restored) passes its error `min` rule; published data that
   fails one (a rule tightened after it was published) is never new in this build, and B never
   reports it with passing checks. (`row_count_change` depends on history, so it is left to B.)
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from assetbuild.model.reasons import Cause
from assetbuild.model.results import FAILING, AssetResult, Status
from assetbuild.run.check import check_assets
from assetbuild.run.plan import plan
from assetbuild.run.read import current_objects

from .projects import run
from .test_incremental_property import SOURCE, Asset, State, apply, projects, render_py, render_sql

FAIL_TEMPLATES = ("py_fail", "py_fail_always")


@dataclass(frozen=True)
class Rules:
    min_k: int | None = None
    min_sev: str = "error"
    drop: float | None = None
    drop_sev: str = "error"

    def yaml(self, name: str) -> str:
        text = f"asset: {name}\nseverity: error\n"
        if self.min_k is not None:
            text += f"columns:\n  v: {{min: {self.min_k}, severity: {self.min_sev}}}\n"
        if self.drop is not None:
            text += f"table:\n  row_count_change: {{max_drop: {self.drop}, severity: {self.drop_sev}}}\n"
        return text


@dataclass(frozen=True)
class World:
    state: State
    rules: tuple[tuple[str, Rules], ...] = ()  # (asset, rules), sorted; only assets with a file

    def rules_of(self) -> dict[str, Rules]:
        return dict(self.rules)


# -- rendering --------------------------------------------------------------------------------


def render_fail(a: Asset) -> str:
    """A Python asset that raises ValueError always, or when its input holds a row with v == k."""
    u1 = a.ups[0]
    always = "True" if a.template == "py_fail_always" else "False"
    noop = ".filter(pl.lit(True))" if a.noop else ""
    comments = "# a comment\n" * a.style
    return (
        f"from assetbuild import asset\nimport polars as pl\n\n{comments}BAD = {a.k}\n\n\n"
        f"@asset\ndef {a.name}({u1}: pl.DataFrame) -> pl.DataFrame:\n"
        f'    if {always} or ({u1}["v"] == BAD).any():\n'
        f'        raise ValueError("a bad row")\n'
        f'    return {u1}.filter(pl.col("v") != BAD){noop}\n'
    )


def write(root: Path, world: World, previous: World | None) -> None:
    state, before = world.state, previous.state if previous else None
    (root / "assets").mkdir(parents=True, exist_ok=True)
    (root / "data").mkdir(exist_ok=True)
    (root / "rules").mkdir(exist_ok=True)
    (root / "assetbuild.toml").write_text(
        f'[project]\nname = "prop"\n\n[sources.{SOURCE}]\npath = "data/src.csv"\n'
    )
    old = {a.name: a for a in before.assets} if before else {}
    for a in state.assets:
        if old.get(a.name) == a:
            continue  # unchanged files are not rewritten
        if a.template.startswith("sql"):
            (root / "assets" / f"{a.name}.sql").write_text(render_sql(a))
        elif a.template in FAIL_TEMPLATES:
            (root / "assets" / f"{a.name}.py").write_text(render_fail(a))
        else:
            (root / "assets" / f"{a.name}.py").write_text(render_py(a))
    if before is None or before.csv() != state.csv():
        (root / "data" / "src.csv").write_text(state.csv())
    rules, old_rules = world.rules_of(), previous.rules_of() if previous else {}
    for name in old_rules.keys() - rules.keys():
        (root / "rules" / f"{name}.yaml").unlink()
    for name, r in rules.items():
        if old_rules.get(name) != r:
            (root / "rules" / f"{name}.yaml").write_text(r.yaml(name))


# -- strategies -------------------------------------------------------------------------------

DROPS = (0.1, 0.3, 0.5, 0.9)
SEVERITIES = ("error", "warn")


@st.composite
def rules(draw: st.DrawFn) -> Rules | None:
    if not draw(st.booleans()):
        return None
    min_k = draw(st.none() | st.integers(-12, 6))
    drop = draw(st.none() | st.sampled_from(DROPS))
    if min_k is None and drop is None:
        min_k = draw(st.integers(-12, 6))
    return Rules(min_k, draw(st.sampled_from(SEVERITIES)), drop, draw(st.sampled_from(SEVERITIES)))


@st.composite
def worlds(draw: st.DrawFn) -> World:
    state = draw(projects())
    one_input = [i for i, a in enumerate(state.assets) if len(a.ups) == 1]
    if one_input and draw(st.booleans()):  # one Python asset that fails
        i = draw(st.sampled_from(one_input))
        a = state.assets[i]
        template = draw(st.sampled_from(FAIL_TEMPLATES))
        failing = replace(a, template=template, k=draw(st.integers(-9, 9)))
        state = replace(state, assets=state.assets[:i] + (failing,) + state.assets[i + 1 :])
    names = [SOURCE] + [a.name for a in state.assets]
    drawn = {n: draw(rules()) for n in names}
    return World(state, tuple(sorted((n, r) for n, r in drawn.items() if r is not None)))


PROJECT_EDITS = ("code", "same_data", "format", "row", "row_reverted", "reorder", "revert")
RULE_EDITS = ("rule_min", "rule_drop", "rule_severity", "rule_file")
steps = st.lists(
    st.tuples(
        st.sampled_from(PROJECT_EDITS + RULE_EDITS + ("toggle_fail",)),
        st.integers(0, 10**6),
        st.integers(-5, 9),
        st.sampled_from(("all", "name", "+name", "name+")),  # the selection
        st.integers(0, 10**6),
        st.none() | st.integers(0, 10**6),  # an exclude
    ),
    min_size=2,
    max_size=8,
)


def edit(step: tuple, world: World, history: list[World]) -> list[World]:
    """The worlds to build, in order, for one edit (a reverted change yields two)."""
    kind, pick, value = step[:3]
    if kind == "revert":
        return [history[pick % len(history)]]
    if kind in PROJECT_EDITS:
        return [replace(world, state=s) for s in apply((kind, pick, value), world.state, [])]
    if kind == "toggle_fail":
        assets = world.state.assets
        i = next((i for i, a in enumerate(assets) if a.template in FAIL_TEMPLATES), None)
        if i is None:
            return [world]  # a step with no edit: plan and build an unchanged project
        flipped = "py_fail" if assets[i].template == "py_fail_always" else "py_fail_always"
        state = replace(
            world.state, assets=assets[:i] + (replace(assets[i], template=flipped),) + assets[i + 1 :]
        )
        return [replace(world, state=state)]
    names = [SOURCE] + [a.name for a in world.state.assets]
    name = names[pick % len(names)]
    all_rules = world.rules_of()
    r = all_rules.get(name, Rules())
    if kind == "rule_min":
        r = replace(r, min_k=value - 3 if value - 3 != r.min_k else value - 2)
    elif kind == "rule_drop":
        r = replace(r, drop=DROPS[value % len(DROPS)] if DROPS[value % len(DROPS)] != r.drop else None)
    elif kind == "rule_severity":
        r = replace(r, min_sev="warn" if r.min_sev == "error" else "error")
        if r.min_k is None:
            r = replace(r, min_k=value - 3)
    else:  # rule_file: add or remove this asset's rules file
        r = Rules(value - 3) if name not in all_rules else Rules()
    if r.min_k is None and r.drop is None:
        all_rules.pop(name, None)
    else:
        all_rules[name] = r
    return [replace(world, rules=tuple(sorted(all_rules.items())))]


def selection(step: tuple, world: World) -> tuple[list[str], list[str]]:
    how, pick, exclude = step[3:]
    names = [SOURCE] + [a.name for a in world.state.assets]
    name = names[pick % len(names)]
    select = {"all": [], "name": [name], "+name": [f"+{name}"], "name+": [f"{name}+"]}[how]
    return select, [] if exclude is None else [names[exclude % len(names)]]


# -- the property -----------------------------------------------------------------------------

PREDICTS = {
    Status.WILL_BUILD: {Status.BUILT, Status.CHECK_FAILED, Status.FAILED},
    Status.WILL_RESTORE: {Status.RESTORED, Status.CHECK_FAILED},
    Status.UP_TO_DATE: {Status.UP_TO_DATE},
    Status.BLOCKED: {Status.BLOCKED},
    Status.CHECK_FAILED: {Status.CHECK_FAILED},  # a stored verdict that fails is certain
}
DECIDED = (Status.WILL_BUILD, Status.WILL_RESTORE, Status.UP_TO_DATE, Status.CHECK_FAILED)


def upstream_closure(world: World) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {SOURCE: set()}
    for a in world.state.assets:  # in topological order: upstream come first
        out[a.name] = set(a.ups).union(*(out[u] for u in a.ups))
    return out


def published(root: Path) -> dict[str, pl.DataFrame]:
    return {n: pl.read_parquet(p) for n, p in current_objects(root).items()}


def fails_error_min(df: pl.DataFrame, r: Rules | None) -> bool:
    if r is None or r.min_k is None or r.min_sev != "error" or df.height == 0:
        return False
    return bool((df["v"] < r.min_k).any())


def _rechecked(p: AssetResult) -> bool:
    return p.why is not None and (p.why.has(Cause.CHECKS_WILL_RUN) or p.why.has(Cause.FAILS_RULES))


def check_step(root: Path, world: World, select: list[str], exclude: list[str], jobs: int) -> None:
    before = published(root)
    p_result = plan(root, select=select, exclude=exclude)
    b_result = run(root, select=select, exclude=exclude, jobs=jobs)
    show = {
        "plan": [(a.name, a.status.value, a.reason) for a in p_result.assets],
        "build": [(a.name, a.status.value, a.reason) for a in b_result.assets],
    }

    # 1. the same assets, in the same order
    assert [a.name for a in p_result.assets] == [a.name for a in b_result.assets], show

    # 2. each prediction holds
    got = {a.name: a for a in b_result.assets}
    failing = {n for n, b in got.items() if b.status in FAILING}
    # up_to_date, but the plan said the checks will run on the current data or that it fails them
    rechecked = {p.name for p in p_result.assets if p.status is Status.UP_TO_DATE and _rechecked(p)}
    ups = upstream_closure(world)
    for p in p_result.assets:
        b = got[p.name]
        if b.status is Status.BLOCKED and ups[p.name] & failing:
            event(f"{p.status.value} -> blocked (by a failing upstream)")
            if p.status in DECIDED:
                # decided on its upstream's data: only a re-check the plan left open can fail
                # upstream (a restore it decided on has a stored passing verdict)
                opened = ups[p.name] & rechecked & failing
                assert opened, f"{p.name}: plan {p.status.value}, build blocked\n{show}"
            continue  # an upstream failed in the build: whatever was predicted, this waits
        allowed = PREDICTS.get(p.status, set(Status))
        if p.name in rechecked:
            allowed = allowed | {Status.CHECK_FAILED}
        event(f"{p.status.value} -> {b.status.value}")
        assert b.status in allowed, f"{p.name}: plan {p.status.value}, build {b.status.value}\n{show}"
        if p.status in DECIDED:
            assert p.build_key == b.build_key, f"{p.name}: plan and build keys differ\n{show}"
        if p.status in (Status.WILL_RESTORE, Status.UP_TO_DATE) and b.status in (
            Status.RESTORED,
            Status.UP_TO_DATE,
        ):
            assert p.content_hash == b.content_hash, f"{p.name}: plan and build data differ\n{show}"

    # 3. the gate
    after = published(root)
    rules = world.rules_of()
    for name, b in got.items():
        if b.status in (Status.BUILT, Status.RESTORED, Status.UP_TO_DATE):
            assert name in after, f"{name}: {b.status.value} but nothing is published\n{show}"
        if b.status in (Status.BUILT, Status.RESTORED):
            assert not fails_error_min(after[name], rules.get(name)), f"{name} published failing data\n{show}"
    for name, df in after.items():
        if not fails_error_min(df, rules.get(name)):
            continue
        event("published data fails a tightened error rule")
        assert name in before and before[name].equals(df), f"{name}: new data failing its rules\n{show}"
        b = got.get(name)
        # data that fails an error rule fails every build that selects it, not only the first
        if b is not None:
            assert b.status is not Status.UP_TO_DATE, f"{name}: up_to_date, yet its data fails `min`\n{show}"


@pytest.mark.slow
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(start=worlds(), steps=steps, jobs=st.sampled_from([1, 2]))
def test_plan_predicts_the_next_build(start: World, steps: list[tuple], jobs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="assetbuild-plan-prop-") as tmp:
        root = Path(tmp) / "proj"
        write(root, start, None)
        first = ("all", 0, 0, "all", 0, None)
        check_step(root, start, *selection(first, start), jobs)
        world, history = start, [start]
        for step in steps:
            for new in edit(step, world, history):
                write(root, new, world)
                check_step(root, new, *selection(step, new), jobs)
                world = new
                history.append(world)


# -- found by the property --------------------------------------------------------------------


def test_current_data_that_fails_a_tightened_rule_fails_every_build(make_project):
    root = make_project(
        {
            "assetbuild.toml": '[project]\nname = "gate"\n\n[sources.src]\npath = "data/src.csv"\n',
            "data/src.csv": "id,v\n1,1\n2,3\n",
            "assets/a1.sql": "SELECT * FROM src\n",
            "assets/a2.sql": "SELECT * FROM a1\n",
            "rules/a1.yaml": "asset: a1\ncolumns:\n  v: {min: 0}\n",
        }
    )
    assert run(root).ok
    (root / "rules/a1.yaml").write_text("asset: a1\ncolumns:\n  v: {min: 2}\n")
    second = run(root)
    assert [(a.name, a.status.value) for a in second.assets] == [
        ("src", "up_to_date"),
        ("a1", "check_failed"),
        ("a2", "blocked"),
    ]
    third = run(root)  # nothing changed: a1's data still fails its rule
    checked = check_assets(root)
    assert checked.assets[1].status is Status.CHECK_FAILED, "`check` says a1 fails"
    assert not third.ok, [(a.name, a.status.value, a.reason) for a in third.assets]
    assert third.assets[1].status is Status.CHECK_FAILED
