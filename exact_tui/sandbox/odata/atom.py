"""OData v2's other representation: Atom/XML, what a request gets without `Accept:
application/json` (docs/sandbox.md, "Representation").

Exact runs on WCF Data Services, whose default is Atom. The sandbox writes Atom from the same
answer it would give in JSON, so a client that forgets the header gets XML it cannot read,
as it would from Exact.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import UTC, datetime

from exact_tui.sandbox.odata.types import FieldType

ATOM = "http://www.w3.org/2005/Atom"
DATA = "http://schemas.microsoft.com/ado/2007/08/dataservices"
META = "http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"
SCHEME = "http://schemas.microsoft.com/ado/2007/08/dataservices/scheme"
RELATED = "http://schemas.microsoft.com/ado/2007/08/dataservices/related/"
FEED_TYPE = "application/atom+xml;type=feed;charset=utf-8"
ENTRY_TYPE = "application/atom+xml;type=entry;charset=utf-8"
XML_TYPE = "application/xml;charset=utf-8"

_DATE = re.compile(r"^/Date\((-?\d+)\)/$")

ET.register_namespace("", ATOM)
ET.register_namespace("d", DATA)
ET.register_namespace("m", META)

Json = Mapping[str, object]
TypeOf = Mapping[str, Mapping[str, FieldType]]  # entity type name -> its fields


def wants_json(accept: str) -> bool | None:
    """True for JSON, False for Atom (no header, */*, XML or Atom), None for a type OData
    does not produce (415)."""
    kinds = {part.split(";")[0].strip().lower() for part in accept.split(",") if part.strip()}
    if "application/json" in kinds:
        return True
    if not kinds or kinds & _ATOM_ACCEPTS:
        return False
    return None


_ATOM_ACCEPTS = frozenset(
    {"*/*", "application/*", "application/atom+xml", "application/xml", "text/xml", "text/*"}
)


def _q(namespace: str, tag: str) -> str:
    return f"{{{namespace}}}{tag}"


def _text(kind: FieldType | None, value: object) -> tuple[str | None, str | None]:
    """(text, m:type) of one property value."""
    if isinstance(value, bool):
        return ("true" if value else "false"), "Edm.Boolean"
    if isinstance(value, str):
        match = _DATE.match(value)
        if match and kind in (FieldType.DATETIME, None):
            moment = datetime.fromtimestamp(int(match.group(1)) / 1000, tz=UTC)
            return moment.replace(tzinfo=None).isoformat(), "Edm.DateTime"
    if kind is not None and kind is not FieldType.STRING and kind is not FieldType.COMPLEX:
        return str(value), kind.value[0]
    if isinstance(value, int):
        return str(value), "Edm.Int32"
    if isinstance(value, float):
        return repr(value), "Edm.Double"
    return str(value), None


def _entry(entity: Json, types: TypeOf, parent: ET.Element | None = None) -> ET.Element:
    element = (
        ET.Element(_q(ATOM, "entry"))
        if parent is None
        else ET.SubElement(parent, _q(ATOM, "entry"))
    )
    metadata = entity.get("__metadata")
    uri = type_name = ""
    if isinstance(metadata, Mapping):
        uri, type_name = str(metadata.get("uri", "")), str(metadata.get("type", ""))
    fields = types.get(type_name, {})
    ET.SubElement(element, _q(ATOM, "id")).text = uri
    ET.SubElement(element, _q(ATOM, "title"), {"type": "text"})
    ET.SubElement(element, _q(ATOM, "updated")).text = datetime.now(UTC).isoformat()
    ET.SubElement(ET.SubElement(element, _q(ATOM, "author")), _q(ATOM, "name"))
    ET.SubElement(element, _q(ATOM, "link"), {"rel": "edit", "href": uri})
    ET.SubElement(element, _q(ATOM, "category"), {"term": type_name, "scheme": SCHEME})
    content = ET.SubElement(element, _q(ATOM, "content"), {"type": "application/xml"})
    properties = ET.SubElement(content, _q(META, "properties"))
    for name, value in entity.items():
        if name == "__metadata":
            continue
        if isinstance(value, Mapping):
            _navigation(element, name, value, uri, types)
            continue
        prop = ET.SubElement(properties, _q(DATA, name))
        if value is None:
            prop.set(_q(META, "null"), "true")
            continue
        text, edm = _text(fields.get(name), value)
        if edm is not None and edm != "Edm.String":
            prop.set(_q(META, "type"), edm)
        prop.text = text
    return element


def _navigation(entry: ET.Element, name: str, value: Json, uri: str, types: TypeOf) -> None:
    link = ET.SubElement(
        entry,
        _q(ATOM, "link"),
        {"rel": RELATED + name, "type": "application/atom+xml;type=feed", "title": name,
         "href": f"{uri}/{name}"},
    )  # fmt: skip
    results = value.get("results")
    if isinstance(results, list):
        inline = ET.SubElement(ET.SubElement(link, _q(META, "inline")), _q(ATOM, "feed"))
        for row in results:
            if isinstance(row, Mapping):
                _entry(row, types, inline)


def feed(data: Json, self_uri: str, types: TypeOf) -> bytes:
    root = ET.Element(_q(ATOM, "feed"))
    ET.SubElement(root, _q(ATOM, "id")).text = self_uri
    ET.SubElement(root, _q(ATOM, "title"), {"type": "text"})
    ET.SubElement(root, _q(ATOM, "updated")).text = datetime.now(UTC).isoformat()
    count = data.get("__count")
    if count is not None:
        ET.SubElement(root, _q(META, "count")).text = str(count)
    rows = data.get("results")
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, Mapping):
            _entry(row, types, root)
    following = data.get("__next")
    if isinstance(following, str):
        ET.SubElement(root, _q(ATOM, "link"), {"rel": "next", "href": following})
    return _document(root)


def entry(data: Json, types: TypeOf) -> bytes:
    return _document(_entry(data, types))


def error(message: str) -> bytes:
    """WCF Data Services' XML error."""
    root = ET.Element(_q(META, "error"))
    ET.SubElement(root, _q(META, "code"))
    lang = "{http://www.w3.org/XML/1998/namespace}lang"
    ET.SubElement(root, _q(META, "message"), {lang: "en-US"}).text = message
    return _document(root)


def _document(root: ET.Element) -> bytes:
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))
