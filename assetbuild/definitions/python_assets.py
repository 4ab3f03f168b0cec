"""Python assets found statically with `ast`: `@asset` functions, `@check` functions, fingerprints.

No user code is imported here. Upstream are a function's parameter names; decorator arguments
must be literals (they are read, not evaluated). The fingerprint of a function is its normalised
AST (docstrings, comments and formatting removed, the decorator left out) plus, transitively, the
module-level helpers and constants it names and the local project modules it imports.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assetbuild.definitions.text import read_utf8
from assetbuild.errors import ProjectError
from assetbuild.hashing import hash_text

_ASSET_KWARGS = (
    "name",
    "description",
    "tags",
    "owner",
    "retries",
    "schema",
    "metadata",
    "export",
    "ordered",
    "timeout",
)
_CHECK_KWARGS = ("asset", "name", "severity", "description")


@dataclass(frozen=True)
class PyAsset:
    name: str
    function: str
    line: int
    params: tuple[str, ...]
    lazy_params: tuple[str, ...]
    fingerprint: str
    options: dict[str, Any]
    # what the fingerprint is made of, by name ("function clean", "helper _positive", "constant
    # LIMIT", "module assets/limits.py"): kept so a rebuild can say which part changed
    code_parts: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PyCheck:
    asset: str
    name: str
    function: str
    line: int
    severity: str
    description: str | None
    fingerprint: str


@dataclass
class PyFileInfo:
    """What one Python file declares, and which local modules its fingerprints read."""

    assets: list[PyAsset] = field(default_factory=list)
    checks: list[PyCheck] = field(default_factory=list)
    local_deps: list[str] = field(default_factory=list)  # project-relative paths


def scan_python_file(path: Path, relpath: str, search_dirs: list[Path], root: Path) -> PyFileInfo:
    """Find the `@asset` and `@check` functions of one file; raise ProjectError on a bad file."""
    module = _parse(path, relpath)
    info = PyFileInfo()
    fingerprinter = _Fingerprinter(search_dirs, root)
    symbols = _module_symbols(module)
    for node in module.body:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for deco in node.decorator_list:
            kind = _decorator_kind(deco)
            if kind == "asset":
                info.assets.append(_asset(node, deco, relpath, fingerprinter, symbols, path))
            elif kind == "check":
                info.checks.append(_check(node, deco, relpath, fingerprinter, symbols, path))
    info.local_deps = sorted(fingerprinter.local_files)
    return info


def _parse(path: Path, relpath: str) -> ast.Module:
    text = read_utf8(path, relpath)
    try:
        return ast.parse(text, filename=relpath)
    except SyntaxError as e:
        raise ProjectError(f"Python syntax error: {e.msg}", relpath, e.lineno, e.offset) from None
    except ValueError as e:  # e.g. null bytes
        raise ProjectError(f"cannot parse: {e}", relpath, 1) from None


def _decorator_kind(deco: ast.expr) -> str | None:
    target = deco.func if isinstance(deco, ast.Call) else deco
    name = (
        target.attr
        if isinstance(target, ast.Attribute)
        else target.id
        if isinstance(target, ast.Name)
        else None
    )
    return name if name in ("asset", "check") else None


Positions = dict[str, tuple[int, int]]  # decorator argument -> (line, column) of its value


def _literal_kwargs(
    deco: ast.expr, allowed: tuple[str, ...], relpath: str, what: str, name_valued: tuple[str, ...] = ()
) -> tuple[dict[str, Any], Positions]:
    """The decorator's keyword arguments, read as literals, and where each value is written."""
    if not isinstance(deco, ast.Call):
        return {}, {}
    if deco.args:
        raise ProjectError(
            f"@{what} takes keyword arguments only",
            relpath,
            deco.lineno,
            deco.col_offset + 1,
            hint=f"e.g. @{what}(description='...')",
        )
    out: dict[str, Any] = {}
    positions: Positions = {}
    for kw in deco.keywords:
        if kw.arg is not None:
            positions[kw.arg] = (kw.value.lineno, kw.value.col_offset + 1)
        if kw.arg is None or kw.arg not in allowed:
            from assetbuild.errors import did_you_mean

            raise ProjectError(
                f"unknown @{what} argument '{kw.arg}'",
                relpath,
                kw.value.lineno,
                kw.value.col_offset + 1,
                hint=did_you_mean(kw.arg or "", allowed) or f"allowed: {', '.join(allowed)}",
            )
        if kw.arg in name_valued and isinstance(kw.value, ast.Name | ast.Attribute):
            out[kw.arg] = ast.unparse(kw.value)
            continue
        try:
            out[kw.arg] = ast.literal_eval(kw.value)
        except (ValueError, SyntaxError):
            raise ProjectError(
                f"@{what}({kw.arg}=...) must be a literal value",
                relpath,
                kw.value.lineno,
                kw.value.col_offset + 1,
                hint="assetbuild reads decorators without running your code: use strings, numbers, lists, dicts",
            ) from None
    return out, positions


