"""OData v2 `$filter`: a tokenizer, a recursive-descent parser and a typed compiler.

Grammar (lowest precedence first):

    or_expr    := and_expr ('or' and_expr)*
    and_expr   := not_expr ('and' not_expr)*
    not_expr   := 'not' not_expr | comparison
    comparison := operand (('eq'|'ne'|'gt'|'ge'|'lt'|'le') operand)?
    operand    := '(' or_expr ')' | literal | name '(' args ')' | name

Literals: 'text' (with '' for a quote), guid'…', datetime'…', integers (with an optional L),
decimals (with an optional M/D/F), true, false, null. Functions: trim, tolower, toupper, length,
indexof, startswith, endswith; substringof answers 501, as it did on Exact (RBI#9).
"""

from __future__ import annotations

import enum
import operator
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from exact_tui.sandbox import assumptions
from exact_tui.sandbox.errors import ApiError, bad_request
from exact_tui.sandbox.odata.types import FieldType, Record, Value

MAX_DEPTH = 64
COMPARISONS = frozenset({"eq", "ne", "gt", "ge", "lt", "le"})
ARITHMETIC = frozenset({"add", "sub", "mul", "div", "mod"})

Predicate = Callable[[Record], bool]
Getter = Callable[[Record], Value]


class Tok(enum.Enum):
    LITERAL = enum.auto()
    NAME = enum.auto()
    LPAREN = enum.auto()
    RPAREN = enum.auto()
    COMMA = enum.auto()
    END = enum.auto()


@dataclass(frozen=True, slots=True)
class Token:
    kind: Tok
    text: str
    pos: int
    value: Value = None
    type: FieldType | None = None


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?([LlMmDdFf])?")
_INT32_MAX = 2**31 - 1


def _syntax_error(pos: int, text: str) -> ApiError:
    return bad_request(f"Syntax error at position {pos} in '{text}'.")


def _read_quoted(text: str, start: int) -> tuple[str, int]:
    """Reads '…' starting at the quote; returns the unescaped text and the end position."""
    out: list[str] = []
    pos = start + 1
    while pos < len(text):
        char = text[pos]
        if char == "'":
            if text.startswith("''", pos):
                out.append("'")
                pos += 2
                continue
            return "".join(out), pos + 1
        out.append(char)
        pos += 1
    raise bad_request(f"Unterminated string literal at position {start} in '{text}'.")


def parse_datetime_literal(raw: str) -> datetime:
    """`datetime'2015-01-01'`, `datetime'2024-01-01T00:00:00'`, with an optional offset."""
    moment = datetime.fromisoformat(raw)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _typed_literal(prefix: str, raw: str, pos: int, text: str) -> Token:
    kind = prefix.lower()
    source = f"{prefix}'{raw}'"
    if kind == "guid":
        try:
            return Token(Tok.LITERAL, source, pos, uuid.UUID(raw), FieldType.GUID)
        except ValueError:
            raise bad_request(
                f"Unrecognized 'Edm.Guid' literal '{source}' at '{pos}' in '{text}'."
            ) from None
    if kind == "datetime":
        try:
            return Token(Tok.LITERAL, source, pos, parse_datetime_literal(raw), FieldType.DATETIME)
        except ValueError:
            raise bad_request(
                f"Unrecognized 'Edm.DateTime' literal '{source}' at '{pos}' in '{text}'."
            ) from None
    raise bad_request(f"Unrecognized literal '{source}' at '{pos}' in '{text}'.")


