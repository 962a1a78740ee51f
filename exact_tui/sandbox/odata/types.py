"""EDM types of the fields the sandbox serves, and the Python values that hold them."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from decimal import Decimal

# A stored field value: UUID for Edm.Guid, aware UTC datetime for Edm.DateTime, Decimal for
# amounts (Edm.Double on the wire), int for Int32/Int64.
Value = str | int | Decimal | bool | datetime | uuid.UUID | None
Record = dict[str, Value]


class FieldType(enum.Enum):
    GUID = ("Edm.Guid", "System.Guid")
    STRING = ("Edm.String", "System.String")
    BYTE = ("Edm.Byte", "System.Byte")
    INT16 = ("Edm.Int16", "System.Int16")
    INT = ("Edm.Int32", "System.Int32")
    INT64 = ("Edm.Int64", "System.Int64")
    DOUBLE = ("Edm.Double", "System.Double")
    BOOL = ("Edm.Boolean", "System.Boolean")
    DATETIME = ("Edm.DateTime", "System.DateTime")
    BINARY = ("Edm.Binary", "System.Byte[]")
    # A complex type of Exact's own (e.g. Exact.Web.Api.Models.HRM.DivisionClass).
    COMPLEX = ("", "System.Object")

    @classmethod
    def of(cls, name: str) -> FieldType:
        """The type a schema names: an Edm type, or else one of Exact's complex types."""
        for kind in cls:
            if kind.value[0] == name:
                return kind
        return cls.COMPLEX

    @property
    def clr(self) -> str:
        """The name Exact's (WCF) error messages use."""
        return self.value[1]

    @property
    def integral(self) -> bool:
        return self in (FieldType.BYTE, FieldType.INT16, FieldType.INT, FieldType.INT64)

    @property
    def numeric(self) -> bool:
        return self.integral or self is FieldType.DOUBLE