def _asset(
    node: ast.FunctionDef | ast.AsyncFunctionDef,
    deco: ast.expr,
    relpath: str,
    fp: _Fingerprinter,
    symbols: dict[str, list[ast.stmt]],
    path: Path,
) -> PyAsset:
    if isinstance(node, ast.AsyncFunctionDef):
        raise ProjectError(
            "an asset function cannot be async", relpath, node.lineno, hint="define it with plain 'def'"
        )
    opts, positions = _literal_kwargs(deco, _ASSET_KWARGS, relpath, "asset", name_valued=("schema",))
    args = node.args
    if args.vararg or args.kwarg or args.posonlyargs:
        raise ProjectError(
            f"asset '{node.name}': upstream assets are named parameters; *args/**kwargs are not supported",
            relpath,
            node.lineno,
        )
    params = tuple(a.arg for a in args.args + args.kwonlyargs)
    lazy = tuple(
        a.arg
        for a in args.args + args.kwonlyargs
        if a.annotation is not None and "LazyFrame" in ast.unparse(a.annotation)
    )
    name = opts.get("name", node.name)
    _check_option_types(opts, relpath, node.lineno)
    if "export" in opts:
        from assetbuild.definitions.exports import check_export_target

        # checked where it is written: the decorator, not assetbuild.toml
        check_export_target(name, opts["export"], relpath, *positions["export"])
    return PyAsset(
        name=name,
        function=node.name,
        line=node.lineno,
        params=params,
        lazy_params=lazy,
        fingerprint=fp.function(node, symbols, path),
        options=opts,
        code_parts=fp.parts_of_last(),
    )


def _check(
    node: ast.FunctionDef | ast.AsyncFunctionDef,
    deco: ast.expr,
    relpath: str,
    fp: _Fingerprinter,
    symbols: dict[str, list[ast.stmt]],
    path: Path,
) -> PyCheck:
    opts, _ = _literal_kwargs(deco, _CHECK_KWARGS, relpath, "check")
    asset = opts.get("asset")
    if not isinstance(asset, str):
        raise ProjectError(
            f"@check on '{node.name}' needs asset='NAME'",
            relpath,
            node.lineno,
            hint="e.g. @check(asset='cleaned_transactions')",
        )
    severity = opts.get("severity", "error")
    if severity not in ("error", "warn"):
        raise ProjectError("@check severity must be 'error' or 'warn'", relpath, node.lineno)
    return PyCheck(
        asset=asset,
        name=opts.get("name", node.name),
        function=node.name,
        line=node.lineno,
        severity=severity,
        description=opts.get("description"),
        fingerprint=fp.function(node, symbols, path),
    )


def _check_option_types(opts: dict[str, Any], relpath: str, line: int) -> None:
    expected: dict[str, type | tuple[type, ...]] = {
        "name": str,
        "description": str,
        "tags": (list, tuple),
        "owner": str,
        "retries": int,
        "metadata": dict,
        "export": str,
        "schema": str,
        "ordered": bool,
        "timeout": (str, int, float),  # a duration: "10m", or seconds
    }
    for key, value in opts.items():
        if not isinstance(value, expected[key]) or (
            key == "retries" and (isinstance(value, bool) or (isinstance(value, int) and value < 0))
        ):
            raise ProjectError(f"@asset({key}=...) has the wrong type: {value!r}", relpath, line)


