"""The `assetbuild` command: click; the only place that prints and turns errors into exit codes.

Exit codes: 0 success (warnings allowed), 1 an asset or an error-severity check failed,
2 the project is invalid, 75 another build holds the project (with --no-wait).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from assetbuild.cli.common import EXCLUDE, FORMAT, JUNIT_XML, emit_json, outcome, result_text, run


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--project",
    "project_dir",
    default=None,
    type=click.Path(file_okay=False),
    help="the project folder (default: the current folder, or the nearest one above it with an assetbuild.toml)",
)
@click.version_option(package_name="assetbuild")
@click.pass_context
def main(ctx: click.Context, project_dir: str | None) -> None:
    """make for data: incremental, content-hashed, quality-gated table builds."""
    if project_dir is None:
        from assetbuild.definitions.loader import find_project

        found = find_project(Path.cwd())
        if found is not None and found != Path.cwd().resolve():
            click.echo(f"assetbuild: using the project in {found}", err=True)
            project_dir = str(found)
        else:
            project_dir = "."  # the current folder: hints need no --project
    ctx.obj = project_dir


@main.command()
@click.argument("select", nargs=-1)
@EXCLUDE
@click.option(
    "-j", "--jobs", type=click.IntRange(1, 256), default=None, help="assets run in parallel (default: cores)"
)
@click.option("--fail-fast", is_flag=True, help="stop at the first failure")
@click.option("--force", is_flag=True, help="run every selected asset, even when up to date")
@click.option("--dry-run", is_flag=True, help="say what would run (as `plan`), run nothing")
@click.option(
    "--timeout",
    "timeout",
    metavar="DURATION",
    default=None,
    help='stop the build after this long, e.g. "30m" (default: [build] timeout, else none)',
)
@click.option(
    "--no-wait", is_flag=True, help="exit (code 75) instead of waiting when another build is running"
)
@JUNIT_XML
@click.option("-q", "--quiet", is_flag=True, help="print only failures and the summary")
@click.option("-v", "--verbose", is_flag=True, help="print every asset and every check")
@FORMAT
@click.pass_obj
def build(
    project_dir: str,
    select: tuple[str, ...],
    exclude: tuple[str, ...],
    jobs: int | None,
    fail_fast: bool,
    force: bool,
    dry_run: bool,
    timeout: str | None,
    no_wait: bool,
    junit_xml: str | None,
    quiet: bool,
    verbose: bool,
    fmt: str,
) -> None:
    """Build the selected assets (all by default), running only what changed."""

    def action() -> int:
        timeout_s = _duration_option("--timeout", timeout)
        if dry_run:
            from assetbuild.run.plan import plan

            result = plan(project_dir, select, force=force, exclude=exclude)
        else:
            from assetbuild.present.progress import progress_listener
            from assetbuild.run.build import build as run_build

            listeners = [] if fmt == "json" else [progress_listener(quiet=quiet, verbose=verbose)]
            result = run_build(
                project_dir,
                select,
                exclude=exclude,
                jobs=jobs,
                force=force,
                fail_fast=fail_fast,
                wait=not no_wait,
                listeners=listeners,
                on_wait=lambda msg: click.echo(msg, err=True),
                timeout_s=timeout_s,
            )
        return outcome(
            result,
            fmt,
            junit_xml,
            lambda: result_text(
                result, verbose=verbose, quiet=quiet, list_assets=dry_run, project_dir=project_dir
            ),
        )

    run(fmt, action)


@main.command()
@click.argument("select", nargs=-1)
@EXCLUDE
@click.option("--force", is_flag=True, help="plan as `build --force` would")
@FORMAT
@click.pass_obj
def plan(project_dir: str, select: tuple[str, ...], exclude: tuple[str, ...], force: bool, fmt: str) -> None:
    """Say what a build would run and why (which input changed); run nothing."""

    def action() -> int:
        from assetbuild.present.text import render_text
        from assetbuild.run.plan import plan as run_plan

        result = run_plan(project_dir, select, force=force, exclude=exclude)
        if fmt == "json":
            emit_json(result.to_json())
        else:
            click.echo(render_text(result, verbose=True))
        return 0

    run(fmt, action)


@main.command("check")
@click.argument("select", nargs=-1)
@EXCLUDE
@JUNIT_XML
@FORMAT
@click.pass_obj
def check_cmd(
    project_dir: str, select: tuple[str, ...], exclude: tuple[str, ...], junit_xml: str | None, fmt: str
) -> None:
    """Run the quality rules on the current data of the selected assets (the CI gate)."""

    def action() -> int:
        from assetbuild.run.check import check_assets

        result = check_assets(
            project_dir, select, exclude=exclude, on_wait=lambda msg: click.echo(msg, err=True)
        )
        return outcome(result, fmt, junit_xml, lambda: result_text(result, verbose=True))

    run(fmt, action)


@main.command("test")
@click.argument("select", nargs=-1)
@EXCLUDE
@JUNIT_XML
@FORMAT
@click.pass_obj
def test_cmd(
    project_dir: str, select: tuple[str, ...], exclude: tuple[str, ...], junit_xml: str | None, fmt: str
) -> None:
    """Run the project's asset unit tests (tests/*.yaml: given rows -> expected rows)."""

    def action() -> int:
        from assetbuild.run.testing import run_project_tests

        result = run_project_tests(project_dir, select, exclude=exclude)

        def text() -> str:
            lines = []
            for a in result.assets:
                for c in a.checks:
                    mark = "pass" if c.passed else "FAIL"
                    lines.append(
                        f"  {mark} {a.name}: {c.name[5:]}" + ("" if c.passed else f"\n      {c.actual}")
                    )
            total = sum(len(a.checks) for a in result.assets)
            failed = sum(1 for a in result.assets for c in a.checks if not c.passed)
            lines.append(f"{total - failed} passed, {failed} failed")
            return "\n".join(lines)

        return outcome(result, fmt, junit_xml, text, annotate=False)

    run(fmt, action)


