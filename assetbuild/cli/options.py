"""Options every command shares; a module of its own so cli.py and commands/ both import it."""

from __future__ import annotations

import click

FORMAT = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people, json for programs (one object on stdout)",
)
