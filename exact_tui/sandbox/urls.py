"""Reading Exact's REST URLs.

`/api/v1/{division}/{service}/{Entity}[(key)][/{Navigation}|/$count]`, and `/api/v1/current/Me`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from exact_tui.sandbox.errors import ApiError, not_found_segment
from exact_tui.sandbox.odata.filter import parse_literals
from exact_tui.sandbox.odata.types import Value
from exact_tui.sandbox.schema import EntitySet, lookup

REST_PREFIX = "/api/v1/"
_SEGMENT = re.compile(r"([A-Za-z_]\w*)(?:\((.*)\))?")


@dataclass(frozen=True)
class RestPath:
    division: int | None
    endpoint: str  # canonical, for the call log, faults and the error budget
    entity: EntitySet | None = None
    key: Value = None
    has_key: bool = False
    navigation: str | None = None
    count: bool = False
    # A 404 to answer once the caller is authenticated (Exact authenticates first).
    error: ApiError | None = None


def _unknown(division: int | None, segments: list[str]) -> RestPath:
    last = segments[-1] if segments else ""
    return RestPath(division, "/".join(segments) or "?", error=not_found_segment(last))


def _key(raw: str | None) -> tuple[Value, bool]:
    if raw is None:
        return None, False
    try:
        values = parse_literals(raw)
    except ApiError:
        return None, False
    if len(values) != 1:
        return None, False
    return values[0], True


def parse_rest_path(rest: str) -> RestPath:
    """`rest` is what follows /api/v1/."""
    segments = [segment for segment in rest.split("/") if segment]
    division: int | None = None
    if segments and segments[0].lower() == "current":
        remaining = segments
    elif segments and segments[0].isdigit():
        division = int(segments[0])
        remaining = segments[1:]
    else:
        return _unknown(None, segments)
    for cut in range(len(remaining), 0, -1):
        head, tail = remaining[:cut], remaining[cut:]
        match = _SEGMENT.fullmatch(head[-1])
        if match is None:
            continue
        entity = lookup("/".join([*head[:-1], match.group(1)]))
        if entity is None:
            continue
        key, has_key = _key(match.group(2))
        if match.group(2) is not None and not has_key:
            return RestPath(division, entity.path, error=not_found_segment(head[-1]))
        if not tail:
            return RestPath(division, entity.path, entity, key, has_key)
        if len(tail) == 1 and tail[0] == "$count" and not has_key:
            return RestPath(division, entity.path, entity, count=True)
        if len(tail) == 1 and has_key and tail[0] in entity.navigations:
            target = entity.navigations[tail[0]].target or f"{entity.path}/{tail[0]}"
            return RestPath(division, target, entity, key, has_key, navigation=tail[0])
        return RestPath(division, entity.path, error=not_found_segment(tail[0]))
    return _unknown(division, remaining)


def classify(path: str) -> tuple[str, int | None]:
    """(endpoint, division) of any /api/ path, for the call log and fault matching."""
    if path.startswith(REST_PREFIX):
        parsed = parse_rest_path(path[len(REST_PREFIX) :])
        return parsed.endpoint, parsed.division
    return path.removeprefix("/api/").strip("/"), None
