"""Asset unit tests: run one asset (or a subgraph) on given tables, without touching the store.

For pytest:

    from assetbuild.run.testing import run_asset, assert_same_rows
    out = run_asset("examples/fraud", "user_features", {"cleaned_transactions": df, "users": users})

and declarative tests in a project's `tests/*.yaml`, run by `assetbuild test`:

    asset: user_features
    name: aggregates per user          # optional
    given: {upstream_name: [ {col: value, ...}, ... ]}
    expect: [ {col: value, ...} ]      # order-insensitive; or expect_columns: [...] / expect_rows: N
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assetbuild.definitions.loader import load_project
from assetbuild.definitions.selection import select as select_assets
from assetbuild.errors import AssetFailure, ProjectError, did_you_mean
from assetbuild.model.assets import Kind, Project
from assetbuild.model.results import AssetResult, BuildResult, CheckResult, Severity, Status
from assetbuild.model.runids import new_run_id

_TEST_KEYS = ("asset", "name", "given", "expect", "expect_columns", "expect_rows", "description")


def _frame(value: Any) -> Any:
    import polars as pl

    from assetbuild.executor.content import to_polars

    if isinstance(value, list):
        return pl.DataFrame(value) if value else pl.DataFrame()
    return to_polars(value, "a given input")


def run_asset(project: str | Path | Project, asset: str, inputs: Mapping[str, Any]) -> Any:
    """Run `asset` of a project on `inputs` (upstream name -> DataFrame or list of row dicts)."""
    return run_assets(project, [asset], inputs)[asset]


def run_assets(
    project: str | Path | Project, assets: Sequence[str], inputs: Mapping[str, Any]
) -> dict[str, Any]:
    """Run a subgraph in dependency order; upstream outside it must be given in `inputs`."""
    from assetbuild.executor.content import content_hash, write_parquet
    from assetbuild.executor.local import local_executors
    from assetbuild.executor.protocol import InputRef

    loaded = project if isinstance(project, Project) else load_project(project)
    for name in assets:
        if name not in loaded.assets:
            raise ProjectError(f"no asset named '{name}'", hint=did_you_mean(name, loaded.assets))
    order = [n for n in loaded.order if n in set(assets)]
    # the same executors a build uses: a test runs an asset exactly as the build would
    outputs: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="assetbuild-test-") as tmp:
        executors = local_executors(loaded, readable=[Path(tmp)])
        refs: dict[str, InputRef] = {}
        for name, value in inputs.items():
            frame = _frame(value)
            path = Path(tmp) / f"{name}.parquet"
            write_parquet(frame, path)
            refs[name] = InputRef(name, path, content_hash(frame))
        try:
            for name in order:
                a = loaded.assets[name]
                if a.kind is Kind.SOURCE:
                    raise ProjectError(f"'{name}' is a source: give its rows as input instead of testing it")
                missing = [u for u in a.upstream if u not in refs]
                if missing:
                    raise ProjectError(
                        f"test of '{name}' gives no rows for its upstream {', '.join(missing)}",
                        hint="add them under `given:` (an empty list is fine)",
                    )
                out = executors.run(a, {u: refs[u] for u in a.upstream}, Path(tmp) / f"{name}.parquet")
                # a Python asset's table stays in its worker: read the object it wrote
                outputs[name] = out.frame if out.frame is not None else _read(out.path)
                refs[name] = InputRef(name, out.path, out.content_hash)
        finally:
            executors.close()
    return outputs


def _read(path: Path) -> Any:
    import polars as pl

    return pl.read_parquet(path)


def assert_same_rows(actual: Any, expected: Any) -> None:
    """Equal as tables, ignoring row order; expected values are cast to the actual column types."""
    import polars as pl
    from polars.testing import assert_frame_equal

    exp = _frame(expected)
    missing = [c for c in exp.columns if c not in actual.columns]
    extra = [c for c in actual.columns if c not in exp.columns]
    if missing or extra:
        raise AssertionError(f"columns differ: missing {missing}, unexpected {extra}")
    exp = exp.select([pl.col(c).cast(actual.schema[c]) for c in actual.columns])
    assert_frame_equal(actual, exp, check_row_order=False, check_exact=False, rel_tol=1e-6, abs_tol=1e-9)


@dataclass(frozen=True)
class AssetTest:
    path: str
    line: int
    asset: str
    name: str
    given: dict[str, Any]
    expect: list[dict[str, Any]] | None
    expect_columns: list[str] | None
    expect_rows: int | None


def load_tests(project: Project) -> list[AssetTest]:
    import yaml

    out: list[AssetTest] = []
    folder = project.root / "tests"
    if not folder.is_dir():
        return out
    for path in sorted(folder.glob("*.y*ml")):
        rel = path.relative_to(project.root).as_posix()
        try:
            docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            raise ProjectError(
                f"YAML syntax error: {getattr(e, 'problem', e)}",
                rel,
                mark.line + 1 if mark else None,
                mark.column + 1 if mark else None,
            ) from None
        except UnicodeDecodeError:
            raise ProjectError("not valid UTF-8", rel, hint="save the file as UTF-8") from None
        for doc in docs:
            out.append(_test(project, rel, doc))
    return out


def _test(project: Project, rel: str, doc: Any) -> AssetTest:
    if not isinstance(doc, dict):
        raise ProjectError("a test is a mapping with asset, given and expect", rel, 1)
    for key in doc:
        if key not in _TEST_KEYS:
            raise ProjectError(f"unknown key '{key}' in a test", rel, hint=did_you_mean(str(key), _TEST_KEYS))
    asset = doc.get("asset")
    if asset not in project.assets:
        raise ProjectError(
            f"test names unknown asset '{asset}'", rel, hint=did_you_mean(str(asset), project.assets)
        )
    given = doc.get("given") or {}
    if not isinstance(given, dict) or not all(isinstance(v, list) for v in given.values()):
        raise ProjectError("`given` maps each upstream asset to a list of rows", rel)
    expect = doc.get("expect")
    if expect is None and doc.get("expect_rows") is None and doc.get("expect_columns") is None:
        raise ProjectError("a test needs `expect` (rows), or `expect_rows` / `expect_columns`", rel)
    return AssetTest(
        rel,
        1,
        asset,
        str(doc.get("name") or asset),
        given,
        expect,
        doc.get("expect_columns"),
        doc.get("expect_rows"),
    )


def run_project_tests(
    project_dir: str | Path = ".", select: Sequence[str] = (), exclude: Sequence[str] = ()
) -> BuildResult:
    """Run the project's declarative tests for the selected assets; one result per asset."""
    project = load_project(project_dir)
    chosen = set(select_assets(project, select, exclude=exclude))
    t0 = time.perf_counter()
    by_asset: dict[str, list[CheckResult]] = {}
    for test in load_tests(project):
        if test.asset not in chosen:
            continue
        by_asset.setdefault(test.asset, []).append(_run_one(project, test))
    results = []
    for asset, checks in by_asset.items():
        ok = all(c.passed for c in checks)
        results.append(
            AssetResult(
                asset,
                project.assets[asset].kind.value,
                Status.UP_TO_DATE if ok else Status.CHECK_FAILED,
                f"{sum(c.passed for c in checks)}/{len(checks)} tests pass",
                checks=checks,
            )
        )
    return BuildResult(new_run_id(), results, time.perf_counter() - t0)


def _run_one(project: Project, test: AssetTest) -> CheckResult:
    name = f"test:{test.name}"
    try:
        out = run_asset(project, test.asset, test.given)
        if test.expect_columns is not None and list(out.columns) != list(test.expect_columns):
            raise AssertionError(f"columns {out.columns}, expected {test.expect_columns}")
        if test.expect_rows is not None and out.height != test.expect_rows:
            raise AssertionError(f"{out.height} rows, expected {test.expect_rows}")
        if test.expect is not None:
            assert_same_rows(out, test.expect)
    except AssertionError as e:
        return CheckResult(
            name, Severity.ERROR, False, 1, description=test.path, actual=str(e)[:2000], source=test.path
        )
    except AssetFailure as e:
        return CheckResult(
            name,
            Severity.ERROR,
            False,
            1,
            description=test.path,
            actual=(e.message + "\n" + e.user_traceback)[:2000],
            source=test.path,
        )
    return CheckResult(name, Severity.ERROR, True, 0, description=test.path, source=test.path)
