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

A URL that cannot work (`http//x`, `ftp://x`, `http://`, a bad port) is found when the
configuration is resolved: `resolve(strict=True)` raises a `LineageConfigError` (a ProjectError,
exit 2) naming where it came from; otherwise the choice carries it as `problem`, and sending
fails at once with that message (a build warns and keeps its events).

An event counts as delivered only when an http backend answered 2xx (`Emitter`):
- 307 and 308 to the same host are followed (requests sends the same method and body again, at
  most `MAX_REDIRECTS` times); one to another host is not, since the transport's credentials and
  custom headers would go to a host nobody configured;
- 301, 302 and 303 are never followed: clients turn the POST into a GET there, which "succeeds"
  without delivering anything. Re-POSTing on purpose would guess at what the server meant; the
  answer says where it points, so the user can fix the URL. The events stay pending;
- 400, 413 and 422 refuse this one event for good (`EventRefused`, an outbox `Poison`): the sender
  parks it and goes on; every other answer keeps the event pending and stops the sender.
Each request has one wall-clock deadline (`Emitter.deadline_s`, the whole request, however slowly
the backend dribbles its answer): it runs on a worker thread, and at the deadline the sockets it
opened are shut, so it ends, and the event stays pending.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from assetbuild.errors import ProjectError
from assetbuild.lineage.lazy import lineage_disabled as lineage_disabled
from assetbuild.lineage.outbox import Poison
from assetbuild.model.assets import Project

DEFAULT_ENDPOINT = "api/v1/lineage"
_SECRET_KEYS = {"apikey", "api_key", "clientsecret", "client_secret", "token", "password", "secret"}

PERMANENT_REFUSALS = frozenset({400, 413, 422})  # this event will be refused every time: park it
FOLLOWED_REDIRECTS = frozenset({307, 308})  # same method and body, by definition
MAX_REDIRECTS = 5
BODY_CHARS = 200  # of an answer's body, in a reason
_ABORT_GRACE_S = 0.5  # how long an aborted request may take to unwind before it is abandoned
URL_HINT = "give the backend's base URL, e.g. http://localhost:5000 for Marquez"


class LineageConfigError(ProjectError):
    """The lineage configuration cannot work (a malformed URL): exit 2, naming where it came from."""


class NotDelivered(Exception):
    """The backend answered, but not with a 2xx: it did not take the event."""

    def __init__(self, status: int, detail: str = "") -> None:
        super().__init__(f"HTTP {status}: {detail}" if detail else f"HTTP {status}")
        self.status = status
        self.detail = detail


class EventRefused(NotDelivered, Poison):
    """A 400, 413 or 422: the backend refuses this very event and will every time."""

    def __init__(self, status: int, detail: str = "") -> None:
        NotDelivered.__init__(self, status, detail)
        self.reason = str(self)


