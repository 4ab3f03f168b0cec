"""Running Python assets: import the user's module by path, call the function with upstream tables.

User modules are imported only here, when an asset actually runs. Tracebacks shown to the user
keep their own frames and drop assetbuild's.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
import traceback
import types
from pathlib import Path
from typing import Any

import polars as pl

from assetbuild.errors import AssetFailure
from assetbuild.executor.content import to_polars
from assetbuild.model.assets import AssetDef

_import_lock = threading.Lock()


class ModuleLoader:
    """Imports project files once per process under private module names."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.modules: dict[str, types.ModuleType] = {}
        for p in (root / "assets", root):
            if str(p) not in sys.path:
                sys.path.insert(0, str(p))
        _forget_project_modules(root)

    def load(self, relpath: str) -> types.ModuleType:
        with _import_lock:
            if relpath in self.modules:
                return self.modules[relpath]
            path = self.root / relpath
            if str(path.parent) not in sys.path:
                sys.path.insert(0, str(path.parent))  # so an asset imports the modules beside it
            mod_name = "assetbuild_project_" + relpath.removesuffix(".py").replace("/", "__").replace(
                "-", "_"
            )
            spec = importlib.util.spec_from_file_location(mod_name, path)
            if spec is None or spec.loader is None:
                raise AssetFailure(f"cannot import {relpath}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[mod_name] = module
            try:
                spec.loader.exec_module(module)
            except (Exception, SystemExit) as e:
                sys.modules.pop(mod_name, None)
                raise AssetFailure(
                    f"importing {relpath} failed: {type(e).__name__}: {e}", user_traceback(e, self.root)
                ) from None
            self.modules[relpath] = module
            return module

    def function(self, relpath: str, name: str) -> Any:
        module = self.load(relpath)
        fn = getattr(module, name, None)
        if fn is None:
            raise AssetFailure(f"{relpath} has no function '{name}' at import time")
        return getattr(fn, "__wrapped_asset__", fn)


def _forget_project_modules(root: Path) -> None:
    """Drop the project's own modules from `sys.modules`, so that a long-lived process (a
    notebook, a scheduler) running a new build imports the code as it is now on disk."""
    own = Path(__file__).resolve().parents[1]
    root_text = str(root.resolve())
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if not file:
            continue
        try:
            resolved = str(Path(file).resolve())
        except OSError:
            continue
        if not resolved.startswith(root_text + "/") or resolved.startswith(str(own) + "/"):
            continue
        if "site-packages" in resolved or resolved.startswith(str(Path(sys.prefix).resolve()) + "/"):
            continue  # a virtualenv kept inside the project: installed libraries, not project code
        del sys.modules[name]


def run_python(asset: AssetDef, loader: ModuleLoader, inputs: dict[str, Path]) -> pl.DataFrame:
    assert asset.function is not None
    fn = loader.function(asset.path, asset.function)
    kwargs: dict[str, Any] = {}
    for name, path in inputs.items():
        kwargs[name] = read_input(path, input_kind(fn, name, name in asset.lazy_params))
    try:
        value = fn(**kwargs)
    except MemoryError:
        raise  # the worker reports it as running out of memory, with the peak it reached
    except BaseException as e:
        # sys.exit(), KeyboardInterrupt, GeneratorExit: that asset fails, not the build
        raise AssetFailure(
            f"{asset.path}:{asset.line}: {asset.name} raised {type(e).__name__}: {e}",
            user_traceback(e, loader.root),
        ) from None
    try:
        return to_polars(value, f"{asset.path}:{asset.line}: {asset.name}")
    except TypeError as e:
        raise AssetFailure(str(e)) from None
    except Exception as e:  # e.g. a LazyFrame whose plan fails when collected
        raise AssetFailure(
            f"{asset.path}:{asset.line}: {asset.name}: computing its result failed: {type(e).__name__}: {e}",
            user_traceback(e, loader.root),
        ) from None


# What a parameter's annotation asks for: the table is given as that library's table.
_KINDS = {
    ("polars", "DataFrame"): "polars",
    ("polars", "LazyFrame"): "lazy",
    ("pandas", "DataFrame"): "pandas",
    ("pyarrow", "Table"): "arrow",
}


def input_kind(fn: Any, param: str, lazy: bool) -> str:
    """Which table type parameter `param` of `fn` wants: polars (the default), lazy, pandas or arrow.

    The annotation is resolved without evaluating it: a string annotation (`from __future__ import
    annotations`) is looked up name by name in the function's module, so `pd.DataFrame` is
    pandas' DataFrame whatever `pd` is called there.
    """
    annotation = getattr(fn, "__annotations__", {}).get(param)
    if isinstance(annotation, str):
        annotation = _resolve(annotation, getattr(fn, "__globals__", {}))
    if annotation is not None:
        module = (getattr(annotation, "__module__", None) or "").split(".")[0]
        kind = _KINDS.get((module, getattr(annotation, "__name__", "")))
        if kind is not None:
            return kind
    return "lazy" if lazy else "polars"


def _resolve(text: str, namespace: dict[str, Any]) -> Any:
    parts = text.strip().strip("'\"").split(".")
    if not all(p.isidentifier() for p in parts) or parts[0] not in namespace:
        return None
    value = namespace[parts[0]]
    for part in parts[1:]:
        value = getattr(value, part, None)
        if value is None:
            return None
    return value


def read_input(path: Path, kind: str) -> Any:
    if kind == "lazy":
        return pl.scan_parquet(path)
    if kind in ("pandas", "arrow"):
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        return table.to_pandas() if kind == "pandas" else table
    return pl.read_parquet(path)


def user_traceback(exc: BaseException, root: Path) -> str:
    """The exception's traceback with assetbuild's own frames removed."""
    own = str(Path(__file__).resolve().parents[1])
    lines = []
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.startswith(own):
            continue
        try:
            shown = str(Path(frame.filename).resolve().relative_to(root))
        except ValueError:
            shown = frame.filename
        lines.append(f'  File "{shown}", line {frame.lineno}, in {frame.name}\n')
        if frame.line:
            lines.append(f"    {frame.line.strip()}\n")
    lines += traceback.format_exception_only(type(exc), exc)
    return "".join(lines)
