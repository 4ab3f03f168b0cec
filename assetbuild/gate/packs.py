"""Rule packs: reusable column rules shipped in this repository's top-level `rules/` folder.

A pack is `rules/NAME.yaml` holding `pack: NAME`, a `description` and `rules:` (column rules, but
no `references` or `use`: a pack knows no assets and no other packs). A project applies one with
`column: {use: NAME}`. Installed from a wheel the folder is the package `assetbuild.packs`; in a
source checkout or an editable install made before that mapping existed, it sits beside the package.
"""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path

from assetbuild.errors import ProjectError
from assetbuild.gate.specs import RuleSpec, parse_column
from assetbuild.gate.yamlnodes import compose

_PACK_KEYS = ("pack", "description", "rules")


@dataclass(frozen=True)
class Pack:
    name: str
    description: str | None
    specs: tuple[RuleSpec, ...]
    path: str


def packs_root() -> Traversable:
    """Where the shipped packs live: the `assetbuild.packs` package, else `<repo>/rules`."""
    try:
        root = importlib.resources.files("assetbuild.packs")
        if root.is_dir() and any(p.name.endswith(".yaml") for p in root.iterdir()):
            return root
    except ModuleNotFoundError:
        pass
    return Path(__file__).resolve().parents[2] / "rules"


class Packs:
    """The packs under one root, each parsed once (a build loads the rules of many assets)."""

    def __init__(self, root: Traversable | None = None) -> None:
        self.root = root if root is not None else packs_root()
        self._loaded: dict[str, Pack] = {}

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name[: -len(".yaml")] for p in self.root.iterdir() if p.name.endswith(".yaml"))

    def get(self, name: str) -> Pack | None:
        if name in self._loaded:
            return self._loaded[name]
        if name not in self.names():
            return None
        pack = _parse(name, self.root.joinpath(f"{name}.yaml"))
        self._loaded[name] = pack
        return pack


def _parse(name: str, file: Traversable) -> Pack:
    label = str(file)
    root = compose(label, file.read_text(encoding="utf-8"))
    items = {k: (key, value) for k, key, value in root.items(_PACK_KEYS, "a rule pack")}
    if "rules" not in items:
        raise root.error("a rule pack needs `rules:` (the column rules it applies)")
    if "pack" in items and items["pack"][1].string("pack") != name:
        raise items["pack"][1].error(f"the pack in {name}.yaml must be named '{name}'")
    description = items["description"][1].string("description") if "description" in items else None
    specs = parse_column(items["rules"][1], f"pack '{name}'", in_pack=True)
    if not specs:
        raise ProjectError(f"pack '{name}' applies no rules", label, items["rules"][0].line)
    return Pack(name, description, tuple(specs), label)