@main.command()
@click.argument("asset")
@click.option("--rows", type=click.IntRange(0, 100_000), default=0, help="also print the first N rows")
@FORMAT
@click.pass_obj
def show(project_dir: str, asset: str, rows: int, fmt: str) -> None:
    """Metadata, schema, rows, hashes, checks, upstream/downstream and last run of one asset."""

    def action() -> int:
        from assetbuild.run.inspect import show_asset, show_text

        info = show_asset(project_dir, asset, rows=rows)
        if fmt == "json":
            emit_json(info)
        else:
            click.echo(show_text(info))
        return 0

    run(fmt, action)


@main.command()
@click.argument("asset")
@FORMAT
@click.pass_obj
def history(project_dir: str, asset: str, fmt: str) -> None:
    """Past materializations of an asset: when, build key, content hash, rows, checks, which run."""

    def action() -> int:
        from assetbuild.run.inspect import history_of, history_text

        info = history_of(project_dir, asset)
        if fmt == "json":
            emit_json(info)
        else:
            click.echo(history_text(info))
        return 0

    run(fmt, action)


@main.command()
@click.argument("sql")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True
)
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=1000,
    show_default=True,
    help="rows printed in table format",
)
@click.pass_obj
def query(project_dir: str, sql: str, fmt: str, limit: int) -> None:
    """Run a read-only SQL query (DuckDB) over the current data of every asset."""

    def action() -> int:
        from assetbuild.run.read import json_rows
        from assetbuild.run.read import query as run_query

        df = run_query(project_dir, sql)
        if fmt == "json":
            body = {"columns": df.columns, "rows": json_rows(df), "row_count": df.height}
            click.echo(json.dumps(body, allow_nan=False))  # NaN/Infinity arrive as text: valid JSON
        elif fmt == "csv":
            click.echo(df.write_csv(), nl=False)
        else:
            import polars as pl

            with pl.Config(tbl_rows=limit, tbl_cols=-1, fmt_str_lengths=60):
                click.echo(df.head(limit))
        return 0

    run("json" if fmt == "json" else "text", action)


@main.command(context_settings={"ignore_unknown_options": False})
@click.argument("target", required=False)
@click.option("--columns", is_flag=True, help="show column-level lineage (SQL assets)")
@click.option("--upstream", "direction", flag_value="upstream", help="only what the asset reads from")
@click.option("--downstream", "direction", flag_value="downstream", help="only what reads the asset")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "mermaid", "dot"]),
    default="text",
    show_default=True,
)
@click.option("--url", default=None, help="with `push`: the lineage backend to deliver to (e.g. Marquez)")
@click.option(
    "--timeout", type=float, default=5.0, show_default=True, help="with `push`: seconds per request"
)
@click.option(
    "--retry-parked",
    is_flag=True,
    help="with `push`: send again the events the backend refused (parked), before the others",
)
@click.pass_obj
def lineage(
    project_dir: str,
    target: str | None,
    columns: bool,
    direction: str | None,
    fmt: str,
    url: str | None,
    timeout: float,
    retry_parked: bool,
) -> None:
    """Table and column lineage from the project itself: `lineage [ASSET]`.

    `lineage push [--url URL] [--retry-parked]` delivers OpenLineage events waiting in the outbox
    (exit 1 while the backend is unreachable or refused an event, 2 for a malformed lineage URL)."""

    def action() -> int:
        from assetbuild.definitions.loader import load_project

        project = load_project(project_dir)
        if target == "push":
            from assetbuild.lineage import push

            outcome = push(project, url=url, timeout=timeout, retry_parked=retry_parked)
            if fmt == "json":
                emit_json(outcome.to_json())
            else:
                parked = f"; {len(outcome.parked)} parked" if outcome.parked else ""
                click.echo(f"delivered {outcome.delivered} events; {outcome.pending} pending{parked}")
                for line in outcome.parked_lines():
                    click.echo(line, err=True)
                if outcome.error:
                    click.echo(f"error: {outcome.error}", err=True)
            return 1 if outcome.error or outcome.pending or outcome.parked_now else 0
        from assetbuild.lineage import lineage_view
        from assetbuild.trace.state import State

        state = State.open(project.store_dir, readonly=True)
        schemas = {n: c.mat.schema for n, c in state.current(project.environment).items()} if state else {}
        if state:
            state.close()

        def upstream_schemas_of(name: str) -> dict[str, list[tuple[str, str]]]:
            return {u: schemas[u] for u in project.assets[name].upstream if u in schemas}

        click.echo(
            lineage_view(
                project,
                target,
                columns=columns,
                direction=direction or "both",
                fmt=fmt,
                upstream_schemas_of=upstream_schemas_of,
            )
        )
        return 0

    run("json" if fmt == "json" else "text", action)


def _duration_option(option: str, value: str | None) -> float | None:
    """A duration given on the command line, or None; a bad one is a usage error (exit 2)."""
    if value is None:
        return None
    from assetbuild.definitions.settings import DURATION_HINT, parse_duration
    from assetbuild.errors import ProjectError

    seconds = parse_duration(value)
    if seconds is None:
        raise ProjectError(f"{option} {value!r} is not a duration", hint=DURATION_HINT)
    return seconds


from assetbuild.cli.visibility import gc, graph, init, report  # noqa: E402

for _command in (report, graph, init, gc):
    main.add_command(_command)


if __name__ == "__main__":
    main()
