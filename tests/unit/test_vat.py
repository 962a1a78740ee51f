import pytest

from exact_tui.domain.vat import is_valid_vat, normalise_vat


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("NL 0030.72.558 B01", None, "NL003072558B01"),
        ("nl003072558b01", None, "NL003072558B01"),
        ("0403.170.701", "BE", "BE0403170701"),
        ("BE 403 170 701", None, "BE0403170701"),
        ("", None, None),
        (None, "NL", None),
    ],
)
def test_normalise_vat(raw: str | None, country: str | None, expected: str | None) -> None:
    assert normalise_vat(raw, country) == expected


def test_validity_uses_checksums() -> None:
    assert is_valid_vat("BE0403170701")
    assert not is_valid_vat("BE0403170702")
