"""What every command shares: the --format and --exclude options, the error → exit code mapping,
and the common end of build, check and test (JUnit, CI annotations, JSON or text)."""

from __future__ import annotations

import errno
import json
import os
import sys
from collections.abc import Callable
from typing import Any, NoReturn

import click

from assetbuild.errors import AssetbuildError, ProjectError

# errnos of a file operation the machine refused: permissions, a read-only mount, no space or quota
_ENVIRONMENT_ERRNOS = frozenset((errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT))

FORMAT = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people, json for programs (one object on stdout)",
)

EXCLUDE = click.option(
    "--exclude",
    multiple=True,
    metavar="SELECT",
    help="leave out the assets this matches (same syntax as the selection; repeatable)",
)


def emit_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, default=str))


def run(fmt: str, action: Callable[[], int]) -> None:
    """Run a command body, mapping assetbuild's errors to messages and exit codes (never a traceback)."""
    try:
        code = action()
    except AssetbuildError as e:
        if fmt == "json":
            emit_json(e.to_json() if isinstance(e, ProjectError) else {"error": str(e)})
        click.echo(f"error: {e}", err=True)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        click.echo(
            "interrupted: the running assets were stopped; what they had not finished was not published",
            err=True,
        )
        sys.exit(130)
    except OSError as e:
        # The machine refused a file operation (permissions, a read-only mount, a full disk) where
        # no message of ours explains it: that is the user's environment, not a bug, so name the
        # file and the reason (exit 2) instead of an internal error.
        if e.errno not in _ENVIRONMENT_ERRNOS or os.environ.get("ASSETBUILD_DEBUG"):
            _internal_error(e)
        where = f"{e.filename}: " if e.filename else ""
        message = f"{where}{e.strerror or e}"
        hint = "check the permissions and free space there, or run in a writable copy of the project"
        if fmt == "json":
            emit_json({"error": message, "file": e.filename, "hint": hint})
        click.echo(f"error: {message}\n  hint: {hint}", err=True)
        sys.exit(2)
    except Exception as e:
        _internal_error(e)
    sys.exit(code)


def _internal_error(e: Exception) -> NoReturn:
    if os.environ.get("ASSETBUILD_DEBUG"):
        raise e
    click.echo(
        f"internal error: {type(e).__name__}: {e}\n"
        "  this is a bug in assetbuild; set ASSETBUILD_DEBUG=1 for details and please report it",
        err=True,
    )
    sys.exit(3)


def result_text(result: Any, **options: Any) -> str:
    from assetbuild.present.text import render_text

    return render_text(result, **options)


def outcome(
    result: Any, fmt: str, junit_xml: str | None, text: Callable[[], str], annotate: bool = True
) -> int:
    """The common end of build, check and test: JUnit file, CI annotations, JSON or text; exit code."""
    if junit_xml:
        write_junit(result.assets, junit_xml)
    if annotate:
        github_annotations_for(result.assets)
    if fmt == "json":
        emit_json(result.to_json())
    else:
        click.echo(text())
    return 0 if result.ok else 1


def junit_target(ctx: click.Context, param: click.Parameter, path: str | None) -> str | None:
    """Refuse a --junit-xml path in a missing folder before anything runs (exit 2)."""
    if path is not None and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        raise click.BadParameter(f"the folder of {path} does not exist; create it first")
    return path


JUNIT_XML = click.option(
    "--junit-xml",
    type=click.Path(dir_okay=False),
    default=None,
    callback=junit_target,
    help="write the results (checks included) as JUnit XML",
)


def write_junit(assets: list[Any], path: str) -> None:
    from assetbuild.present.junit import junit_xml

    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ProjectError(f"--junit-xml {path}: the folder {folder} does not exist", hint="create it first")
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write(junit_xml(assets, "assetbuild"))
    except OSError as e:
        raise ProjectError(f"--junit-xml {path}: cannot write it ({e.strerror or e})") from None


def github_annotations_for(assets: list[Any]) -> None:
    if os.environ.get("GITHUB_ACTIONS") != "true":
        return
    from assetbuild.present.junit import github_annotations

    for line in github_annotations(assets, {}):
        click.echo(line)
