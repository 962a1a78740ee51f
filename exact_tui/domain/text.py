"""The one place that makes untrusted text safe: at the door (ingest) and again where it is
shown, by the console (ui/render.py) and the command line (cli/output.py) alike; and the one
way text is cut to a width."""

from __future__ import annotations

import re
import unicodedata
from typing import overload

# C0 controls except tab/newline handling below, DEL, C1 controls, and the bidi
# embedding/override/isolate characters that can reorder what an operator reads.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# A whole ANSI/OSC escape sequence, so that its parameters do not survive as visible junk.
_ESCAPE_SEQUENCE = re.compile(
    r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC ... BEL or ST
    r"|\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
    r"|\x1b[@-Z\\-_]"  # other two-byte escapes
)


def clean_text(value: str, *, multiline: bool = False) -> str:
    """NFC-normalise and strip escape sequences and control characters.

    Markup-like text (``[bold]``) is kept literally: rendering must never interpret it.
    Tabs become spaces; newlines are kept only when ``multiline``.
    """
    text = unicodedata.normalize("NFC", value)
    text = _ESCAPE_SEQUENCE.sub("", text)
    text = text.replace("\r\n", "\n").replace("\t", " ")
    text = text.replace("\u2028", "\n").replace("\u2029", "\n")  # line and paragraph separators
    if not multiline:
        text = text.replace("\n", " ").replace("\r", " ")
    return _CONTROL.sub("", text)


def has_control(value: str) -> bool:
    return bool(_CONTROL.search(value) or "\x1b" in value or _SEPARATOR.search(value))


_SEPARATOR = re.compile("[\u2028\u2029]")
# What JSON leaves as it is but a terminal acts on (DEL, C1 controls such as the 8-bit CSI) or
# reads in another order (bidi controls, line separators); JSON escapes C0 controls itself.
_JSON_UNESCAPED = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def terminal_safe_json(encoded: str) -> str:
    """JSON text with every character a terminal could act on written as a `\\uXXXX` escape.

    The JSON means exactly the same (any character may be escaped in a string, and these can
    only occur in strings), so `--json` output stays exact while printing it does nothing."""
    return _JSON_UNESCAPED.sub(lambda match: f"\\u{ord(match.group()):04x}", encoded)


def counted(count: int, word: str, words: str | None = None) -> str:
    """A count with its noun, as people write it: `1 job`, `4 jobs`, `1,204 jobs`."""
    return f"{count:,} {word if count == 1 else (words or word + 's')}"


@overload
def cut(text: str, width: int, *, mark: str = "") -> str: ...
@overload
def cut(text: str | None, width: int, *, mark: str = "") -> str | None: ...
def cut(text: str | None, width: int, *, mark: str = "") -> str | None:
    """`text` in at most `width` characters, as a column or a line holds it: longer text is cut
    short and ends in `mark` ("…" shows that it was cut). None stays None."""
    if text is None or len(text) <= width:
        return text
    return text[: width - len(mark)] + mark


def clean_line(value: object, width: int) -> str | None:
    """An untrusted value (from Exact) as one stored line: cleaned, trimmed and cut to
    `width`; None when nothing is left."""
    if value is None:
        return None
    return cut(clean_text(str(value)).strip(), width) or None
