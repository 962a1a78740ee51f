import pytest

from exact_tui.domain.text import clean_text, has_control


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
    ],
)
def test_clean_text(raw: str, expected: str) -> None:
    cleaned = clean_text(raw)
    assert cleaned == expected
    assert not has_control(cleaned)


def test_multiline_keeps_newlines_only() -> None:
    assert clean_text("a\r\nb\x1b[31mc", multiline=True) == "a\nbc"
