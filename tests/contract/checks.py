"""What the client may send, judged against Exact's documented schema (the sandbox's data file):
every `$select`, `$filter`, `$orderby` and `$expand` field, and every field of a POST body,
must be documented for that resource (for a body: documented as taking part in POST) and not
marked obsolete."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

import httpx

from exact_tui.sandbox.odata.filter import fields_used, parse_filter
from exact_tui.sandbox.schema import EntitySet, lookup
from exact_tui.sandbox.urls import REST_PREFIX, parse_rest_path


@dataclass(frozen=True)
class Sent:
    """One request as the client sent it."""

    method: str
    url: httpx.URL
    body: bytes = b""

    @property
    def resource(self) -> EntitySet | None:
        """The documented resource the request reads or writes (a line collection's own)."""
        if not self.url.path.startswith(REST_PREFIX):
            return None
        parsed = parse_rest_path(self.url.path[len(REST_PREFIX) :])
        return lookup(parsed.endpoint)


class Recorder(httpx.AsyncBaseTransport):
    """A transport that keeps every request before passing it on."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.sent: list[Sent] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(Sent(request.method, request.url, request.content))
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def _judge(resource: EntitySet, names: Iterable[str], where: str, *, write: bool) -> list[str]:
    problems = []
    for name in names:
        spec = resource.documented.get(name)
        if spec is None:
            problems.append(f"{where}: {name} is not documented on {resource.path}")
        elif spec.obsolete:
            problems.append(f"{where}: {name} is obsolete on {resource.path}")
        elif write and "POST" not in spec.methods:
            problems.append(f"{where}: {name} cannot be sent in a POST to {resource.path}")
    return problems


def _query_fields(request: Sent) -> dict[str, list[str]]:
    params = request.url.params
    found: dict[str, list[str]] = {}
    for option in ("$select", "$expand"):
        if option in params:
            found[option] = [part.strip() for part in params[option].split(",") if part.strip()]
    if "$orderby" in params:
        found["$orderby"] = [part.split()[0] for part in params["$orderby"].split(",") if part]
    if "$filter" in params:
        found["$filter"] = sorted(set(fields_used(parse_filter(params["$filter"]))))
    return found


def undocumented(requests: Iterable[Sent]) -> list[str]:
    """Every field a request names that Exact does not document for its resource."""
    problems: list[str] = []
    for request in requests:
        resource = request.resource
        if request.url.path.startswith(REST_PREFIX) and resource is None:
            problems.append(f"{request.method} {request.url.path}: not a documented resource")
            continue
        if resource is None:
            continue  # OAuth
        where = f"{request.method} {resource.path}"
        for option, names in _query_fields(request).items():
            for name in names:
                target, field = _reached(resource, name)
                problems += _judge(target, [field], f"{where} {option}", write=False)
        if request.method == "POST":
            problems += _body_problems(resource, json.loads(request.body), where)
    return problems


def _reached(resource: EntitySet, name: str) -> tuple[EntitySet, str]:
    """The resource and field a name stands for: `SalesEntryLines/AmountFC` is a line field."""
    navigation, slash, field = name.partition("/")
    spec = resource.navigations.get(navigation)
    target = lookup(spec.target) if spec is not None and spec.target else None
    if slash and target is not None:
        return target, field
    return resource, name


def _body_problems(resource: EntitySet, body: dict[str, object], where: str) -> list[str]:
    problems = _judge(resource, body, f"{where} body", write=True)
    for name, navigation in resource.navigations.items():
        lines = body.get(name)
        target = lookup(navigation.target) if navigation.target else None
        if isinstance(lines, list) and target is not None:
            for line in lines:
                assert isinstance(line, dict)
                problems += _judge(target, line, f"{where} {name}", write=True)
    return problems