def _number(match: re.Match[str], pos: int) -> Token:
    raw = match.group()
    suffix = (match.group(1) or "").upper()
    digits = raw[:-1] if suffix else raw
    if suffix == "L":
        return Token(Tok.LITERAL, raw, pos, int(digits), FieldType.INT64)
    if suffix or any(c in digits for c in ".eE"):
        try:
            return Token(Tok.LITERAL, raw, pos, Decimal(digits), FieldType.DOUBLE)
        except InvalidOperation:
            raise _syntax_error(pos, raw) from None
    value = int(digits)
    kind = FieldType.INT if abs(value) <= _INT32_MAX else FieldType.INT64
    return Token(Tok.LITERAL, raw, pos, value, kind)


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    punctuation = {"(": Tok.LPAREN, ")": Tok.RPAREN, ",": Tok.COMMA}
    while pos < len(text):
        char = text[pos]
        if char.isspace():
            pos += 1
        elif char in punctuation:
            tokens.append(Token(punctuation[char], char, pos))
            pos += 1
        elif char == "'":
            value, end = _read_quoted(text, pos)
            tokens.append(Token(Tok.LITERAL, text[pos:end], pos, value, FieldType.STRING))
            pos = end
        elif char.isdigit() or (char == "-" and text[pos + 1 : pos + 2].isdigit()):
            match = _NUMBER.match(text, pos)
            if match is None:
                raise _syntax_error(pos, text)
            tokens.append(_number(match, pos))
            pos = match.end()
        else:
            name = _NAME.match(text, pos)
            if name is None:
                raise bad_request(
                    f"Syntax error: character '{char}' is not valid at position {pos} in '{text}'."
                )
            end = name.end()
            if text.startswith("'", end):
                raw, after = _read_quoted(text, end)
                tokens.append(_typed_literal(name.group(), raw, pos, text))
                pos = after
            else:
                tokens.append(Token(Tok.NAME, name.group(), pos))
                pos = end
    tokens.append(Token(Tok.END, "", len(text)))
    return tokens


# -- Syntax tree ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Lit:
    value: Value
    type: FieldType | None  # None for null
    pos: int


@dataclass(frozen=True, slots=True)
class Prop:
    name: str
    pos: int


@dataclass(frozen=True, slots=True)
class Call:
    name: str
    args: tuple[Node, ...]
    pos: int


@dataclass(frozen=True, slots=True)
class Compare:
    op: str
    left: Node
    right: Node
    pos: int


@dataclass(frozen=True, slots=True)
class Logical:
    op: str
    left: Node
    right: Node
    pos: int


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node
    pos: int


