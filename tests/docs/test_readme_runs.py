"""The README and docs/ cannot drift from the code: their shell blocks run, their examples load.

- Each page's `sh` blocks run in order in one bash, in an empty temporary folder with assetbuild
  on the PATH, as a user following the page would type them. A comment line right after a
  command is its expected output: its words must appear, in order, in one line of what the
  command printed. A command must exit 0 unless a comment says `(exit code N)`.
- `toml`, `yaml`, `python` and `sql` blocks load through the loaders a project uses.
- The tables of reader options, rule kinds, `@asset` arguments and configuration keys name
  exactly what the code accepts.
- Links between the pages resolve, headings included.

`<!-- not tested: why -->` on the line before a block exempts it (Docker, the whole test suite).
docs/README.md says the same for whoever writes the next page.
"""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from assetbuild.definitions import config as config_module
from assetbuild.definitions.config import SOURCE_OWN_OPTIONS, load_config
from assetbuild.definitions.python_assets import _ASSET_KWARGS, _CHECK_KWARGS, scan_python_file
from assetbuild.definitions.settings import ASSET_SETTING_KEYS
from assetbuild.definitions.sql_assets import analyze_sql
from assetbuild.gate.packs import Packs
from assetbuild.gate.rules import load_rules
from assetbuild.gate.specs import COLUMN_KINDS, DTYPE_ALIASES, DTYPE_FAMILIES, TABLE_KINDS

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]  # their shell blocks run
SNIPPET_PAGES = [*PAGES, ROOT / "rules" / "README.md"]  # their examples load
VENV_BIN = Path(sys.executable).parent
SHELLS = ("sh", "bash", "shell")
UNCHECKED = ("", "text")  # folder trees and printed output
NOT_TESTED = re.compile(r"<!--\s*not tested:\s*(\S.*?)\s*-->")
EXIT_CODE = re.compile(r"\(exit code (\d+)\)")


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # the opening fence's
    lang: str
    text: str
    skip: str | None  # why it is not tested

    @property
    def where(self) -> str:
        return f"{rel(self.page)}:{self.line}"


def rel(page: Path) -> str:
    return str(page.relative_to(ROOT)) if page.is_relative_to(ROOT) else page.name


def blocks(page: Path) -> list[Block]:
    lines = page.read_text(encoding="utf-8").splitlines()
    out, i = [], 0
    while i < len(lines):
        fence = re.match(r"^(\s*)```([\w-]*)\s*$", lines[i])
        if fence is None:
            i += 1
            continue
        indent, lang = fence.groups()
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == "```"), len(lines))
        body = "\n".join(ln[len(indent) :] if ln.startswith(indent) else ln for ln in lines[i + 1 : end])
        before = next((lines[k] for k in range(i - 1, -1, -1) if lines[k].strip()), "")
        skip = NOT_TESTED.search(before)
        out.append(Block(page, i + 1, lang, body + "\n", skip.group(1) if skip else None))
        i = end + 1
    return out


def examples(*langs: str) -> list[Block]:
    return [b for p in SNIPPET_PAGES for b in blocks(p) if b.lang in langs and b.skip is None]


def ids(block: Block) -> str:
    return block.where


# -- examples load through the real loaders ---------------------------------------------------


class AnyAsset(Collection[str]):
    """Asset names for a rule example: every name is an asset (the example has no project)."""

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


@pytest.mark.parametrize("block", examples("toml"), ids=ids)
def test_toml_examples_load_as_assetbuild_toml(tmp_path, block):
    (tmp_path / "assetbuild.toml").write_text(block.text, encoding="utf-8")
    load_config(tmp_path)


@pytest.mark.parametrize("block", examples("yaml"), ids=ids)
def test_yaml_examples_load_as_rule_files_or_packs(tmp_path, block):
    pack = re.search(r"^pack:\s*(\w+)", block.text, re.MULTILINE)
    if pack:
        (tmp_path / f"{pack.group(1)}.yaml").write_text(block.text, encoding="utf-8")
        assert Packs(tmp_path).get(pack.group(1)) is not None
        return
    assert re.search(r"^asset:", block.text, re.MULTILINE), (
        f"{block.where}: a yaml example is a rule file (asset:) or a pack (pack:); "
        "teach this test another kind, or mark the block <!-- not tested: why -->"
    )
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "example.yaml").write_text(block.text, encoding="utf-8")
    assert load_rules(tmp_path, AnyAsset())


