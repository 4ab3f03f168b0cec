"""The `assetbuild` command (click): `app.py` holds the group, one module per family of commands."""

from assetbuild.cli.app import main

__all__ = ["main"]
