"""The REST API under /api/v1: authentication, division access, limits, reads and writes."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from exact_tui.sandbox import assumptions
from exact_tui.sandbox.errors import JSON_MEDIA_TYPE, ApiError, not_found_segment
from exact_tui.sandbox.odata import atom
from exact_tui.sandbox.odata.format import Json, entity_json, entity_uri
from exact_tui.sandbox.odata.query import (
    Query,
    enforce_rules,
    line_fields,
    next_link,
    paginate,
    parse_query,
    selected,
)
from exact_tui.sandbox.odata.types import Record
from exact_tui.sandbox.schema import ENTITY_SETS, EntitySet, Source, lookup
from exact_tui.sandbox.urls import REST_PREFIX, RestPath, parse_rest_path
from exact_tui.sandbox.writes import CREATORS, parse_body

if TYPE_CHECKING:
    from exact_tui.sandbox.sandbox import Sandbox


def json_response(
    data: Json, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        json.dumps(data, ensure_ascii=False, separators=(",", ":")),
        status_code=status,
        headers=dict(headers or {}),
        media_type=JSON_MEDIA_TYPE,
    )


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


class _Call:
    """One REST request, handled synchronously under the sandbox lock."""

    def __init__(self, sandbox: Sandbox, request: Request, body: bytes, path: RestPath) -> None:
        self.sandbox = sandbox
        self.user = sandbox.world.default_user  # the token's, once it is checked
        self.request = request
        self.body = body
        self.path = path
        self.base = str(request.base_url).rstrip("/")
        self.params = dict(request.query_params)
        # JSON only when asked for; otherwise Atom/XML, OData v2's default (docs/sandbox.md).
        self.json = atom.wants_json(request.headers.get("accept", ""))

    def handle(self) -> Response:
        sandbox, path = self.sandbox, self.path
        token = _bearer(self.request)
        grant = sandbox.oauth.usable(token) if token else None
        client = grant.client_id if grant is not None else None
        charged = client or sandbox.oauth.client_hint(token)
        known = sandbox.oauth.access.get(token) if token else None
        error_key = (charged, known.user if known is not None else "", path.division, path.endpoint)
        rate_headers: dict[str, str] = {}
        try:
            if grant is None or client is None:
                raise ApiError(
                    401,
                    assumptions.UNAUTHORIZED_MESSAGE,
                    headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
                )
            sandbox.limits.check_block(error_key)
            # Errors no user can be told of (tokens never issued) block every user of the app.
            sandbox.limits.check_block((charged, "", path.division, path.endpoint))
            if path.error is not None:
                raise path.error
            entity = path.entity
            assert entity is not None
            self.user = sandbox.world.users[grant.user]
            self.check_access(client, entity)
            rate_headers = sandbox.limits.consume((client, path.division))
            if self.json is None and not (path.count and _accepts_text(self.request)):
                raise ApiError(415, "Unsupported media type requested.")
            response = self.dispatch(entity)
        except ApiError as error:
            response = error.response()
        if not self.json:
            response = self.as_atom(response)
        response.headers.update(rate_headers)
        sandbox.limits.record(error_key, response.status_code)
        return response

    def check_access(self, client: str, entity: EntitySet) -> None:
        division = self.path.division
        if not entity.in_division or entity.any_division:
            return
        # Another user's division is as unknown to this token as one that does not exist.
        known = division is not None and division in self.user.divisions
        if not known or not self.sandbox.oauth.has_consent(client, division or 0, self.user.name):
            raise ApiError(
                403, assumptions.NO_DIVISION_ACCESS_MESSAGE, headers={"Reason": "NoDivisionAccess"}
            )

    def audit(self) -> Record:
        """Creator and Modifier defaults: the division's user's (the token's user for
        current/Me and the division lists)."""
        division = self.path.division
        if division is not None and division in self.sandbox.world.owners:
            return self.sandbox.world.audit_for(division)
        return self.user.audit

    def dispatch(self, entity: EntitySet) -> Response:
        method = self.request.method
        path = self.path
        is_collection = not path.has_key and not path.count
        if method == "POST" and is_collection and entity.path in CREATORS:
            return self.create(entity)
        if method != "GET" and method in entity.methods:
            # Documented by Exact, but not imitated: say so rather than pretend Exact refuses it.
            raise ApiError(
                501,
                f"The sandbox does not imitate {method} on {entity.path} (Exact documents it).",
            )
        if method != "GET":
            raise ApiError(
                405,
                f"The requested resource does not support http method '{method}'.",
                headers={"Allow": ", ".join(sorted(entity.methods))},
            )
        if path.navigation is not None:
            return self.navigation(entity, path.navigation)
        if path.has_key:
            return self.single(entity)
        query = parse_query(self.params, entity)
        rows = self.rows(entity)
        if path.count:
            predicate = query.predicate
            return PlainTextResponse(str(sum(1 for r in rows if predicate is None or predicate(r))))
        enforce_rules(query, entity)
        return self.collection(entity, rows, query)

    def as_atom(self, response: Response) -> Response:
        """The same answer as Atom/XML ($count's plain text stays as it is)."""
        if not response.media_type or "json" not in response.media_type:
            return response
        data = json.loads(bytes(response.body))
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        headers.pop("content-type", None)
        if "error" in data:
            body, media = atom.error(str(data["error"]["message"]["value"])), atom.XML_TYPE
        elif isinstance(data["d"].get("results"), list):
            body = atom.feed(data["d"], str(self.request.url), _TYPES)
            media = atom.FEED_TYPE
        else:
            body, media = atom.entry(data["d"], _TYPES), atom.ENTRY_TYPE
        return Response(body, status_code=response.status_code, headers=headers, media_type=media)

    # -- reading ---------------------------------------------------------------------------

    def rows(self, entity: EntitySet) -> list[Record]:
        world, user = self.sandbox.world, self.user
        if entity.source is Source.ME:
            return [{**user.me, "ServerTime": assumptions.server_time(self.sandbox.clock.now())}]
        current = user.me["CurrentDivision"]
        # The divisions on the token's user's card (docs/sandbox.md, "Users").
        infos = [(n, world.divisions.info(n)) for n in user.divisions]
        if entity.source is Source.DIVISIONS:
            return [{**info, "Current": n == current} for n, info in infos]
        if entity.source is Source.HRM_DIVISIONS:
            return [_hrm_division(info) for _, info in infos]
        assert self.path.division is not None
        rows = world.divisions[self.path.division].table(entity.source).values()
        if entity.source is Source.COST_CENTERS:
            # The obsolete Active flag, for clients that still read it: not past the EndDate.
            now = self.sandbox.clock.now()
            return [{**row, "Active": not _ended(row, now)} for row in rows]
        return list(rows)

    def find(self, entity: EntitySet) -> Record:
        key = self.path.key
        if entity.source in _TABLE_SOURCES and self.path.division is not None:
            # Tables are keyed by their GUID: no scan of 20,000 accounts for one lookup.
            table = self.sandbox.world.divisions[self.path.division].table(entity.source)
            found = table.get(key) if isinstance(key, uuid.UUID) else None
            if found is not None:
                return found
        else:
            for row in self.rows(entity):
                if row.get(entity.key) == key:
                    return row
        raise not_found_segment(entity.entity_name)

    def to_json(
        self,
        row: Record,
        entity: EntitySet,
        fields: list[str],
        navigations: list[str],
        query: Query,
    ) -> Json:
        uri = entity_uri(self.base, self.path.division, entity.path, row.get(entity.key))
        expanded: dict[str, list[Json]] = {}
        for name in query.expand:
            expanded[name] = self.lines(entity, name, row, query)
        return entity_json(
            row,
            fields=entity.fields,
            select=fields,
            uri=uri,
            type_name=entity.type_name,
            navigations=navigations,
            expanded=expanded,
            defaults=self.audit(),
        )

    def lines(
        self, entity: EntitySet, navigation: str, row: Record, query: Query | None = None
    ) -> list[Json]:
        target, rows = self.line_rows(entity, navigation, row)
        if target is None:
            return []
        fields = line_fields(query, navigation, target) if query else list(target.fields)
        empty = parse_query({}, target)
        return [self.to_json(line, target, fields, [], empty) for line in rows]

    def line_rows(
        self, entity: EntitySet, navigation: str, row: Record
    ) -> tuple[EntitySet | None, list[Record]]:
        """The rows of a collection under `row`; none when the sandbox models no target (such
        as an account's BankAccounts)."""
        spec = entity.navigations[navigation]
        target = lookup(spec.target) if spec.target else None
        foreign_key = spec.foreign_key
        if target is None or foreign_key is None:
            return None, []
        key = row.get(entity.key)
        return target, [r for r in self.rows(target) if r.get(foreign_key) == key]

    def single(self, entity: EntitySet) -> Response:
        query = parse_query(self.params, entity)
        row = self.find(entity)
        fields, navigations = selected(query, entity)
        return json_response({"d": self.to_json(row, entity, fields, navigations, query)})

    def navigation(self, entity: EntitySet, navigation: str) -> Response:
        parent = self.find(entity)
        target, rows = self.line_rows(entity, navigation, parent)
        if target is None:
            return json_response({"d": {"results": []}})
        query = parse_query(self.params, target)
        return self.collection(target, rows, query)

    def collection(self, entity: EntitySet, rows: list[Record], query: Query) -> Response:
        page = paginate(rows, query, entity, entity.page_size)
        fields, navigations = selected(query, entity)
        results = [self.to_json(row, entity, fields, navigations, query) for row in page.rows]
        data: Json = {"results": results}
        if page.count is not None:
            data["__count"] = str(page.count)
        link = next_link(self.base + self.request.url.path, query, page)
        if link is not None:
            data["__next"] = link
        return json_response({"d": data})

    # -- writing ---------------------------------------------------------------------------

    def create(self, entity: EntitySet) -> Response:
        creator = CREATORS[entity.path]
        writable = entity.writable
        body = parse_body(self.body, entity)
        assert self.path.division is not None
        division = self.sandbox.world.divisions[self.path.division]
        record = creator(division, body, self.sandbox.clock.now(), self.sandbox.rng)
        uri = entity_uri(self.base, self.path.division, entity.path, record.get(entity.key))
        prefer = "return=representation" in self.request.headers.get("prefer", "").lower()
        navigations = list(entity.navigations)
        if prefer or not assumptions.POST_WITHOUT_PREFER_ECHOES_INPUT_ONLY:
            expand = {name: self.lines(entity, name, record) for name in navigations}
            shown = record
        else:
            expand = {}
            sent = set(body.fields) & writable
            shown = {name: record.get(name) if name in sent else None for name in entity.fields}
            shown[entity.key] = record.get(entity.key)
        data = entity_json(
            shown,
            fields=entity.fields,
            select=list(entity.fields),
            uri=uri,
            type_name=entity.type_name,
            navigations=navigations,
            expanded=expand,
            defaults=self.audit(),
        )
        return json_response({"d": data}, status=201, headers={"Location": uri})


_TYPES = {entity.type_name: entity.fields for entity in ENTITY_SETS}


def _accepts_text(request: Request) -> bool:
    """`$count` answers text/plain, so it may be asked for."""
    return "text/plain" in request.headers.get("accept", "").lower()


def _ended(row: Record, now: datetime) -> bool:
    end = row.get("EndDate")
    return isinstance(end, datetime) and end <= now


_TABLE_SOURCES = frozenset(Source) - {Source.ME, Source.DIVISIONS, Source.HRM_DIVISIONS}


# Fields hrm/Divisions shares with system/Divisions under the same name.
_HRM_SHARED = (
    "Code", "Description", "Country", "Currency", "VATNumber", "StartDate", "ArchiveDate",
    "BlockingStatus", "Customer", "CustomerCode", "CustomerName", "Created", "Creator",
    "CreatorFullName", "Modified", "Modifier", "ModifierFullName", "OBNumber", "SiretNumber",
    "TaxOfficeNumber", "TaxReferenceNumber", "TemplateCode", "Website",
)  # fmt: skip


def _hrm_division(info: Record) -> Record:
    """hrm/Divisions spells some fields differently (HID, Main), counts Status from 0 (regular,
    archived) and has no Current (docs/sandbox.md)."""
    row: Record = {name: info.get(name) for name in _HRM_SHARED if name in info}
    row.update(
        {
            "HID": info["Hid"],
            "Main": info["IsMainDivision"],
            "Status": 0 if info["Status"] == 1 else 1,
        }
    )
    return row


async def rest_endpoint(request: Request) -> Response:
    sandbox: Sandbox = request.app.state.sandbox
    body = await request.body()
    path = parse_rest_path(request.url.path[len(REST_PREFIX) :])
    with sandbox.lock:
        return _Call(sandbox, request, body, path).handle()