Node = Lit | Prop | Call | Compare | Logical | Not


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0
        self.depth = 0

    def peek(self) -> Token:
        return self.tokens[self.index]

    def take(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def keyword(self, *words: str) -> Token | None:
        token = self.peek()
        if token.kind is Tok.NAME and token.text in words:
            return self.take()
        return None

    def expect(self, kind: Tok) -> Token:
        token = self.take()
        if token.kind is not kind:
            raise _syntax_error(token.pos, self.text)
        return token

    def parse(self) -> Node:
        node = self.or_expr()
        token = self.peek()
        if token.kind is not Tok.END:
            raise _syntax_error(token.pos, self.text)
        return node

    def or_expr(self) -> Node:
        node = self.and_expr()
        while (op := self.keyword("or")) is not None:
            node = Logical("or", node, self.and_expr(), op.pos)
        return node

    def and_expr(self) -> Node:
        node = self.not_expr()
        while (op := self.keyword("and")) is not None:
            node = Logical("and", node, self.not_expr(), op.pos)
        return node

    def not_expr(self) -> Node:
        op = self.keyword("not")
        if op is None:
            return self.comparison()
        with self.nested(op.pos):
            return Not(self.not_expr(), op.pos)

    def comparison(self) -> Node:
        left = self.operand()
        op = self.keyword(*COMPARISONS)
        if op is not None:
            return Compare(op.text, left, self.operand(), op.pos)
        arithmetic = self.keyword(*ARITHMETIC)
        if arithmetic is not None:
            raise bad_request(
                f"The operator '{arithmetic.text}' is not supported at position "
                f"{arithmetic.pos} in '{self.text}'."
            )
        return left

    def operand(self) -> Node:
        token = self.take()
        if token.kind is Tok.LPAREN:
            with self.nested(token.pos):
                node = self.or_expr()
            self.expect(Tok.RPAREN)
            return node
        if token.kind is Tok.LITERAL:
            return Lit(token.value, token.type, token.pos)
        if token.kind is not Tok.NAME:
            raise _syntax_error(token.pos, self.text)
        if token.text in ("true", "false"):
            return Lit(token.text == "true", FieldType.BOOL, token.pos)
        if token.text == "null":
            return Lit(None, None, token.pos)
        if self.peek().kind is Tok.LPAREN:
            self.take()
            with self.nested(token.pos):
                args = self.arguments()
            return Call(token.text, args, token.pos)
        return Prop(token.text, token.pos)

    def arguments(self) -> tuple[Node, ...]:
        args: list[Node] = []
        if self.peek().kind is Tok.RPAREN:
            self.take()
            return ()
        while True:
            args.append(self.or_expr())
            token = self.take()
            if token.kind is Tok.RPAREN:
                return tuple(args)
            if token.kind is not Tok.COMMA:
                raise _syntax_error(token.pos, self.text)

    def nested(self, pos: int) -> _Depth:
        return _Depth(self, pos)


class _Depth:
    """Bounds the nesting so a hostile filter gets a 400, not a RecursionError."""

    def __init__(self, parser: _Parser, pos: int) -> None:
        self.parser = parser
        self.pos = pos

    def __enter__(self) -> None:
        self.parser.depth += 1
        if self.parser.depth > MAX_DEPTH:
            raise bad_request(f"Recursion limit reached at position {self.pos}.")

    def __exit__(self, *_: object) -> None:
        self.parser.depth -= 1


def parse_filter(text: str) -> Node:
    return _Parser(text).parse()


def parse_literals(text: str) -> list[Value]:
    """A comma-separated list of literals, as in a composite `$skiptoken`."""
    parser = _Parser(text)
    values: list[Value] = []
    while True:
        node = parser.operand()
        if not isinstance(node, Lit):
            raise bad_request(f"Invalid $skiptoken '{text}'.")
        values.append(node.value)
        token = parser.take()
        if token.kind is Tok.END:
            return values
        if token.kind is not Tok.COMMA:
            raise bad_request(f"Invalid $skiptoken '{text}'.")


def fields_used(node: Node) -> Iterator[str]:
    """Every property the expression names."""
    match node:
        case Prop(name=name):
            yield name
        case Call(args=args):
            for arg in args:
                yield from fields_used(arg)
        case Compare(left=left, right=right) | Logical(left=left, right=right):
            yield from fields_used(left)
            yield from fields_used(right)
        case Not(operand=operand):
            yield from fields_used(operand)
        case Lit():
            return


# -- Compiler ---------------------------------------------------------------------------------


def _boolean_expected(pos: int) -> ApiError:
    return bad_request(f"Expression of type 'System.Boolean' expected at position {pos}.")


def _clr(kind: FieldType | None) -> str:
    return "System.Object" if kind is None else kind.clr


def _comparable(value: Value) -> Value:
    if isinstance(value, str):
        return assumptions.collate(value)
    return value


_ORDERINGS: dict[str, Callable[[Any, Any], bool]] = {
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}


def _order(op: str, left: Value, right: Value) -> bool:
    if left is None or right is None:
        return False
    # Same-typed values after the compiler's checks; Python's ordering is the domain's.
    return _ORDERINGS[op](_comparable(left), _comparable(right))


def _equal(left: Value, right: Value) -> bool:
    if left is None or right is None:
        return left is None and right is None
    return _comparable(left) == _comparable(right)


class _Compiler:
    def __init__(self, fields: Mapping[str, FieldType], type_name: str, text: str) -> None:
        self.fields = fields
        self.type_name = type_name
        self.text = text

    def predicate(self, node: Node) -> Predicate:
        kind, getter = self.expr(node)
        if kind is not FieldType.BOOL:
            raise _boolean_expected(0)
        return lambda record: getter(record) is True

    def expr(self, node: Node) -> tuple[FieldType | None, Getter]:
        match node:
            case Lit(value=value, type=kind):
                return kind, lambda _record: value
            case Prop(name=name, pos=pos):
                if name not in self.fields:
                    raise bad_request(
                        f"No property '{name}' exists in type '{self.type_name}' at position {pos}."
                    )
                return self.fields[name], lambda record: record.get(name)
            case Call():
                return self.call(node)
            case Compare():
                return FieldType.BOOL, self.compare(node)
            case Logical(op=op, left=left, right=right):
                first, second = self.boolean(left), self.boolean(right)
                if op == "and":
                    return FieldType.BOOL, lambda r: first(r) is True and second(r) is True
                return FieldType.BOOL, lambda r: first(r) is True or second(r) is True
            case Not(operand=operand):
                inner = self.boolean(operand)
                return FieldType.BOOL, lambda r: inner(r) is not True
        raise _syntax_error(0, self.text)

    def boolean(self, node: Node) -> Getter:
        kind, getter = self.expr(node)
        if kind is not FieldType.BOOL:
            raise _boolean_expected(node.pos)
        return getter

    def compare(self, node: Compare) -> Getter:
        left_kind, left = self.expr(node.left)
        right_kind, right = self.expr(node.right)
        left, right = self.coerce(node, left_kind, left, right_kind, right)
        if node.op == "eq":
            return lambda r: _equal(left(r), right(r))
        if node.op == "ne":
            return lambda r: not _equal(left(r), right(r))
        op = node.op
        return lambda r: _order(op, left(r), right(r))

    def coerce(
        self,
        node: Compare,
        left_kind: FieldType | None,
        left: Getter,
        right_kind: FieldType | None,
        right: Getter,
    ) -> tuple[Getter, Getter]:
        if left_kind is None or right_kind is None:
            if node.op in ("eq", "ne"):
                return left, right
        elif left_kind is right_kind or (left_kind.numeric and right_kind.numeric):
            return left, right
        elif assumptions.BOOLEAN_ACCEPTS_INTEGERS and {left_kind, right_kind} == {
            FieldType.BOOL,
            FieldType.INT,
        }:
            return _as_bool(left), _as_bool(right)
        raise bad_request(
            f"Operator '{node.op}' incompatible with operand types '{_clr(left_kind)}' and "
            f"'{_clr(right_kind)}' at position {node.pos}."
        )

    def call(self, node: Call) -> tuple[FieldType | None, Getter]:
        if node.name == "substringof":
            raise ApiError(501, "The method 'substringof' is not implemented.")
        if node.name not in _UNARY and node.name not in _BINARY:
            raise bad_request(f"Unknown function '{node.name}' at position {node.pos}.")
        if len(node.args) != (1 if node.name in _UNARY else 2):
            raise bad_request(
                f"No function signature for the function with name '{node.name}' matches the "
                f"specified arguments at position {node.pos}."
            )
        getters = [self.string_arg(node, arg) for arg in node.args]
        if node.name in _UNARY:
            return self.unary(node.name, getters[0])
        return _BINARY[node.name], self.binary(node.name, getters[0], getters[1])

    def string_arg(self, node: Call, arg: Node) -> Getter:
        kind, getter = self.expr(arg)
        if kind not in (FieldType.STRING, None):
            raise bad_request(
                f"No function signature for the function with name '{node.name}' matches the "
                f"specified arguments at position {node.pos}."
            )
        return getter

    @staticmethod
    def unary(name: str, arg: Getter) -> tuple[FieldType, Getter]:
        function = _UNARY[name]

        def apply(record: Record) -> Value:
            value = arg(record)
            return function(value) if isinstance(value, str) else None

        return (FieldType.INT if name == "length" else FieldType.STRING), apply

    @staticmethod
    def binary(name: str, first: Getter, second: Getter) -> Getter:
        def apply(record: Record) -> Value:
            haystack, needle = first(record), second(record)
            if not isinstance(haystack, str) or not isinstance(needle, str):
                return None
            # The collation is case-insensitive, so these functions are too.
            haystack, needle = haystack.casefold(), needle.casefold()
            if name == "indexof":
                return haystack.find(needle)
            if name == "startswith":
                return haystack.startswith(needle)
            return haystack.endswith(needle)

        return apply


_UNARY: dict[str, Callable[[str], Value]] = {
    "trim": str.strip,
    "tolower": str.lower,
    "toupper": str.upper,
    "length": len,
}
_BINARY = {"indexof": FieldType.INT, "startswith": FieldType.BOOL, "endswith": FieldType.BOOL}


def _as_bool(getter: Getter) -> Getter:
    def apply(record: Record) -> Value:
        value = getter(record)
        return bool(value) if isinstance(value, int) else value

    return apply


def compile_filter(
    node: Node, fields: Mapping[str, FieldType], type_name: str, text: str
) -> Predicate:
    """Type-checks the tree against the entity's fields and returns a row predicate."""
    return _Compiler(fields, type_name, text).predicate(node)