class RequestTimedOut(TimeoutError):
    """No complete answer within the request's deadline."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"no complete answer within {round(seconds, 2):g} s (timed out)")
        self.seconds = seconds


@dataclass(frozen=True)
class TransportChoice:
    """The transport configuration to use, where it came from, and what must never be printed."""

    config: dict[str, Any] | None  # an openlineage transport config; None = nothing configured
    origin: str
    client_config: dict[str, Any] = field(default_factory=dict)  # the merged client config
    secrets: tuple[str, ...] = ()
    problem: LineageConfigError | None = field(default=None, compare=False)  # why it cannot work

    @property
    def configured(self) -> bool:
        return self.config is not None

    def target(self) -> str:
        """Where events go, fit to print: `http://host:5000/api/v1/lineage`, a file, or a type."""
        return redact(_target(self.config), self.secrets) if self.config else "nowhere"


def resolve(
    project: Project,
    *,
    url: str | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    strict: bool = False,
) -> TransportChoice:
    """The transport configuration for `project` (see the module docstring for the order).

    A URL that cannot work is `problem` on the choice, or, with `strict`, raised as it.
    """
    choice = _resolve(project, url, os.environ if environ is None else environ, cwd)
    problem = _problem_of(choice)
    if problem is not None and strict:
        raise problem
    return choice if problem is None else replace(choice, problem=problem)


def _resolve(project: Project, url: str | None, env: Mapping[str, str], cwd: Path | None) -> TransportChoice:
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
    if env.get("OPENLINEAGE_URL", "").strip():
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
    """Sends one stored event (its JSON text) through the configured openlineage transport.

    Returns only once the event was taken (an http backend answered 2xx); raises otherwise:
    `EventRefused` (park it), `NotDelivered`, `RequestTimedOut`, or what the transport raised.
    """

    def __init__(self, choice: TransportChoice, *, timeout: float, cap: bool) -> None:
        from openlineage.client import OpenLineageClient
        from openlineage.client.transport import get_default_factory

        if choice.problem is not None:
            raise choice.problem
        if choice.config is None:
            raise ValueError("no OpenLineage transport configured")
        config = tuned(choice.config, timeout=timeout, cap=cap)
        self.secrets = choice.secrets
        # One request, however slowly answered, ends by then: an http transport's own timeout
        # (now the whole request's, not each socket read's), or `timeout` for any other.
        own = _float(config.get("timeout")) if config.get("type") == "http" else None
        self.deadline_s: float = own if own is not None and own > 0 else timeout
        self.transport = get_default_factory().create(config)
        _guard_http(self.transport)
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

    def __call__(self, body: str, within: float | None = None) -> None:
        """Send `body`, in at most `deadline_s` (or `within`, when that is sooner)."""
        event = rehydrate(json.loads(body))
        seconds = self.deadline_s if within is None else max(0.0, min(self.deadline_s, within))
        try:
            run_within(lambda: self.client.emit(event), seconds)
        except Exception as e:
            poison = _poison_in(e)
            if poison is None:
                raise
            raise Poison(redact(poison.reason, self.secrets)) from e

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
        url = str(config["url"]).strip()
        try:
            url = urljoin(url, str(config.get("endpoint") or DEFAULT_ENDPOINT))
            parts = urlsplit(url)
            host = parts.hostname or ""
            if parts.port:
                host += f":{parts.port}"
        except ValueError:  # a malformed URL (`problem` says what is wrong): as written
            return _strip_queries(url)
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


# -- URLs that cannot work -----------------------------------------------------------------------


def url_problem(url: str) -> str | None:
    """What is wrong with `url` as the base URL of an http lineage backend; None when nothing is."""
    text = url.strip()
    if not text:
        return "it is empty"
    if any(c.isspace() for c in text):
        return "it contains whitespace"
    if "://" not in text:
        return "it has no scheme (http:// or https://)"
    try:
        parts = urlsplit(text)
    except ValueError as e:  # `http://[::1`: "Invalid IPv6 URL"
        return f"it does not parse: {e}"
    if parts.scheme.lower() not in ("http", "https"):
        return f"its scheme is {parts.scheme!r}; lineage goes over http or https"
    if not parts.hostname:
        return "it names no host"
    try:
        parts.port  # noqa: B018 - urlsplit checks the port only when asked for it
    except ValueError:
        port = parts.netloc.rpartition(":")[2]
        return f"its port {port!r} is not a number from 0 to 65535"
    return None


def _problem_of(choice: TransportChoice) -> LineageConfigError | None:
    if choice.config is None:
        return None
    for where, url in _http_urls(choice.config):
        problem = url_problem(url)
        if problem is None:
            continue
        shown = redact(url.strip(), choice.secrets)
        name, path = _name_of(choice.origin, where)
        return LineageConfigError(
            f"{name} {shown!r} is not a valid lineage URL: {problem}", path, hint=URL_HINT
        )
    return None


def _http_urls(config: dict[str, Any], where: str = "transport") -> Iterator[tuple[str, str]]:
    kind = config.get("type")
    if kind in ("http", "async_http"):
        url = config.get("url")
        yield f"{where}.url", url if isinstance(url, str) else ""
    elif kind == "composite":
        inner = config.get("transports")
        items = (
            inner.items() if isinstance(inner, dict) else enumerate(inner) if isinstance(inner, list) else ()
        )
        for key, sub in items:
            if isinstance(sub, dict):
                yield from _http_urls(
                    sub, f"{where}.transports[{key}]" if isinstance(key, int) else f"{where}.transports.{key}"
                )


def _name_of(origin: str, where: str) -> tuple[str, str | None]:
    """How to name a URL from `origin` (the setting) and the file it is in, if any."""
    if origin in ("OPENLINEAGE_URL", "--url"):
        return origin, None
    if origin.startswith("[lineage] url"):
        return "[lineage] url", "assetbuild.toml"
    if origin.startswith("OPENLINEAGE__"):
        return "OPENLINEAGE__" + where.upper().replace(".", "__"), None
    if origin.endswith((".yml", ".yaml")):
        return where, origin  # in an openlineage.yml
    return f"{where} ({origin})", None


# -- one request: a 2xx or an error, within one deadline -----------------------------------------

_inflight = threading.local()  # .sockets: the sockets the request on this thread uses


def run_within(call: Callable[[], object], seconds: float) -> None:
    """Run `call` (one request) on a worker thread, for at most `seconds` of wall-clock time.

    At the deadline the sockets it opened are shut, so that a read blocked on a dribbling
    backend returns at once and the request ends; then `RequestTimedOut`. A call that cannot be
    interrupted so (a TLS handshake, another transport) is left to finish on its own.
    """
    sockets: list[socket.socket] = []
    outcome: list[BaseException | None] = []

    def work() -> None:
        _inflight.sockets = sockets
        try:
            call()
            outcome.append(None)
        except BaseException as e:  # handed to the caller
            outcome.append(e)
        finally:
            _inflight.sockets = None

    worker = threading.Thread(target=work, name="assetbuild-lineage-request", daemon=True)
    worker.start()
    worker.join(max(seconds, 0.0))
    if not outcome:
        # Whatever it returns from now on is no proof of delivery: http.client takes the end of
        # a shut connection for the end of the headers, so a half-read answer may look complete.
        for sock in list(sockets):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        worker.join(_ABORT_GRACE_S)
        raise RequestTimedOut(seconds)
    if outcome[0] is not None:
        raise outcome[0]


def _track(sock: socket.socket | None) -> None:
    sockets = getattr(_inflight, "sockets", None)
    if sock is not None and sockets is not None:
        sockets.append(sock)


def _poison_in(error: BaseException) -> Poison | None:
    """The permanent refusal behind `error` (a composite transport wraps its transports' errors)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, Poison):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def check_answer(response: Any, *args: Any, **kwargs: Any) -> Any:
    """A requests response hook: raise unless the answer is a 2xx or a redirect worth following.

    requests calls it on every answer, the redirects' included, before it follows a redirect.
    """
    status = int(response.status_code)
    if 200 <= status < 300:
        return response
    location = response.headers.get("location")
    if status in FOLLOWED_REDIRECTS and location:
        target = urljoin(response.url, location)
        if _same_host(response.url, target):
            return response  # requests sends the same method and body there
        raise NotDelivered(
            status,
            f"redirect to {target} not followed: it is another host, which would get the "
            "transport's credentials and headers; set the lineage URL to it if that is right",
        )
    if 300 <= status < 400 and location:
        target = urljoin(response.url, location)
        raise NotDelivered(
            status,
            f"redirect to {target} not followed: a {status} turns the POST into a GET, which "
            "delivers nothing; set the lineage URL to where it points",
        )
    text = " ".join(_body_text(response).split())[:BODY_CHARS]
    if 300 <= status < 400:
        text = text or "a redirect without a Location"
    if status in PERMANENT_REFUSALS:
        raise EventRefused(status, text)
    raise NotDelivered(status, text)


def _body_text(response: Any) -> str:
    try:
        return str(response.text or "")
    except Exception:  # an unreadable or undecodable body says nothing more
        return ""


def _same_host(url: str, other: str) -> bool:
    try:
        return (urlsplit(url).hostname or "").lower() == (urlsplit(other).hostname or "").lower()
    except ValueError:
        return False


def _guard_http(transport: Any) -> None:
    """Make every http transport in `transport` check its answers and abortable at a deadline."""
    from openlineage.client.transport.composite import CompositeTransport
    from openlineage.client.transport.http import HttpTransport

    if isinstance(transport, HttpTransport):
        import requests
        import urllib3.util

        adapter = _tracking_adapter()
        transport.config.adapter = adapter(max_retries=urllib3.util.Retry(**transport.config.retry))
        session = requests.Session()
        session.max_redirects = MAX_REDIRECTS
        session.hooks["response"].append(check_answer)
        session.mount("http://", adapter())  # a redirect target on another prefix, too
        session.mount("https://", adapter())
        transport.session = session  # mounts the configured adapter on the transport's URL
    elif isinstance(transport, CompositeTransport):
        for inner in transport.transports:
            _guard_http(inner)


@functools.cache
def _tracking_adapter() -> Any:
    """A requests HTTPAdapter whose connections say which sockets the request in flight uses."""
    from requests.adapters import HTTPAdapter
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    class TrackedHTTPConnection(HTTPConnection):
        def connect(self) -> None:
            super().connect()
            _track(self.sock)

        def request(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
            _track(self.sock)  # a kept-alive connection, used again
            super().request(*args, **kwargs)

    class TrackedHTTPSConnection(HTTPSConnection):
        def connect(self) -> None:
            super().connect()
            _track(self.sock)

        def request(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
            _track(self.sock)
            super().request(*args, **kwargs)

    class TrackedHTTPPool(HTTPConnectionPool):
        ConnectionCls = TrackedHTTPConnection

    class TrackedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = TrackedHTTPSConnection

    pools = {"http": TrackedHTTPPool, "https": TrackedHTTPSPool}

    class TrackingAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = dict(pools)

        def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
            manager = super().proxy_manager_for(proxy, **kwargs)
            if not proxy.lower().startswith("socks"):
                manager.pool_classes_by_scheme = dict(pools)
            return manager

    return TrackingAdapter
