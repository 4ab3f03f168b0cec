"""Security: names and paths cannot escape the project or `.assetbuild/` (`../`, absolute paths and
symlinked output folders), YAML is loaded safely, no shell ever sees a user string, and secrets
(API keys, `Authorization` headers, URL credentials) never appear in what the CLI prints.

Name and path checks at load time (`../x`, absolute source and export paths, an export into
`.assetbuild/`) are cases of test_bad_input.py; here are the ones that need more than one file.
"""

from __future__ import annotations

import re
import socket
import subprocess
from pathlib import Path

import pytest

import assetbuild
from assetbuild.errors import ProjectError

from ._support import (
    CLI,
    build_json,
    cli_env,
    current_hashes,
    integrity,
    run_cli,
    store_problems,
    write_files,
)

PACKAGE = Path(assetbuild.__file__).resolve().parent

FILES = {
    "assetbuild.toml": '[project]\nname = "sec"\n\n[sources.src]\npath = "data/src.csv"\n',
    "data/src.csv": "id,v\n1,2\n3,4\n",
    "assets/doubled.sql": "SELECT id, v * 2 AS v FROM src\n",
}


# -- paths ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("link", ["out", "out/deeper"])
def test_export_through_a_symlinked_folder_never_writes_outside(tmp_path: Path, link: str) -> None:
    root, outside = tmp_path / "p", tmp_path / "outside"
    outside.mkdir()
    write_files(root, FILES)
    build_json(root)
    (root / link).parent.mkdir(parents=True, exist_ok=True)
    (root / link).symlink_to(outside, target_is_directory=True)
    write_files(
        root, {"assetbuild.toml": FILES["assetbuild.toml"] + f'\n[exports]\ndoubled = "{link}/d.parquet"\n'}
    )
    r = run_cli(root, "build")
    out = r.stdout + r.stderr
    assert r.returncode in (1, 2) and "Traceback" not in out, out
    assert "outside the project" in out or "leaves the project" in out, out
    assert list(outside.iterdir()) == [], "an export was written outside the project"


def test_export_onto_a_symlinked_file_never_writes_outside(tmp_path: Path) -> None:
    root, outside = tmp_path / "p", tmp_path / "outside"
    outside.mkdir()
    target = outside / "victim.parquet"
    target.write_bytes(b"precious")
    write_files(root, FILES)
    (root / "out").mkdir()
    (root / "out" / "d.parquet").symlink_to(target)
    write_files(
        root, {"assetbuild.toml": FILES["assetbuild.toml"] + '\n[exports]\ndoubled = "out/d.parquet"\n'}
    )
    r = run_cli(root, "build")
    assert "Traceback" not in r.stdout + r.stderr
    assert target.read_bytes() == b"precious", "the export followed a symlink out of the project"


def test_staged_and_stored_files_stay_inside_the_store(tmp_path: Path) -> None:
    """Every file a build writes is in `.assetbuild/`, its exports, or the definitions cache."""
    root = tmp_path / "p"
    write_files(root, FILES)
    before = {p for p in tmp_path.rglob("*")}
    build_json(root)
    written = {p for p in tmp_path.rglob("*")} - before
    strays = [p for p in written if root / ".assetbuild" not in p.parents and p != root / ".assetbuild"]
    assert strays == []


# -- YAML ----------------------------------------------------------------------------------------

EVIL_YAML = [
    "asset: !!python/object/apply:os.system ['touch PWNED']\n",
    "asset: doubled\ncolumns:\n  v: {min: !!python/object/apply:os.system ['touch PWNED']}\n",
    "asset: !!python/name:os.system\n",
    "asset: !!python/object/new:subprocess.Popen [['touch', 'PWNED']]\n",
]


@pytest.mark.parametrize("text", EVIL_YAML)
def test_yaml_tags_never_execute(tmp_path: Path, text: str) -> None:
    from assetbuild.gate.rules import load_rules

    root = tmp_path / "p"
    write_files(root, {**FILES, "rules/evil.yaml": text})
    with pytest.raises(ProjectError):
        load_rules(root, ["src", "doubled"])
    r = run_cli(root, "build")
    assert r.returncode == 2 and "Traceback" not in r.stdout + r.stderr, r.stdout + r.stderr
    assert "rules/evil.yaml" in r.stderr
    assert not (root / "PWNED").exists() and not (tmp_path / "PWNED").exists()


# -- no shell, no unsafe deserialisation ------------------------------------------------------------