@pytest.mark.parametrize("block", examples("python"), ids=ids)
def test_python_examples_read_as_asset_files(tmp_path, block):
    assets = tmp_path / "assets"
    assets.mkdir()
    (assets / "example.py").write_text(block.text, encoding="utf-8")
    scan_python_file(assets / "example.py", "assets/example.py", [assets, tmp_path], tmp_path)


@pytest.mark.parametrize("block", examples("sql"), ids=ids)
def test_sql_examples_parse_as_sql_assets(block):
    analyze_sql(block.text, block.where)


def test_every_block_is_checked_or_says_why_not():
    for page in SNIPPET_PAGES:
        for b in blocks(page):
            known = (*SHELLS, "toml", "yaml", "python", "sql", *UNCHECKED)
            assert b.lang in known, (
                f"{b.where}: no check for ```{b.lang}: add one here, or <!-- not tested: why -->"
            )


# -- shell blocks run as a user would ---------------------------------------------------------


@dataclass
class Command:
    line: int  # in the page
    text: str  # what bash runs (continuation lines and here-documents included)
    expected: list[str] = field(default_factory=list)  # output lines, from the comments below it
    exit_code: int = 0


def _split_comment(line: str) -> tuple[str, str]:
    """(code, trailing comment) of a shell line: a `#` after a blank, outside quotes."""
    quote = ""
    for i, c in enumerate(line):
        if quote:
            quote = "" if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i].rstrip(), line[i + 1 :]
    return line.rstrip(), ""


def commands(block: Block) -> list[Command]:
    out: list[Command] = []
    lines = block.text.splitlines()
    i, listening = 0, False  # listening: comment lines are the last command's output
    while i < len(lines):
        line, number = lines[i], block.line + 1 + i
        i += 1
        if not line.strip():
            listening = False
            continue
        if line.lstrip().startswith("#"):
            if listening:
                said = line.lstrip()[1:]
                exit_said = EXIT_CODE.search(said)
                if exit_said:
                    out[-1].exit_code = int(exit_said.group(1))
                if EXIT_CODE.sub("", said).strip():
                    out[-1].expected.append(EXIT_CODE.sub("", said).strip())
            continue
        code, comment = _split_comment(line)
        text = [code]
        while text[-1].endswith("\\") and i < len(lines):
            text.append(lines[i])
            i += 1
        heredoc = re.search(r"<<-?\s*['\"]?(\w+)['\"]?", code)
        if heredoc:
            while i < len(lines):
                text.append(lines[i])
                i += 1
                if text[-1].strip() == heredoc.group(1):
                    break
        exit_code = EXIT_CODE.search(comment)
        out.append(Command(number, "\n".join(text), exit_code=int(exit_code.group(1)) if exit_code else 0))
        listening = True
    return out


def _words(text: str) -> list[str]:
    # trailing punctuation is layout: "rows," in the output is the "rows" a page shows
    return [w.rstrip(",;:.") or w for w in text.split()]


def _has_in_order(line: str, words: list[str]) -> bool:
    it = iter(_words(line))
    return all(any(w == got for got in it) for w in words)


def missing_output(expected: list[str], output: str) -> str | None:
    """The first expected line not found (in order, each within one line of output), or None."""
    lines, at = output.splitlines(), 0
    for want in expected:
        words = _words(want)
        hit = next((k for k in range(at, len(lines)) if _has_in_order(lines[k], words)), None)
        if hit is None:
            return want
        at = hit + 1
    return None


MARK = "@@doc-test-exit"


