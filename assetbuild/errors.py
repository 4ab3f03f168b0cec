"""The error types that cross module boundaries and how they map to exit codes.

`ProjectError` is a mistake in the user's project (exit 2): it names the file, line and column
and, where one fits, a hint such as "did you mean ...". `AssetFailure` is a run that failed
(exit 1). Nothing else should escape to the CLI; anything that does is a bug in assetbuild.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path


class AssetbuildError(Exception):
    """Root of every error assetbuild raises on purpose."""

    exit_code = 1


class ProjectError(AssetbuildError):
    """The project is invalid: bad config, unknown upstream, cycle, bad rule file, bad selection."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        path: str | Path | None = None,
        line: int | None = None,
        col: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        self.col = col
        self.hint = hint

    @property
    def location(self) -> str:
        if self.path is None:
            return ""
        loc = self.path
        if self.line is not None:
            loc += f":{self.line}"
            if self.col is not None:
                loc += f":{self.col}"
        return loc

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}" if self.location else self.message
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def to_json(self) -> dict[str, object]:
        return {
            "error": self.message,
            "file": self.path,
            "line": self.line,
            "col": self.col,
            "hint": self.hint,
        }


class StoreError(AssetbuildError):
    """The store under `.assetbuild/` is unusable (damaged, locked, from another format version)."""

    exit_code = 2


class AssetFailure(AssetbuildError):
    """Running one asset failed; `user_traceback` holds the user's own frames only."""

    exit_code = 1

    def __init__(self, message: str, user_traceback: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.user_traceback = user_traceback


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """A hint naming the closest candidate, or None when nothing is close."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None