def _module_symbols(module: ast.Module) -> dict[str, list[ast.stmt]]:
    """Module-level name -> every top-level statement that binds or mutates it.

    All bindings count, not only the last: `LIMIT = 0` then `LIMIT += 1`, a constant set in both
    branches of an `if`, or `RATES["USD"] = 0.9` after `RATES = {...}` each decide the value a
    function sees. `from m import *` is kept under "*" since any name may come from it. The
    `if __name__ == "__main__":` block never runs when assetbuild imports the module: skipped.
    """
    out: dict[str, list[ast.stmt]] = {}
    for stmt in module.body:
        if _is_main_block(stmt):
            continue
        for name in _bound_names(stmt) | _mutated_names(stmt):
            bucket = out.setdefault(name, [])
            if not any(s is stmt for s in bucket):
                bucket.append(stmt)
    return out


def _is_main_block(stmt: ast.stmt) -> bool:
    test = stmt.test if isinstance(stmt, ast.If) else None
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and len(test.comparators) == 1
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value == "__main__"
    )


def _walk_module_level(stmt: ast.AST) -> list[ast.AST]:
    """The nodes of a top-level statement, without descending into function, lambda or class bodies."""
    out: list[ast.AST] = []
    todo: list[ast.AST] = [stmt]
    while todo:
        node = todo.pop()
        out.append(node)
        if node is not stmt and isinstance(
            node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda
        ):
            continue
        todo.extend(ast.iter_child_nodes(node))
    return out


def _bound_names(stmt: ast.stmt) -> set[str]:
    names: set[str] = set()
    for node in _walk_module_level(stmt):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            names.add(node.id)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


def _mutated_names(stmt: ast.stmt) -> set[str]:
    """Names whose object a top-level statement changes in place: `X[k] = v`, `X.a = v`, `X.update(...)`."""
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Import | ast.ImportFrom):
        return set()
    names: set[str] = set()
    for node in _walk_module_level(stmt):
        target: ast.expr | None = None
        if isinstance(node, ast.Subscript | ast.Attribute) and isinstance(node.ctx, ast.Store | ast.Del):
            target = node.value
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            target = node.func.value
        while isinstance(target, ast.Attribute | ast.Subscript | ast.Call):
            target = target.func if isinstance(target, ast.Call) else target.value
        if isinstance(target, ast.Name):
            names.add(target.id)
    return names