def run_page(page: Path, tmp_path: Path) -> list[str]:
    """Run a page's shell blocks as one script; return what went wrong, command by command."""
    cmds = [c for b in blocks(page) if b.lang in SHELLS and b.skip is None for c in commands(b)]
    if not cmds:
        return []
    work = tmp_path / "work"
    (work / ".venv" / "bin").mkdir(parents=True)
    # the README begins with `source .venv/bin/activate`: here it finds the venv running the tests
    (work / ".venv" / "bin" / "activate").write_text(f'export PATH="{VENV_BIN}:$PATH"\n')
    script = ["exec 2>&1"]
    for c in cmds:
        script += [c.text, f"printf '\\n{MARK} %d\\n' \"$?\""]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSETBUILD_", "OPENLINEAGE_"))}
    env.update(
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        OPENLINEAGE_DISABLED="true",
        ASSETBUILD_PROGRESS="plain",
        GITHUB_ACTIONS="false",
    )
    p = subprocess.run(
        ["bash", "--noprofile", "--norc"],
        input="\n".join(script) + "\n",
        capture_output=True,
        text=True,
        cwd=work,
        env=env,
        timeout=180,
    )
    parts = re.split(rf"\n?{MARK} (\d+)\n", p.stdout)
    outputs, codes = parts[0::2], [int(c) for c in parts[1::2]]
    problems = []
    for k, c in enumerate(cmds):
        where = f"{rel(page)}:{c.line}: {c.text.splitlines()[0]}"
        if k >= len(codes):
            problems.append(f"{where}\n  never ran (the script stopped)\n{p.stdout[-2000:]}{p.stderr}")
            break
        shown = "\n".join("    | " + ln for ln in outputs[k].strip("\n").splitlines()[-40:])
        if codes[k] != c.exit_code:
            problems.append(f"{where}\n  exit {codes[k]}, the page says {c.exit_code}\n{shown}")
        lost = missing_output(c.expected, outputs[k])
        if lost is not None:
            problems.append(f"{where}\n  the page shows {lost!r}; the command printed:\n{shown}")
    return problems


@pytest.mark.slow
@pytest.mark.parametrize(
    "page", [p for p in PAGES if any(b.lang in SHELLS for b in blocks(p))], ids=lambda p: p.name
)
def test_shell_blocks_run_as_shown(tmp_path, page):
    problems = run_page(page, tmp_path)
    assert not problems, "\n\n".join(problems)


def test_every_shell_block_runs_or_says_why_not():
    for page in PAGES:
        for b in blocks(page):
            if b.lang in SHELLS and b.skip is None:
                assert commands(b), f"{b.where}: a shell block without a command"


# the runner itself: a page that lies must fail


def test_the_runner_catches_a_wrong_output_and_a_wrong_exit_code(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "```sh\n"
        "echo 'OK: 3 built in 1.2s'      # prose, not output\n"
        "# OK: 3 built\n"
        "echo hello\n"
        "# goodbye\n"
        "false\n"
        "true   # (exit code 1)\n"
        "cat <<'EOF'\n"
        "a # b\n"
        "EOF\n"
        "# a # b\n"
        "```\n"
    )
    problems = run_page(page, tmp_path)
    assert len(problems) == 3, problems
    assert "the page shows 'goodbye'" in problems[0]
    assert "exit 1, the page says 0" in problems[1]
    assert "exit 0, the page says 1" in problems[2]


def test_output_is_matched_word_by_word_in_order():
    out = "[   1.16s]  built         orders     101 rows   1.10s  file data/orders.csv changed\nOK: 1 restored, 2 up_to_date"
    assert (
        missing_output(["built orders 101 rows file data/orders.csv changed", "OK: 1 restored, 2"], out)
        is None
    )
    assert missing_output(["orders built"], out) == "orders built"
    assert missing_output(["OK: 1 restored", "built orders"], out) == "built orders", "order matters"


# -- the reference tables name exactly what the code accepts ----------------------------------


def _section(page: Path, heading: str) -> str:
    """The text under a heading (of any level), up to the next heading of that level or higher."""
    text = page.read_text(encoding="utf-8")
    m = re.search(rf"^(#+) {re.escape(heading)}\s*$", text, re.MULTILINE)
    assert m, f"{rel(page)} has no heading {heading!r}"
    level = len(m.group(1))
    end = re.compile(rf"^#{{1,{level}}} ", re.MULTILINE).search(text, m.end())
    return text[m.end() : end.start() if end else len(text)]


def _table_names(text: str) -> set[str]:
    """The backticked names in the first column of the tables in `text`."""
    names: set[str] = set()
    rows = re.findall(r"^\|([^|\n]*)\|", text, re.MULTILINE)
    for first in rows:
        names.update(re.findall(r"`([\w.]+)`", first))
    return names


def _diff(documented: set[str], accepted: Collection[str], what: str) -> str:
    return (
        f"{what}: accepted but not documented {sorted(set(accepted) - documented)}, "
        f"documented but not accepted {sorted(documented - set(accepted))}"
    )


READERS = {
    "assetbuild": set(SOURCE_OWN_OPTIONS),
    **{
        name: {
            p
            for p in inspect.signature(getattr(__import__("polars"), name)).parameters
            if p != "source" and not p.startswith("_")
        }
        for name in ("read_csv", "read_parquet", "read_ndjson", "read_json")
    },
}


