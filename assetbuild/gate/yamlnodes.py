"""Positioned YAML for rule files: values that remember the file, line and column they came from.

PyYAML's safe composer keeps a start mark on every node; `Node` wraps one so that the grammar in
`specs.py` can ask for "a string", "a mapping with these keys", ... and, when the file says
something else, raise a `ProjectError` pointing at that node. Safe constructors only.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import yaml

from assetbuild.errors import ProjectError, did_you_mean


class _Constructor:
    """One safe constructor per file: turns scalar and sequence nodes into Python values."""

    def __init__(self) -> None:
        self._loader = yaml.SafeLoader("")

    def construct(self, node: yaml.Node) -> Any:
        return self._loader.construct_object(node, deep=True)


def compose(path: str, text: str) -> Node:
    """Parse `text` into a positioned root node; a YAML syntax error becomes a ProjectError."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        problem = e.problem or e.context or "invalid YAML"
        raise ProjectError(
            f"invalid YAML: {problem}",
            path,
            mark.line + 1 if mark else None,
            mark.column + 1 if mark else None,
            hint=f"{e.context}" if e.context and e.problem else None,
        ) from None
    except yaml.YAMLError as e:  # reader errors (bad bytes) carry no mark
        raise ProjectError(f"invalid YAML: {e}", path) from None
    if root is None:
        raise ProjectError("the file is empty", path, 1, 1, hint="start with `asset: NAME`")
    return Node(root, path, _Constructor())


@dataclass(frozen=True)
class Node:
    """A YAML node plus where it was written."""

    raw: yaml.Node
    path: str
    _constructor: _Constructor

    @property
    def line(self) -> int:
        return int(self.raw.start_mark.line) + 1

    @property
    def col(self) -> int:
        return int(self.raw.start_mark.column) + 1

    @property
    def where(self) -> str:
        """The `path:line` form a rule's `source` uses."""
        return f"{self.path}:{self.line}"

    def error(self, message: str, hint: str | None = None, col_offset: int = 0) -> ProjectError:
        return ProjectError(message, self.path, self.line, self.col + col_offset, hint)

    def _wrap(self, raw: yaml.Node) -> Node:
        return Node(raw, self.path, self._constructor)

    # -- shape ---------------------------------------------------------------------------------
    @property
    def is_mapping(self) -> bool:
        return isinstance(self.raw, yaml.MappingNode)

    @property
    def is_sequence(self) -> bool:
        return isinstance(self.raw, yaml.SequenceNode)

    @property
    def is_scalar(self) -> bool:
        return isinstance(self.raw, yaml.ScalarNode)

    @property
    def quote_width(self) -> int:
        """1 when the scalar is written in quotes (its text starts one column after the node)."""
        style = getattr(self.raw, "style", None)
        return 1 if style in ("'", '"') else 0

    def items(self, allowed: Collection[str] | None, what: str) -> list[tuple[str, Node, Node]]:
        """(key, key node, value node) of a mapping; unknown or repeated keys are errors."""
        if not self.is_mapping:
            raise self.error(f"{what} must be a mapping, not {self.describe()}")
        out: list[tuple[str, Node, Node]] = []
        seen: dict[str, Node] = {}
        for k_raw, v_raw in self.raw.value:
            key_node, value_node = self._wrap(k_raw), self._wrap(v_raw)
            if not key_node.is_scalar:
                raise key_node.error(f"a key in {what} must be a plain name")
            # Keys are read as written: a column called `on` or `2024` stays that string.
            key = str(k_raw.value)
            if key in seen:
                raise key_node.error(f"'{key}' appears twice in {what} (first at line {seen[key].line})")
            if allowed is not None and key not in allowed:
                raise key_node.error(
                    f"unknown key '{key}' in {what}",
                    hint=did_you_mean(key, allowed) or "expected one of: " + ", ".join(allowed),
                )
            seen[key] = key_node
            out.append((key, key_node, value_node))
        return out

    def sequence(self, what: str) -> list[Node]:
        if not self.is_sequence:
            raise self.error(f"{what} must be a list, not {self.describe()}")
        return [self._wrap(n) for n in self.raw.value]

    # -- values --------------------------------------------------------------------------------
    def value(self) -> Any:
        try:
            return self._constructor.construct(self.raw)
        except Exception as e:  # yaml's constructors raise many kinds (ValueError, IndexError, ...)
            # yaml's constructors raise plain ValueError for e.g. a date like 2024-13-45, and
            # ConstructorError for tags a safe loader refuses (`!!python/name:...`)
            problem = getattr(e, "problem", None) or str(e).splitlines()[0]
            raise self.error(
                f"cannot read this value: {problem}", hint="quote it to make it a string, or fix the value"
            ) from None

    def describe(self) -> str:
        """How the node reads to a user, for "expected X, not Y" messages."""
        if self.is_mapping:
            return "a mapping"
        if self.is_sequence:
            return "a list"
        v = self.value()
        if v is None:
            return "an empty value"
        return f"{type(v).__name__} {v!r}"

    def string(self, what: str) -> str:
        v = self.value() if self.is_scalar else None
        if not isinstance(v, str) or not v.strip():
            raise self.error(f"{what} must be a non-empty string, not {self.describe()}")
        return v

    def boolean(self, what: str) -> bool:
        v = self.value() if self.is_scalar else None
        if not isinstance(v, bool):
            raise self.error(f"{what} must be true or false, not {self.describe()}")
        return v

    def number(self, what: str, minimum: float | None = None) -> int | float:
        v = self.value() if self.is_scalar else None
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise self.error(f"{what} must be a number, not {self.describe()}")
        if minimum is not None and v < minimum:
            raise self.error(f"{what} must be >= {minimum}, not {v}")
        return v

    def integer(self, what: str, minimum: int | None = None) -> int:
        v = self.value() if self.is_scalar else None
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.error(f"{what} must be a whole number, not {self.describe()}")
        if minimum is not None and v < minimum:
            raise self.error(f"{what} must be >= {minimum}, not {v}")
        return v

    def choice(self, what: str, choices: Collection[str]) -> str:
        v = self.string(what)
        if v not in choices:
            close = difflib.get_close_matches(v, list(choices), n=1, cutoff=0.5)
            hint = f"did you mean '{close[0]}'?" if close else "expected one of: " + ", ".join(choices)
            raise self.error(f"{what} must be one of {', '.join(choices)}, not '{v}'", hint=hint)
        return v