class _StripDocstrings(ast.NodeTransformer):
    def _strip(self, node: Any) -> Any:
        self.generic_visit(node)
        body = node.body
        first = body[0] if body else None
        if (
            isinstance(first, ast.Expr)
            and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
        return node

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = visit_Module = _strip


def normalised(node: ast.AST) -> str:
    """The node as canonical source: no docstrings or comments, formatting by `ast.unparse`."""
    import copy

    clean = _StripDocstrings().visit(copy.deepcopy(node))
    return ast.unparse(clean)


class _Fingerprinter:
    """Hashes a function with everything at module level it reaches, and local modules it imports."""

    def __init__(self, search_dirs: list[Path], root: Path) -> None:
        self.search_dirs = search_dirs
        self.root = root
        self.local_files: set[str] = set()
        self._module_cache: dict[Path, str] = {}
        self._named: dict[str, list[str]] = {}  # the parts of the function hashed last, by label

    def function(
        self, node: ast.FunctionDef | ast.AsyncFunctionDef, symbols: dict[str, list[ast.stmt]], path: Path
    ) -> str:
        import copy

        main = copy.deepcopy(node)
        # @asset/@check are configuration, hashed apart (or not at all); any other decorator wraps
        # the function that runs, so it counts
        main.decorator_list = [d for d in main.decorator_list if _decorator_kind(d) is None]
        parts = [normalised(main)]
        seen: set[int] = {id(node)}
        deps: list[str] = []
        self._named = {f"function {node.name}": [parts[0]]}
        self._follow(main, symbols, seen, deps, path)
        parts.extend(sorted(set(deps)))
        return hash_text("\n\x00".join(parts))

    def parts_of_last(self) -> dict[str, str]:
        """The named parts of the function `function` hashed last, each with its own hash."""
        return {label: hash_text("\n\x00".join(sorted(texts))) for label, texts in self._named.items()}

    def _name(self, label: str, text: str) -> None:
        self._named.setdefault(label, []).append(text)

    def _follow(
        self, node: ast.AST, symbols: dict[str, list[ast.stmt]], seen: set[int], deps: list[str], path: Path
    ) -> None:
        for imp in ast.walk(node):
            # imports inside a function body (or a compound module-level statement) count too
            if imp is not node and isinstance(imp, ast.Import | ast.ImportFrom) and id(imp) not in seen:
                seen.add(id(imp))
                deps.append(self._import(imp, path))
        for name in [*_names_used(node), "*"]:
            for stmt in symbols.get(name, ()):
                if id(stmt) in seen:
                    continue
                seen.add(id(stmt))
                if isinstance(stmt, ast.Import | ast.ImportFrom):
                    deps.append(self._import(stmt, path))
                    continue
                text = normalised(stmt)
                deps.append(text)
                self._name(_label(stmt, name), text)
                self._follow(stmt, symbols, seen, deps, path)

    def _import(self, stmt: ast.Import | ast.ImportFrom, path: Path) -> str:
        text = ast.unparse(stmt)
        extra = []
        for f in self._local_targets(stmt, path):
            digest = self._module_fingerprint(f)
            extra.append(digest)
            self._name(f"module {self._relative(f)}", digest)
        self._name(text, text)  # the statement names itself: "from limits import FLOOR"
        return text + "".join(f"\n[{e}]" for e in extra)

    def _relative(self, file: Path) -> str:
        try:
            return file.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return str(file)

    def _local_targets(self, stmt: ast.Import | ast.ImportFrom, path: Path) -> list[Path]:
        """The project files an import statement loads (none for third-party modules)."""
        level = stmt.level if isinstance(stmt, ast.ImportFrom) else 0
        modules = [a.name for a in stmt.names] if isinstance(stmt, ast.Import) else [stmt.module or ""]
        out = []
        for mod in modules:
            local = self._resolve_local(mod, path, level)
            if local is not None:
                out.append(local)
            if isinstance(stmt, ast.ImportFrom):
                # `from pkg import sub` may name a local submodule rather than an attribute
                for alias in stmt.names:
                    sub = self._resolve_local(f"{mod}.{alias.name}" if mod else alias.name, path, level)
                    if sub is not None:
                        out.append(sub)
        return out

    def _resolve_local(self, module: str, path: Path, level: int) -> Path | None:
        if not module and not level:
            return None
        parts = [p for p in module.split(".") if p]
        bases = [path.parent] if level else self.search_dirs
        for base in bases:
            for _ in range(max(level - 1, 0)):
                base = base.parent
            candidate = base.joinpath(*parts) if parts else base
            for f in (candidate.with_suffix(".py"), candidate / "__init__.py"):
                if parts and f.is_file():
                    return f
        return None

    def _module_fingerprint(self, file: Path) -> str:
        if file in self._module_cache:
            return self._module_cache[file]
        self._module_cache[file] = "(cycle)"  # guards import cycles between local modules
        try:
            rel = file.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            rel = str(file)
        self.local_files.add(rel)
        module = _parse(file, rel)
        parts = [normalised(module)]
        for stmt in ast.walk(module):
            if isinstance(stmt, ast.Import | ast.ImportFrom):
                for local in self._local_targets(stmt, file):
                    if local != file:
                        parts.append(self._module_fingerprint(local))
        digest = hash_text("\n".join(parts))
        self._module_cache[file] = digest
        return digest


def _label(stmt: ast.stmt, name: str) -> str:
    """How a reason names a module-level statement a function reaches."""
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
        return f"helper {stmt.name}"
    if isinstance(stmt, ast.ClassDef):
        return f"class {stmt.name}"
    return f"constant {name}" if name != "*" else f"statement at line {stmt.lineno}"


def _names_used(node: ast.AST) -> list[str]:
    names: list[str] = []
    for n in ast.walk(node):
        if isinstance(n, ast.Name):
            names.append(n.id)
        elif isinstance(n, ast.Attribute):
            base: ast.expr = n
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name):
                names.append(base.id)
    return names