@pytest.mark.parametrize("reader", sorted(READERS))
def test_every_reader_option_is_documented(reader):
    text = (DOCS / "sources.md").read_text(encoding="utf-8")
    m = re.search(rf"<!-- reader options: {reader} -->\n((?:\|.*\n)+)", text)
    assert m, f"docs/sources.md has no options table marked <!-- reader options: {reader} -->"
    documented = _table_names(m.group(1)) - {"option"}
    assert documented == READERS[reader], _diff(documented, READERS[reader], reader)


def test_every_rule_kind_has_a_section_with_an_example():
    page = DOCS / "rules.md"
    for heading, kinds in (("Column rules", COLUMN_KINDS), ("Table rules", TABLE_KINDS)):
        text = _section(page, heading)
        documented = set(re.findall(r"^### `(\w+)`(?:, `(\w+)`)?", text, re.MULTILINE))
        flat = {k for pair in documented for k in pair if k}
        assert flat == set(kinds), _diff(flat, kinds, heading)
        for kind in kinds:
            part = re.split(r"^### ", text, flags=re.MULTILINE)
            own = next(p for p in part if re.match(rf"`{kind}`|`\w+`, `{kind}`", p))
            assert re.search(rf"```yaml\n(?:.*\n)*?.*\b{kind}:", own), f"rules.md: no yaml example of {kind}"


def test_every_dtype_name_is_documented():
    text = _section(DOCS / "rules.md", "`dtype`")
    spelled = set(re.findall(r"`(\w+)`", text))
    for name in [*DTYPE_FAMILIES, *DTYPE_ALIASES]:
        assert name in spelled or _in_range(name, text), f"docs/rules.md `dtype` does not name {name!r}"


def _in_range(name: str, text: str) -> bool:
    """`int8` … `int128` covers int16, int32, int64."""
    m = re.fullmatch(r"(u?int)(\d+)", name)
    return m is not None and f"`{m.group(1)}8` … `{m.group(1)}128`" in text


def test_every_asset_and_check_argument_is_documented():
    table = _section(DOCS / "assets.md", "`@asset` arguments")
    documented = _table_names(table) - {"argument"}
    assert documented == set(_ASSET_KWARGS), _diff(documented, _ASSET_KWARGS, "@asset")
    check = _section(DOCS / "rules.md", "`@check`: checks in Python")
    for kw in _CHECK_KWARGS:
        assert f"`{kw}`" in check, f"docs/rules.md does not document @check({kw}=...)"


def _config_keys() -> dict[str, tuple[str, ...] | None]:
    """Each section assetbuild.toml accepts, with the keys it accepts (None: names are free)."""
    sections: dict[str, tuple[str, ...] | None] = {}
    for section in config_module._SECTIONS:
        if section == "assets":
            sections[section] = ASSET_SETTING_KEYS
        elif section == "exports":
            sections[section] = None  # ASSET = target
        else:
            singular = "SOURCE" if section == "sources" else section.upper()
            keys = getattr(config_module, f"_{singular}_KEYS", None)
            assert keys is not None, f"no key list for [{section}] in config.py: teach this test where it is"
            sections[section] = tuple(keys)
    return sections


@pytest.mark.parametrize("section", sorted(_config_keys()))
def test_every_configuration_key_is_documented(section):
    keys = _config_keys()[section]
    heading = f"`[{section}.NAME]`" if section in ("sources", "assets") else f"`[{section}]`"
    text = _section(DOCS / "configuration.md", heading)
    if keys is None:
        return
    documented = _table_names(text) - {"key"}
    if not documented:  # a section described in prose names each key in backticks
        documented = {k for k in keys if f"`{k}`" in text}
    assert documented == set(keys), _diff(documented, keys, f"[{section}]")


# -- links ------------------------------------------------------------------------------------


def _anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as '-', repeats numbered."""
    seen: dict[str, int] = {}
    out = set()
    for heading in re.findall(r"^#+ (.+?)\s*$", page.read_text(encoding="utf-8"), re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def test_every_docs_page_is_linked_from_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for page in sorted(DOCS.glob("*.md")):
        assert f"](docs/{page.name}" in readme, f"README.md does not link docs/{page.name}"


@pytest.mark.parametrize("page", SNIPPET_PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page):
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.DOTALL)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"\w+://|mailto:", target):
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        assert file.exists(), f"{rel(page)}: link to {target} points at nothing"
        if anchor and file.suffix == ".md":
            assert anchor in _anchors(file), f"{rel(page)}: no heading #{anchor} in {path or page.name}"
