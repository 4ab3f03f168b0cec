"""Transport configuration as openlineage-python users write it, and secrets kept out of messages."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from lineage_support import make_project, new_id

from assetbuild.lineage import events as ev
from assetbuild.lineage.transport import Emitter, lineage_disabled, redact, rehydrate, resolve, tuned
from assetbuild.model.assets import Project


def project_with(tmp_path: Path, **lineage: object) -> Project:
    return make_project(tmp_path / "p", lineage=dict(lineage))


def test_nothing_configured_means_the_outbox_keeps_the_events(project: Project) -> None:
    choice = resolve(project)
    assert not choice.configured and choice.target() == "nowhere"


def test_resolution_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = project_with(tmp_path, url="http://toml:5000", api_key="toml-key-123")
    choice = resolve(project)
    assert choice.config == {
        "type": "http",
        "url": "http://toml:5000",
        "endpoint": "api/v1/lineage",
        "auth": {"type": "api_key", "apiKey": "toml-key-123"},
    }
    assert choice.origin.startswith("[lineage]")
    # OPENLINEAGE_URL beats assetbuild.toml: the environment decides where lineage goes
    monkeypatch.setenv("OPENLINEAGE_URL", "http://env:5000")
    monkeypatch.setenv("OPENLINEAGE_ENDPOINT", "custom/path")
    assert resolve(project).config["url"] == "http://env:5000"  # type: ignore[index]
    assert resolve(project).config["endpoint"] == "custom/path"  # type: ignore[index]
    # OPENLINEAGE__TRANSPORT__* beats OPENLINEAGE_URL, as in the client
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "file")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__LOG_FILE_PATH", "/tmp/x.jsonl")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__APPEND", "true")
    assert resolve(project).config == {"type": "file", "log_file_path": "/tmp/x.jsonl", "append": True}
    # an openlineage.yml in the project folder beats the variables
    (project.root / "openlineage.yml").write_text("transport:\n  type: console\n")
    assert resolve(project).config == {"type": "console", "log_file_path": "/tmp/x.jsonl", "append": True}
    # one in the current folder beats the project's; $OPENLINEAGE_CONFIG beats both
    Path("openlineage.yml").write_text("transport:\n  type: http\n  url: http://cwd:1\n")
    assert resolve(project).config["url"] == "http://cwd:1"  # type: ignore[index]
    explicit = tmp_path / "explicit.yml"
    explicit.write_text("transport:\n  type: http\n  url: http://explicit:1\n")
    monkeypatch.setenv("OPENLINEAGE_CONFIG", str(explicit))
    assert resolve(project).config["url"] == "http://explicit:1"  # type: ignore[index]
    assert resolve(project).origin == str(explicit)
    # and `lineage push --url` beats everything
    assert resolve(project, url="http://flag:2").config["url"] == "http://flag:2"  # type: ignore[index]


def test_disabled_by_environment_or_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = project_with(tmp_path)
    assert not lineage_disabled(project)
    monkeypatch.setenv("OPENLINEAGE_DISABLED", " TRUE ")
    assert lineage_disabled(project)
    monkeypatch.setenv("OPENLINEAGE_DISABLED", "false")
    assert not lineage_disabled(project)
    assert lineage_disabled(project_with(tmp_path / "x", disabled=True))


def test_builds_use_short_timeouts_and_no_retries() -> None:
    http = {"type": "http", "url": "http://h", "timeout": 30, "retry": {"total": 9}}
    out = tuned(http, timeout=1.0, cap=True)
    assert out["timeout"] == 1.0 and out["retry"]["total"] == 0 and out["retry"]["status_forcelist"] == []
    assert tuned({**http, "timeout": 0.2}, timeout=1.0, cap=True)["timeout"] == 0.2
    assert tuned(http, timeout=5.0, cap=False)["timeout"] == 5.0
    async_http = tuned({"type": "async_http", "url": "http://h", "max_queue_size": 5}, timeout=1.0, cap=True)
    assert async_http["type"] == "http" and "max_queue_size" not in async_http
    composite = tuned(
        {"type": "composite", "transports": [{"type": "file", "log_file_path": "x"}, http]},
        timeout=1.0,
        cap=True,
    )
    assert composite["transports"][0] == {"type": "file", "log_file_path": "x"}
    assert composite["transports"][1]["timeout"] == 1.0


def test_redaction_removes_keys_credentials_and_queries() -> None:
    text = (
        "POST https://user:pw@host/api?api_key=abc123 failed; Authorization: Bearer tok.en-1 "
        "header sekrit-value"
    )
    out = redact(text, ("sekrit-value",))
    for secret in ("pw", "abc123", "tok.en-1", "sekrit-value"):
        assert secret not in out
    assert "https://***@host/api?***" in out


def test_secrets_of_a_configured_transport_are_known(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "http")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__URL", "http://h:1?token=q")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__AUTH", '{"type": "api_key", "apiKey": "the-key-42"}')
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__CUSTOM_HEADERS", '{"X-Auth": "hdr-secret"}')
    choice = resolve(project_with(tmp_path))
    assert {"the-key-42", "hdr-secret"} <= set(choice.secrets)
    assert choice.target() == "http://h:1/api/v1/lineage"


def test_the_emitter_uses_the_client_and_leaves_the_environment_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "events.jsonl"
    monkeypatch.setenv("OPENLINEAGE_URL", "http://unused:1")  # the client would copy it into OPENLINEAGE__*
    (tmp_path / "ol.yml").write_text(f"transport:\n  type: file\n  log_file_path: {log}\n  append: true\n")
    monkeypatch.setenv("OPENLINEAGE_CONFIG", str(tmp_path / "ol.yml"))
    project = project_with(tmp_path)
    before = dict(os.environ)
    emitter = Emitter(resolve(project), timeout=1.0, cap=True)
    assert dict(os.environ) == before
    body = ev.to_json(ev.build_start(project, new_id(), "2026-11-25T10:00:00+00:00"))
    emitter(body)
    emitter.close()
    [sent] = [json.loads(line) for line in log.read_text().splitlines()]
    tags = sent["run"]["facets"]["tags"]["tags"]
    assert {
        "key": "openlineage_client_version",
        "value": tags[0]["value"],
        "source": "OPENLINEAGE_CLIENT",
    } in tags
    stored = json.loads(body)
    sent["run"]["facets"].pop("tags")
    assert sent == stored  # otherwise exactly the stored event


def test_rehydrate_round_trips_a_stored_event(project: Project) -> None:
    from lineage_support import SCHEMAS, result_of

    from assetbuild.lineage.columns import sql_column_lineage
    from assetbuild.model.events import RunInfo

    asset = project.assets["by_country"]
    info = RunInfo(asset, new_id(), new_id(), {"enriched": "h"}, {"enriched": SCHEMAS["enriched"]})
    event = ev.asset_end(
        project,
        info,
        result_of("by_country", "sql"),
        "2026-11-25T10:00:00+00:00",
        column_lineage=sql_column_lineage(asset.sql or "", info.input_schemas),
    )
    body = ev.to_json(event)
    again = ev.to_json(rehydrate(json.loads(body)))
    assert json.loads(again) == json.loads(body)
    scored = project.assets["scored"]
    tagged = ev.to_json(
        ev.asset_start(project, RunInfo(scored, new_id(), new_id(), {}, {}), "2026-11-25T10:00:00Z")
    )
    assert json.loads(ev.to_json(rehydrate(json.loads(tagged)))) == json.loads(tagged)
