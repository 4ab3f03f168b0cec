"""The commands that show a project and look after it: `report`, `graph`, `init`, `gc`.

Thin click faces over html_report, graph_text, scaffold and gc; cli/app.py registers them on the group,
which passes the project folder as `ctx.obj`.
"""

from __future__ import annotations

from pathlib import Path

import click

from assetbuild.cli.common import FORMAT, emit_json, run


@click.command()
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Path(dir_okay=False),
    default=None,
    help="where to write the page (default: .assetbuild/report.html in the project)",
)
@FORMAT
@click.pass_obj
def report(project_dir: str, output: str | None, fmt: str) -> None:
    """Write one self-contained HTML page (opens offline): the DAG coloured by state, and per asset
    its last build, rows, schema, checks with failing rows, code and column lineage."""

    def action() -> int:
        from assetbuild.present.html_report import write_report

        info = write_report(project_dir, output)
        if fmt == "json":
            emit_json(info)
        else:
            from assetbuild.present.html_report import STATES

            states = ", ".join(
                f"{info['states'][s]} {label}" for s, (label, _) in STATES.items() if s in info["states"]
            )
            click.echo(f"wrote {info['path']} ({info['assets']} assets: {states})")
        return 0

    run(fmt, action)


@click.command()
@click.argument("select", nargs=-1)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["mermaid", "dot", "html", "json"]),
    default="mermaid",
    show_default=True,
    help="mermaid or dot for docs and PRs, html for a page to open, json for programs",
)
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Path(dir_okay=False),
    default=None,
    help="write to a file instead of stdout",
)
@click.pass_obj
def graph(project_dir: str, select: tuple[str, ...], fmt: str, output: str | None) -> None:
    """The asset DAG (all assets, or the selection: name, +name, name+, tag:T, kind:K)."""

    def action() -> int:
        from assetbuild.definitions.loader import load_project
        from assetbuild.definitions.selection import select as select_assets
        from assetbuild.gate.audit import load_rulesets
        from assetbuild.run.decisions import rule_reads

        project = load_project(project_dir)
        names = select_assets(project, select)
        # what the rules read is a dependency too (a build waits for it): drawn dashed
        reads = rule_reads(project, load_rulesets(project))
        if fmt == "json":
            from assetbuild.present.graph_text import graph_json

            emit_json(graph_json(project, names, reads))
            return 0
        if fmt == "html":
            from assetbuild.present.html_report import graph_html

            text = graph_html(project, names)
        else:
            from assetbuild.present.graph_text import dot, mermaid

            text = mermaid(project, names, reads) if fmt == "mermaid" else dot(project, names, reads)
        if output:
            from assetbuild.present.html_report import write_page

            write_page(
                Path(output), text + ("" if text.endswith("\n") else "\n"), "the graph", "-o/--output FILE"
            )
            click.echo(f"wrote {output}", err=True)
        else:
            click.echo(text)
        return 0

    # errors as text: a --format of mermaid/dot/html must not get a JSON error on stdout
    run("json" if fmt == "json" else "text", action)


@click.command()
@click.argument("directory", type=click.Path(file_okay=True, dir_okay=True))
@FORMAT
def init(directory: str, fmt: str) -> None:
    """Create a small working project in DIRECTORY (new or empty): a CSV source, a Python and a
    SQL asset, and quality rules. Then: assetbuild --project DIRECTORY build."""

    def action() -> int:
        from assetbuild.run.scaffold import init_project

        info = init_project(directory)
        if fmt == "json":
            emit_json(info)
        else:
            click.echo(f"created project '{info['project']}' in {info['path']}:")
            for f in info["files"]:
                click.echo(f"  {f}")
            where = directory if " " not in directory else f'"{directory}"'
            click.echo(f"next:\n  cd {where}\n  assetbuild build\n  assetbuild report")
        return 0

    run(fmt, action)


@click.command()
@click.option(
    "--keep",
    type=click.IntRange(0, None),
    default=None,
    help="keep the newest N past materializations of each asset besides current (instant restore "
    "on revert); default: [store] keep in assetbuild.toml, else 5",
)
@click.option(
    "--exports",
    "exports",
    is_flag=True,
    help="also remove exported files that no asset writes any more (its asset deleted, its export "
    "dropped or moved); the build lists them",
)
@click.option("--dry-run", is_flag=True, help="say what would be removed; remove nothing")
@click.option("--no-wait", is_flag=True, help="exit (code 75) instead of waiting when a build is running")
@FORMAT
@click.pass_obj
def gc(project_dir: str, keep: int | None, exports: bool, dry_run: bool, no_wait: bool, fmt: str) -> None:
    """Delete stored data that no environment's current data and no recent version points to
    (every build does this itself, keeping [store] keep past versions per asset)."""

    def action() -> int:
        from assetbuild.run.gc import collect_garbage

        result = collect_garbage(
            project_dir,
            keep=keep,
            dry_run=dry_run,
            wait=not no_wait,
            on_wait=lambda msg: click.echo(msg, err=True),
            exports=exports,
        )
        if fmt == "json":
            emit_json(result.to_json())
        else:
            click.echo(result.text())
        return 1 if result.export_trouble else 0

    run(fmt, action)
