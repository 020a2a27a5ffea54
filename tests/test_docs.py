"""The docs a newcomer reads: short README, one page per pattern with the same sections, links
that resolve, and no config, picture or price typed by hand where the suite can generate it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tools.doc_tables import find_tables, markdown_files

ROOT = Path(__file__).resolve().parent.parent
PATTERNS = ("staticIp", "ipRestrictedApi", "edge", "privateEndpoint", "staticEgress", "ipRangeSync")
# The sections every pattern page has, in this order (others may sit between them).
SECTIONS = (
    "Request path",
    "Minimal config",
    "Options",
    "Outputs",
    "Default settings",
    "Costs",
    "Caveats",
)
# tests/ holds no docs; preview/ is what tools.preview writes (not in the repository).
DOCS = [p for p in markdown_files(ROOT) if p.parts[len(ROOT.parts)] not in ("tests", "preview")]


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _headings(text: str) -> list[tuple[int, str]]:
    body = re.sub(r"```.*?```", "", text, flags=re.S)  # a '# comment' in a code block is no heading
    return [
        (len(m.group(1)), m.group(2).strip()) for m in re.finditer(r"^(#{1,6}) (.+)$", body, re.M)
    ]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"<[^>]+>", "", heading).lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for _, heading in _headings(text):
        base = slug(heading)
        count = seen.get(base, 0)
        found.add(base if count == 0 else f"{base}-{count}")
        seen[base] = count + 1
    return found


def test_the_readme_is_short() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 320, f"README.md has {len(lines)} lines; move detail to docs/"


@pytest.mark.parametrize("key", PATTERNS)
def test_each_pattern_has_a_page_with_the_same_sections(key: str) -> None:
    page = ROOT / "docs" / "patterns" / f"{key}.md"
    text = page.read_text()
    level2 = [h for level, h in _headings(text) if level == 2]
    positions = []
    for section in SECTIONS:
        matching = [i for i, h in enumerate(level2) if h == section or h.startswith(section + " ")]
        assert matching, f"{_rel(page)}: no '## {section}' section"
        positions.append(matching[0])
    assert positions == sorted(positions), f"{_rel(page)}: sections out of order: {level2}"
    blocks = {(t.kind, t.key) for t in find_tables(text, _rel(page))}
    assert ("options", key) in blocks, f"{_rel(page)}: no generated options table for {key}"
    assert any(kind == "cost" for kind, _ in blocks), f"{_rel(page)}: no generated cost block"
    assert any(kind == "config" for kind, _ in blocks), f"{_rel(page)}: no quoted config"
    assert "```mermaid" in text, f"{_rel(page)}: no request-path picture"


def test_the_readme_links_every_pattern_page() -> None:
    text = (ROOT / "README.md").read_text()
    for key in PATTERNS:
        assert f"docs/patterns/{key}.md" in text


_LINK = re.compile(
    r"\[[^\]]*\]\((?!https?://|mailto:)([^)\s]+)\)|^\[[^\]]+\]: (?!https?://)(\S+)", re.M
)


@pytest.mark.parametrize("page", DOCS, ids=_rel)
def test_relative_links_resolve_to_a_file_and_heading_of_the_repository(page: Path) -> None:
    text = page.read_text()
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    for match in _LINK.finditer(prose):
        target = match.group(1) or match.group(2)
        file_part, _, anchor = target.partition("#")
        path = (page.parent / file_part).resolve() if file_part else page
        assert path.is_relative_to(ROOT), f"{_rel(page)}: {target} points outside the repository"
        assert path.exists(), f"{_rel(page)}: {target}: no such file"
        if anchor and path.suffix == ".md":
            assert anchor in anchors(path.read_text()), f"{_rel(page)}: {target}: no such heading"


@pytest.mark.parametrize("page", DOCS, ids=_rel)
def test_every_yaml_block_is_a_quoted_stack_file(page: Path) -> None:
    """A YAML block of the docs is a generated ``config:`` block (the file, verbatim)."""
    text = page.read_text()
    quoted = [t.body(text) for t in find_tables(text, _rel(page)) if t.kind == "config"]
    outside = text
    for body in quoted:
        outside = outside.replace(body, "")
    stray = re.findall(r"```ya?ml\n(.*?)```", outside, flags=re.S)
    assert not stray, (
        f"{_rel(page)}: YAML typed by hand (quote a file, <!-- config:... -->): {stray[0][:200]}"
    )
    for body in quoted:
        assert isinstance(yaml.safe_load(body.split("```yaml\n", 1)[1].rsplit("```", 1)[0]), dict)
