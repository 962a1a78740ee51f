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
    INT = ("Edm.Int32", "System.Int32")
    INT64 = ("Edm.Int64", "System.Int64")
    DOUBLE = ("Edm.Double", "System.Double")
    BOOL = ("Edm.Boolean", "System.Boolean")
    DATETIME = ("Edm.DateTime", "System.DateTime")

    @property
    def clr(self) -> str:
        """The name Exact's (WCF) error messages use."""
        return self.value[1]

    @property
    def numeric(self) -> bool:
        return self in (FieldType.INT, FieldType.INT64, FieldType.DOUBLE)
