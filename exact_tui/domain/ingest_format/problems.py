"""What is wrong with a file, located by line or JSON path, and pydantic's errors told in
the format's own words."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass

from pydantic import BaseModel, ValidationError

from exact_tui.domain.ingest_format.fields import describe, safe_text
from exact_tui.domain.ingest_format.records import MAX_LINES, MODELS, InvoiceLineIn, RecordType


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file, located by line (JSON Lines, syntax) or JSON path."""

    message: str
    path: str = ""
    line: int | None = None
    column: int | None = None

    def render(self, source: str) -> str:
        head = source
        if self.line is not None:
            head += f", line {self.line}"
        if self.column is not None:
            head += f", column {self.column}"
        if self.path:
            head += f": {self.path}"
        return f"{head}: {self.message}"


class FormatError(ValueError):
    """The file is refused; `problems` says every reason found."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a record sits in its file: an index into its JSON array, or a JSON Lines line."""

    record: RecordType
    index: int
    line: int | None = None

    def problem(self, message: str, field_path: str = "") -> Problem:
        if self.line is None:
            path = f"{self.record.array}[{self.index}]"
            return Problem(message, f"{path}.{field_path}" if field_path else path)
        path = f"{self.record.value}.{field_path}" if field_path else self.record.value
        return Problem(message, path, line=self.line)

    def describe(self) -> str:
        """For "first at …" in duplicate messages."""
        if self.line is None:
            return f"{self.record.array}[{self.index}]"
        return f"line {self.line}"


def translate(exc: ValidationError, origin: Origin) -> Iterator[Problem]:
    """pydantic's errors in the words of this format: the field and what was expected."""
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        in_line = len(loc) > 1 and loc[0] == "lines"
        model: type[BaseModel] = InvoiceLineIn if in_line else MODELS[origin.record]
        label = "invoice line" if in_line else origin.record.value.replace("_", " ")
        kind = error["type"]
        given = error.get("input")
        ctx = error.get("ctx") or {}
        if kind == "ingest":
            message = error["msg"]
        elif kind == "missing":
            name = str(loc[-1])
            expected = _EXPECTED.get(name, f"the {label}'s {name.replace('_', ' ')}")
            message = f"required field missing; expected {expected}"
        elif kind == "extra_forbidden":
            message = _unknown_field(str(loc[-1]), model)
        elif kind in ("model_type", "model_attributes_type", "dict_type"):
            message = f"expected an object, got {describe(given)}"
        elif kind == "list_type":
            message = f"expected a list, got {describe(given)}"
        elif kind == "too_short":
            message = "expected at least one line, got none"
        elif kind == "too_long":
            message = f"expected at most {MAX_LINES:,} lines, got {ctx.get('actual_length'):,}"
        else:
            message = error["msg"][:1].lower() + error["msg"][1:]
        yield origin.problem(message, _path(loc))


# What a missing required field should have held, for the message.
# (Fields not named here read "the invoice's number", "the invoice line's gl code".)
_EXPECTED = {
    "iban": "an IBAN",
    "organization": "the code of an organization",
    "customer": "the number of a customer",
    "bank_account": "the IBAN of a bank account",
    "invoice": "the number of an invoice",
    "date": "a date as YYYY-MM-DD",
    "amount": "an amount like 12.50",
    "kind": '"write_off" or "collection_costs"',
    "lines": "a list of at least one line",
}


def _path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{safe_text(part)}" if path else safe_text(part)
    return path


def _unknown_field(name: str, model: type[BaseModel]) -> str:
    known = list(model.model_fields)
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        return f"unknown field; did you mean {close[0]}?"
    return f"unknown field; expected one of {', '.join(known)}"
