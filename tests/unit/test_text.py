import json

import pytest

from exact_tui.domain.text import clean_line, clean_text, cut, has_control, terminal_safe_json
from exact_tui.store.models import Audit, ExportEvent, width


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("[@click=app.quit]x", "[@click=app.quit]x"),
        ("[/bold] Jansen", "[/bold] Jansen"),
        ("a\x1b[2Jb", "ab"),
        ("\x1b]8;;https://evil.test\x07link\x1b]8;;\x07", "link"),
        ("abc\u202edef", "abcdef"),
        ("tab\there", "tab here"),
        ("bell\x07 del\x7f c1\x9b", "bell del c1"),
        ("line\nbreak", "line break"),
        ("Cafe\u0301", "Café"),
        ("line\u2028separator\u2029paragraph", "line separator paragraph"),
        ("\u2066isolate\u2069 \u200fmark", "isolate mark"),
    ],
)
def test_clean_text(raw: str, expected: str) -> None:
    cleaned = clean_text(raw)
    assert cleaned == expected
    assert not has_control(cleaned)


def test_multiline_keeps_newlines_only() -> None:
    assert clean_text("a\r\nb\x1b[31mc", multiline=True) == "a\nbc"


def test_separators_are_newlines_when_lines_are_kept() -> None:
    assert clean_text("a\u2028b", multiline=True) == "a\nb"


def test_terminal_safe_json_means_the_same_and_carries_nothing_a_terminal_acts_on() -> None:
    value = {"cause\u202e": "\x1b]52;c;aGk=\x07 \x9b2J \u2066x\u2069 \x7f é ✔ \u2028"}
    encoded = terminal_safe_json(json.dumps(value, ensure_ascii=False))
    assert json.loads(encoded) == value
    assert not has_control(encoded)
    assert "é ✔" in encoded  # readable text stays as it is


def test_cut_keeps_what_fits_and_cuts_the_rest_to_the_width() -> None:
    assert cut("abc", 3) == "abc"
    assert cut("abcd", 3) == "abc"
    assert cut("abcd", 3, mark="…") == "ab…"  # the mark counts in the width
    assert cut("abc", 3, mark="…") == "abc"
    assert cut(None, 3) is None


def test_clean_line_is_one_trimmed_line_or_nothing() -> None:
    assert clean_line("  Jan\x1b[2J\nJansen  ", 200) == "Jan Jansen"
    assert clean_line("x" * 300, 200) == "x" * 200
    assert clean_line("   ", 200) is None
    assert clean_line(None, 200) is None


def test_width_is_the_declared_column_width() -> None:
    assert width(ExportEvent.message) == 2000
    assert width(Audit.actor) == 100
