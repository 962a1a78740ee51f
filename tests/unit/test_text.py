import json

import pytest

from exact_tui.domain.text import clean_text, has_control, terminal_safe_json


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
