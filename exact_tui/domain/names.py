"""Company names compared loosely: a hint for an operator linking customers by hand, never a
matching rule (two companies can share a name; the rules of docs/export.md §Customers link only on
VAT number and codes)."""

from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher

#: Legal forms and filler words that make unrelated names look alike ("… B.V.").
_NOISE = frozenset(
    {
        "bv", "nv", "vof", "cv", "bvba", "sprl", "srl", "sa", "gmbh", "ag", "ltd", "llc", "inc",
        "holding", "the", "de", "het", "en", "van", "der", "den", "la", "le", "les", "et",
        "and", "co", "cie", "zn", "group", "groep",
    }
)  # fmt: skip
_WORD = re.compile(r"[^\W_]+")
#: How alike two names must be to be offered as a hint.
SIMILAR = 0.6


def _plain(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def name_words(name: str) -> list[str]:
    """The words that tell a company apart, longest first: no legal forms or fillers,
    lower case, accents removed ("Müller & Zn B.V." → ["muller"])."""
    words = [w for w in _WORD.findall(_plain(name).replace(".", "")) if w not in _NOISE]
    return sorted(dict.fromkeys(w for w in words if len(w) > 1), key=len, reverse=True)


def name_similarity(a: str, b: str) -> float:
    """0.0 (nothing alike) to 1.0 (the same words), ignoring legal forms, case and accents."""
    left, right = " ".join(sorted(name_words(a))), " ".join(sorted(name_words(b)))
    if not left or not right:
        return 0.0
    return SequenceMatcher(None, left, right).ratio()
