"""Citations of the project's own documents point at pages and sections that exist: code and
docs cite `docs/<page>.md §<Section>`, and a section that was renamed or removed fails here."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
_PAGE = re.compile(r"(?<![\w/.-])(?:docs/)?([a-z][a-z-]*)\.md")
_SECTION = re.compile(r"§\s*([^§\n]+)")
_HEADING = re.compile(r"^#{1,4} (.+)$", re.M)


def _headings(page: str) -> list[str]:
    return _HEADING.findall((DOCS / f"{page}.md").read_text(encoding="utf-8"))


def _citations() -> list[tuple[str, str, str]]:
    """(where, page, the text after §) for every § that follows a page named on its line."""
    found = []
    files = [*(ROOT / "exact_tui").rglob("*.py"), *(ROOT / "tests").rglob("*.py")]
    files += [*DOCS.glob("*.md"), ROOT / "README.md"]
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            pages = [(m.end(), m.group(1)) for m in _PAGE.finditer(line)]
            for section in _SECTION.finditer(line):
                before = [page for end, page in pages if end <= section.start()]
                if before and (DOCS / f"{before[-1]}.md").exists():
                    where = f"{path.relative_to(ROOT)}:{number}"
                    found.append((where, before[-1], section.group(1)))
    return found


def test_every_cited_section_exists() -> None:
    citations = _citations()
    assert len(citations) > 40  # the scan finds the citations it is meant to check
    wrong = [
        f"{where}: {page}.md §{text.strip()[:40]}"
        for where, page, text in citations
        if not any(text.startswith(heading) for heading in _headings(page))
    ]
    assert wrong == []


def test_no_citation_of_documents_outside_the_repository() -> None:
    outside = re.compile(r"design §|design\.md|API doc|API facts|pitfall \d|exact-online-api\.md")
    hits = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in [*(ROOT / "exact_tui").rglob("*.py"), *DOCS.glob("*.md")]
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if outside.search(line)
    ]
    assert hits == []