FORBIDDEN = {
    "a shell": r"shell\s*=\s*True|\bos\.(system|popen|exec\w*|spawn\w*)\s*\(|\bsubprocess\.(getoutput|getstatusoutput)\(",
    "unsafe YAML": r"\byaml\.(unsafe_load|full_load|load_all|load)\s*\(|Loader\s*=\s*yaml\.(Loader|FullLoader|UnsafeLoader)",
    "unsafe deserialisation": r"\b(pickle|marshal|shelve|dill)\b",
    "eval of strings": r"(?<![\w.])(eval|exec)\s*\(",
}


def _violations(text: str) -> list[str]:
    return [what for what, pattern in FORBIDDEN.items() if re.search(pattern, text)]


def test_the_scan_finds_what_it_looks_for() -> None:
    assert _violations("subprocess.run(cmd, shell=True)") == ["a shell"]
    assert _violations("os.system('ls ' + name)") == ["a shell"]
    assert _violations("yaml.load(text)") == ["unsafe YAML"]
    assert _violations("yaml.load(text, Loader=yaml.Loader)") == ["unsafe YAML"]
    assert _violations("import pickle") == ["unsafe deserialisation"]
    assert _violations("eval(expr)") == ["eval of strings"]
    assert _violations("yaml.compose(text, Loader=yaml.SafeLoader); ast.literal_eval(x); df.eval") == []


def test_no_shell_and_no_unsafe_loading_in_the_package() -> None:
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 20
    found = {
        f"{p.relative_to(PACKAGE)}:{i}: {what}": line.strip()
        for p in files
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if not line.lstrip().startswith("#")
        for what in _violations(line)
    }
    assert found == {}


# -- secrets -------------------------------------------------------------------------------------

SECRET_ENV_KEY = "sk-env-0a1b2c3d4e5f"
SECRET_URL_PASSWORD = "pw-in-url-9z8y7x"
SECRET_YML_KEY = "sk-yml-5e6f7a8b9c"
SECRET_HEADER = "Bearer tok-hdr-1q2w3e4r"
SECRET_TOML_KEY = "sk-toml-6y7u8i9o"
SECRETS = (
    SECRET_ENV_KEY,
    SECRET_URL_PASSWORD,
    SECRET_YML_KEY,
    SECRET_HEADER,
    SECRET_TOML_KEY,
    "tok-hdr-1q2w3e4r",
)


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _scenario(name: str, root: Path, port: int) -> dict[str, str]:
    env = cli_env()
    env.pop("OPENLINEAGE_DISABLED")
    if name == "environment":
        env["OPENLINEAGE_URL"] = f"http://lineage:{SECRET_URL_PASSWORD}@127.0.0.1:{port}"
        env["OPENLINEAGE_API_KEY"] = SECRET_ENV_KEY
    elif name == "openlineage.yml":
        write_files(
            root,
            {
                "openlineage.yml": (
                    f"transport:\n  type: http\n  url: http://127.0.0.1:{port}\n  timeout: 0.5\n"
                    f"  auth:\n    type: api_key\n    apiKey: {SECRET_YML_KEY}\n"
                    f"  custom_headers:\n    Authorization: {SECRET_HEADER}\n"
                )
            },
        )
    elif name == "assetbuild.toml":
        write_files(
            root,
            {
                "assetbuild.toml": FILES["assetbuild.toml"]
                + (
                    f'\n[lineage]\nurl = "http://127.0.0.1:{port}"\napi_key = "{SECRET_TOML_KEY}"\ntimeout = 0.5\n'
                )
            },
        )
    return env


@pytest.mark.parametrize("scenario", ["environment", "openlineage.yml", "assetbuild.toml"])
def test_secrets_never_appear_in_cli_output(tmp_path: Path, scenario: str) -> None:
    root = tmp_path / "p"
    write_files(root, FILES)
    env = _scenario(scenario, root, _closed_port())
    outputs = []
    for args in (
        ("build", "-v"),
        ("build", "--force", "--format", "json"),
        ("plan",),
        ("show", "doubled", "--format", "json"),
        ("history", "doubled"),
        ("report", "-o", str(tmp_path / "report.html")),
        ("build", "nope"),  # an error path
        ("lineage", "push", "--timeout", "0.5"),  # the backend is down: exit 1, saying where it tried
        ("lineage", "doubled", "--format", "json"),
    ):
        r = subprocess.run(
            [*CLI, "--project", str(root), *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=root,
            timeout=120,
        )
        assert "Traceback" not in r.stdout + r.stderr, (args, r.stderr)
        outputs.append((args, r.stdout + r.stderr))
    if (tmp_path / "report.html").exists():
        outputs.append((("report.html",), (tmp_path / "report.html").read_text(errors="replace")))
    leaks = [(args, s) for args, text in outputs for s in SECRETS if s in text]
    assert leaks == [], f"secrets printed: {leaks}"
    assert integrity(root) == "ok" and store_problems(root) == [] and current_hashes(root)
