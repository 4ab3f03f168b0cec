"""Where lineage events go: the openlineage-python transport, configured as its users configure it.

Resolution, first match wins:
1. `OPENLINEAGE_DISABLED=true` (or `[lineage] disabled = true`): lineage is off; nothing is
   recorded or sent, as the client itself turns every `emit` into a no-op.
2. an explicit `--url` of `lineage push`;
3. the client's own configuration: `$OPENLINEAGE_CONFIG`, else `openlineage.yml` in the current
   folder, else in the project folder, else `~/.openlineage/openlineage.yml`, deep-merged over
   `OPENLINEAGE__*` variables (the file wins), when it names a `transport.type`;
4. `OPENLINEAGE_URL` (+ `OPENLINEAGE_ENDPOINT`, `OPENLINEAGE_API_KEY`): the http transport;
5. `[lineage] url` (+ `endpoint`, `api_key`, `timeout`) in assetbuild.toml;
6. nothing: events wait in the outbox (the client would print them to its log instead).

Events leave through `transport.emit` via an `OpenLineageClient`, so the user's client settings
(tags, filters, environment-variable facets) apply. Secrets (API keys, auth and custom header
values, URL credentials and query strings) never appear in a message this module produces.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from assetbuild.model.assets import Project

DEFAULT_ENDPOINT = "api/v1/lineage"
_SECRET_KEYS = {"apikey", "api_key", "clientsecret", "client_secret", "token", "password", "secret"}


@dataclass(frozen=True)
class TransportChoice:
    """The transport configuration to use, where it came from, and what must never be printed."""

    config: dict[str, Any] | None  # an openlineage transport config; None = nothing configured
    origin: str
    client_config: dict[str, Any] = field(default_factory=dict)  # the merged client config
    secrets: tuple[str, ...] = ()

    @property
    def configured(self) -> bool:
        return self.config is not None

    def target(self) -> str:
        """Where events go, fit to print: `http://host:5000/api/v1/lineage`, a file, or a type."""
        return redact(_target(self.config), self.secrets) if self.config else "nowhere"


def lineage_disabled(project: Project, environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    if env.get("OPENLINEAGE_DISABLED", "").strip().lower() == "true":
        return True
    return project.lineage.get("disabled") is True


def resolve(
    project: Project,
    *,
    url: str | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> TransportChoice:
    """The transport configuration for `project` (see the module docstring for the order)."""
    env = os.environ if environ is None else environ
    lineage = project.lineage
    client_config = _client_config(project, env, cwd)
    if url:
        key = env.get("OPENLINEAGE_API_KEY") or _str(lineage.get("api_key"))
        return _http(
            url, _str(lineage.get("endpoint")) or DEFAULT_ENDPOINT, key, None, "--url", client_config
        )
    transport = client_config.get("transport")
    if isinstance(transport, dict) and transport.get("type"):
        return TransportChoice(
            config=transport,
            origin=client_config.get("__origin__", "openlineage config"),
            client_config=client_config,
            secrets=_secrets_in(transport, env),
        )
    if env.get("OPENLINEAGE_URL"):
        return _http(
            env["OPENLINEAGE_URL"],
            env.get("OPENLINEAGE_ENDPOINT") or DEFAULT_ENDPOINT,
            env.get("OPENLINEAGE_API_KEY"),
            None,
            "OPENLINEAGE_URL",
            client_config,
        )
    if _str(lineage.get("url")):
        timeout = lineage.get("timeout")
        return _http(
            str(lineage["url"]),
            _str(lineage.get("endpoint")) or DEFAULT_ENDPOINT,
            _str(lineage.get("api_key")),
            float(timeout) if isinstance(timeout, int | float) else None,
            "[lineage] url in assetbuild.toml",
            client_config,
        )
    return TransportChoice(config=None, origin="nothing configured", client_config=client_config)


def tuned(config: dict[str, Any], *, timeout: float, cap: bool) -> dict[str, Any]:
    """`config` with every http transport made short and retry-free: the outbox is the retry.

    `cap` keeps a shorter configured timeout; otherwise `timeout` replaces it. An `async_http`
    transport becomes `http`: the sender must know which events the backend took, one by one.
    """
    kind = config.get("type")
    if kind in ("http", "async_http"):
        out = {k: v for k, v in config.items() if k not in ("max_queue_size", "max_concurrent_requests")}
        out["type"] = "http"
        configured = _float(config.get("timeout"))
        out["timeout"] = min(configured, timeout) if cap and configured is not None else timeout
        # No retries at all, and a 5xx comes back as a response that raise_for_status turns
        # into an error at once instead of a backoff loop.
        out["retry"] = {"total": 0, "connect": 0, "read": 0, "status": 0, "status_forcelist": []}
        return out
    if kind == "composite":
        out = dict(config)
        inner = config.get("transports")
        if isinstance(inner, list):
            out["transports"] = [
                tuned(t, timeout=timeout, cap=cap) if isinstance(t, dict) else t for t in inner
            ]
        elif isinstance(inner, dict):
            out["transports"] = {
                k: tuned(t, timeout=timeout, cap=cap) if isinstance(t, dict) else t for k, t in inner.items()
            }
        return out
    return dict(config)


class Emitter:
    """Sends one stored event (its JSON text) through the configured openlineage transport."""

    def __init__(self, choice: TransportChoice, *, timeout: float, cap: bool) -> None:
        from openlineage.client import OpenLineageClient
        from openlineage.client.transport import get_default_factory

        if choice.config is None:
            raise ValueError("no OpenLineage transport configured")
        self.transport = get_default_factory().create(tuned(choice.config, timeout=timeout, cap=cap))
        client_config = {k: v for k, v in choice.client_config.items() if k != "__origin__"}
        before = set(os.environ)
        try:
            self.client = OpenLineageClient(transport=self.transport, config=client_config)
        finally:
            # The client copies OPENLINEAGE_URL into OPENLINEAGE__TRANSPORT__* variables of this
            # process; take them back out so that nothing leaks into later builds or user code.
            for key in set(os.environ) - before:
                if key.startswith("OPENLINEAGE__"):
                    os.environ.pop(key, None)

    def __call__(self, body: str) -> None:
        self.client.emit(rehydrate(json.loads(body)))

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing must not turn a delivery into a failure
            self.transport.close(0)


def rehydrate(data: dict[str, Any]) -> Any:
    """A stored event as an `event_v2.RunEvent` again, for transports and client hooks.

    Facets stay plain dicts (they serialise unchanged), except `parent` and `tags`, which some
    transports (Kafka's message key) and the client's tag merging read as objects.
    """
    from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
    from openlineage.client.facet_v2 import parent_run, tags_job, tags_run

    run_facets = dict(data["run"].get("facets") or {})
    job_facets = dict(data["job"].get("facets") or {})
    parent = run_facets.get("parent")
    if isinstance(parent, dict):
        root = parent.get("root")
        run_facets["parent"] = parent_run.ParentRunFacet(
            run=parent_run.Run(runId=parent["run"]["runId"]),
            job=parent_run.Job(namespace=parent["job"]["namespace"], name=parent["job"]["name"]),
            root=parent_run.Root(
                run=parent_run.RootRun(runId=root["run"]["runId"]),
                job=parent_run.RootJob(namespace=root["job"]["namespace"], name=root["job"]["name"]),
            )
            if isinstance(root, dict)
            else None,
            producer=parent.get("_producer", ""),
        )
    for facets, module, cls in (
        (job_facets, tags_job, "TagsJobFacet"),
        (run_facets, tags_run, "TagsRunFacet"),
    ):
        tags = facets.get("tags")
        if isinstance(tags, dict):
            fields_cls = getattr(module, cls + "Fields")
            facets["tags"] = getattr(module, cls)(
                tags=[
                    fields_cls(key=t["key"], value=t["value"], source=t.get("source"))
                    for t in tags.get("tags") or []
                ],
                producer=tags.get("_producer", ""),
            )
    return RunEvent(
        eventType=RunState(data["eventType"]) if data.get("eventType") else None,
        eventTime=data["eventTime"],
        run=Run(runId=data["run"]["runId"], facets=run_facets),
        job=Job(namespace=data["job"]["namespace"], name=data["job"]["name"], facets=job_facets),
        inputs=[
            InputDataset(
                d["namespace"],
                d["name"],
                facets=d.get("facets") or {},
                inputFacets=d.get("inputFacets") or {},
            )
            for d in data.get("inputs") or []
        ],
        outputs=[
            OutputDataset(
                d["namespace"],
                d["name"],
                facets=d.get("facets") or {},
                outputFacets=d.get("outputFacets") or {},
            )
            for d in data.get("outputs") or []
        ],
        producer=data["producer"],
    )


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """`text` without secrets: known secret values, URL credentials and URL query strings."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "***")
    text = re.sub(r"(?i)(bearer|basic)\s+[A-Za-z0-9._~+/=-]+", r"\1 ***", text)
    return re.sub(r"\b([a-z][a-z0-9+.-]*://)[^\s/'\"@]*@", r"\1***@", _strip_queries(text))


def _strip_queries(text: str) -> str:
    return re.sub(r"(\b[a-z][a-z0-9+.-]*://[^\s'\"?]*)\?[^\s'\")]*", r"\1?***", text)


# -- configuration sources ---------------------------------------------------------------------


def _client_config(project: Project, env: Mapping[str, str], cwd: Path | None) -> dict[str, Any]:
    """The client's merged configuration: the YAML file over `OPENLINEAGE__*` variables."""
    config = _env_config(env)
    origin = "OPENLINEAGE__TRANSPORT__* environment" if config.get("transport") else ""
    path = _yaml_path(project, env, cwd)
    if path is not None:
        loaded = _read_yaml(path)
        if loaded:
            config = _deep_merge(config, loaded)
            if isinstance(loaded.get("transport"), dict):
                origin = str(path)
    if origin:
        config["__origin__"] = origin
    return config


def _yaml_path(project: Project, env: Mapping[str, str], cwd: Path | None) -> Path | None:
    candidates = [
        env.get("OPENLINEAGE_CONFIG"),
        str(Path(cwd or os.getcwd()) / "openlineage.yml"),
        str(Path(project.root) / "openlineage.yml"),
        str(Path(env.get("HOME") or os.path.expanduser("~")) / ".openlineage" / "openlineage.yml"),
    ]
    for candidate in candidates:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.R_OK):
            return Path(candidate)
    return None


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _env_config(env: Mapping[str, str]) -> dict[str, Any]:
    """`OPENLINEAGE__A__B=v` -> `{"a": {"b": v}}`, values parsed as JSON when they are JSON."""
    config: dict[str, Any] = {}
    prefix = "OPENLINEAGE__"
    for key, raw in sorted(((k, v) for k, v in env.items() if k.startswith(prefix)), reverse=True):
        path = [part.lower() for part in key[len(prefix) :].split("__")]
        if not all(path):
            continue
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        node = config
        for part in path[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[path[-1]] = value
    return config


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _http(
    url: str,
    endpoint: str,
    api_key: str | None,
    timeout: float | None,
    origin: str,
    client_config: dict[str, Any],
) -> TransportChoice:
    config: dict[str, Any] = {"type": "http", "url": url, "endpoint": endpoint}
    if api_key:
        config["auth"] = {"type": "api_key", "apiKey": api_key}
    if timeout is not None:
        config["timeout"] = timeout
    return TransportChoice(
        config=config, origin=origin, client_config=client_config, secrets=tuple(s for s in (api_key,) if s)
    )


def _secrets_in(config: Any, env: Mapping[str, str]) -> tuple[str, ...]:
    found: list[str] = [env["OPENLINEAGE_API_KEY"]] if env.get("OPENLINEAGE_API_KEY") else []

    def walk(node: Any, under_headers: bool) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                lowered = str(key).lower()
                if isinstance(value, str) and (under_headers or lowered in _SECRET_KEYS):
                    found.append(value)
                else:
                    walk(value, under_headers or lowered in ("custom_headers", "headers", "auth"))
        elif isinstance(node, list):
            for item in node:
                walk(item, under_headers)

    walk(config, False)
    return tuple(s for s in found if len(s) >= 4)


def _target(config: dict[str, Any] | None) -> str:
    if not config:
        return "nowhere"
    kind = config.get("type")
    if kind in ("http", "async_http") and config.get("url"):
        url = urljoin(str(config["url"]).strip(), str(config.get("endpoint") or DEFAULT_ENDPOINT))
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.port:
            host += f":{parts.port}"
        return urlunsplit((parts.scheme, host, parts.path, "", ""))
    if kind == "file":
        return f"file {config.get('log_file_path')}"
    if kind == "composite":
        inner = config.get("transports")
        items = inner.values() if isinstance(inner, dict) else inner if isinstance(inner, list) else []
        return "composite(" + ", ".join(_target(t) for t in items if isinstance(t, dict)) + ")"
    return f"{kind} transport"


def _str(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _float(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None
