"""Company names compared loosely: the hint the link picker shows beside the matching rules."""

from __future__ import annotations

import pytest

from exact_tui.domain.names import SIMILAR, name_similarity, name_words


def test_words_drop_legal_forms_case_and_accents() -> None:
    assert name_words("Bakkerij Müller & Zn B.V.") == ["bakkerij", "muller"]
    assert name_words("'t Hoekje V.O.F.") == ["hoekje"]
    assert name_words("B.V.") == []


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Drukkerij Hendriks B.V.", "Drukkerij Hendriks Holding"),
        ("Müller GmbH", "Muller"),
        ("De Vries & Zn", "de vries"),
        ("Fotografie Wouters B.V.", "Wouters Fotografie"),
    ],
)
def test_the_same_company_written_differently_is_similar(a: str, b: str) -> None:
    assert name_similarity(a, b) >= SIMILAR


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Drukkerij Hendriks B.V.", "Bakkerij Jansen B.V."),
        ("Studio Noord", "Kantoorhuis Zuidas"),
        ("B.V.", "Studio Noord"),
    ],
)
def test_different_companies_are_not(a: str, b: str) -> None:
    assert name_similarity(a, b) < SIMILAR
