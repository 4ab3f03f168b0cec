"""assetbuild: make for data. The public API; importing it loads nothing heavy.

    from assetbuild import asset, check

`build`, `plan`, `check_assets`, `show` and `read` are loaded on first use, so that a decorator
import in an asset file costs nothing and a no-op build stays fast.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, overload

from assetbuild.errors import AssetbuildError, AssetFailure, ProjectError, StoreError
from assetbuild.version import __version__

F = TypeVar("F", bound=Callable[..., Any])

__all__ = [
    "AssetFailure",
    "AssetbuildError",
    "ProjectError",
    "StoreError",
    "__version__",
    "asset",
    "build",
    "check",
    "plan",
    "read",
    "show",
]


@overload
def asset(fn: F) -> F: ...


@overload
def asset(
    fn: None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    tags: list[str] | None = None,
    owner: str | None = None,
    retries: int = 0,
    schema: Any = None,
    metadata: dict[str, Any] | None = None,
    export: str | None = None,
    ordered: bool = False,
    timeout: str | float | None = None,
) -> Callable[[F], F]: ...


def asset(fn: Any = None, **options: Any) -> Any:
    """Mark a function as an asset. Its parameters name its upstream assets.

    assetbuild reads the decorator statically (without running your module), so its arguments
    must be literals; `schema=` may name a pandera DataFrameModel defined in the same module.
    """

    def mark(f: F) -> F:
        f.__assetbuild_asset__ = options  # type: ignore[attr-defined]
        return f

    return mark(fn) if fn is not None else mark


def check(
    *, asset: str, name: str | None = None, severity: str = "error", description: str | None = None
) -> Callable[[F], F]:
    """Mark a function as a quality check of `asset`: it gets the asset's DataFrame and returns
    True/False or the failing rows (a DataFrame; empty means pass)."""

    def mark(f: F) -> F:
        f.__assetbuild_check__ = {"asset": asset, "name": name, "severity": severity}  # type: ignore[attr-defined]
        return f

    return mark


def __getattr__(name: str) -> Any:
    if name in ("build", "plan", "check_assets", "show"):
        from assetbuild import api

        return getattr(api, name)
    if name == "read":
        from assetbuild.run.read import read

        return read
    raise AttributeError(f"module 'assetbuild' has no attribute {name!r}")
