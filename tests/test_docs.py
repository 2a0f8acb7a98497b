"""The docs hold together: every relative link and anchor resolves, and the README stays a front door.

Markdown is parsed with markdown-it-py (CommonMark and tables, as GitHub renders them), so links
in code blocks and code spans are not links, and headings are the rendered text. Anchors follow
GitHub's rule: the heading's text in lowercase, punctuation but ``-`` and ``_`` dropped, spaces
turned into ``-``, a repeated heading numbered ``-1``, ``-2``. External links are not fetched (no
network in CI): they only have to be well-formed URLs.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

ROOT = Path(__file__).resolve().parent.parent
README_MAX_LINES = 200

MARKDOWN = MarkdownIt("commonmark").enable("table")


def checked_files() -> list[Path]:
    files = [
        ROOT / "README.md",
        ROOT / "SECURITY.md",
        ROOT / "benchmarks" / "README.md",
        ROOT / "signoff" / "sandbox" / "README.md",
    ]
    files += sorted((ROOT / "docs").glob("**/*.md"))
    files += sorted((ROOT / "examples").glob("**/README.md"))
    return files


@dataclass(frozen=True)
class Link:
    target: str
    line: int


def slug(heading: str) -> str:
    """GitHub's anchor for a heading's rendered text."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _inline_text(token: Token) -> str:
    return "".join(child.content for child in token.children or () if child.type in ("text", "code_inline"))


def _tokens(path: Path) -> list[Token]:
    return MARKDOWN.parse(path.read_text(encoding="utf-8"))


HTML_ANCHOR = re.compile(r"""<a\s+(?:id|name)=["']([^"']+)["']""")


def anchors(path: Path) -> set[str]:
    """The anchors a page has: its headings' slugs, and ``<a id="…">`` anchors."""
    tokens = _tokens(path)
    seen: dict[str, int] = {}
    found: set[str] = set()
    for opening, inline in itertools.pairwise(tokens):
        if opening.type != "heading_open":
            continue
        base = slug(_inline_text(inline))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    html = [token for token in tokens if token.type == "html_block"]
    html += [child for token in tokens for child in token.children or () if child.type == "html_inline"]
    found.update(anchor for token in html for anchor in HTML_ANCHOR.findall(token.content))
    return found


def links(path: Path) -> list[Link]:
    found: list[Link] = []
    for token in _tokens(path):
        if token.type != "inline":
            continue
        line = token.map[0] + 1 if token.map else 0
        for child in token.children or ():
            if child.type == "link_open":
                found.append(Link(str(child.attrs["href"]), line))
            elif child.type == "image":
                found.append(Link(str(child.attrs["src"]), line))
    return found


def link_problems(path: Path) -> list[str]:
    """What is wrong with the links of one file: one line per broken link, empty when all resolve."""
    problems: list[str] = []
    for link in links(path):
        where = f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}:{link.line}: {link.target}"
        parts = urlsplit(link.target)
        if parts.scheme in ("http", "https"):
            if not parts.netloc or " " in link.target:
                problems.append(f"{where}: not a well-formed URL")
            continue
        if parts.scheme == "mailto":
            if "@" not in parts.path:
                problems.append(f"{where}: not a mail address")
            continue
        if parts.scheme or parts.netloc:
            problems.append(f"{where}: a link of an unexpected kind")
            continue
        target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
        if not target.exists():
            problems.append(f"{where}: {target} does not exist")
            continue
        if parts.fragment:
            if target.suffix != ".md":
                problems.append(f"{where}: an anchor into a file that is not markdown")
            elif unquote(parts.fragment) not in anchors(target):
                problems.append(f"{where}: no heading with the anchor #{parts.fragment} in {target.name}")
    return problems


@pytest.mark.parametrize("path", checked_files(), ids=lambda path: str(path.relative_to(ROOT)))
def test_every_relative_link_and_anchor_resolves(path: Path) -> None:
    assert path.exists(), f"{path} is gone: update checked_files()"
    assert link_problems(path) == []


def test_the_readme_is_a_front_door_of_at_most_200_lines() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; the rest belongs in docs/"


# The README's sections before they moved to docs/ (issue 20): links to them from elsewhere still land.
FORMER_README_SECTIONS = (
    "two-commands",
    "using-it-with-your-slack-workspace",
    "your-temporal-cluster",
    "the-engine-and-its-database",
    "search-attributes-lists-that-scale",
    "answers-typed-in-the-thread",
    "agents-ask-before-they-act",
    "use-signoff-from-your-own-workflows",
    "how-a-report-moves",
    "token-usage-cost-and-a-budget",
    "metrics-and-health",
    "tracing",
    "security",
    "the-code",
    "from-the-article-kept-and-fixed",
    "failures",
    "temporal-or-dbos",
    "performance",
    "development",
)


def test_links_to_the_readmes_former_sections_still_land() -> None:
    assert sorted(set(FORMER_README_SECTIONS) - anchors(ROOT / "README.md")) == []


def test_the_readme_links_every_docs_page() -> None:
    linked = {
        (ROOT / urlsplit(link.target).path).resolve()
        for link in links(ROOT / "README.md")
        if not urlsplit(link.target).scheme
    }
    pages = {page.resolve() for page in (ROOT / "docs").glob("*.md")}
    assert sorted(str(page.relative_to(ROOT)) for page in pages - linked) == []


def _code_map() -> list[str]:
    # The first column of architecture.md's code map: `path`, `path` | what.
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    table = text[text.index("| where | what |") :].split("\n\n", 1)[0]
    return [path for row in table.splitlines()[2:] for path in re.findall(r"`([^`]+)`", row.split("|")[1])]


def test_the_code_map_names_only_paths_that_exist() -> None:
    paths = _code_map()
    assert len(paths) > 30
    assert [path for path in paths if not (ROOT / path).exists()] == []


def test_the_code_map_covers_every_product_module() -> None:
    """A newcomer finds every module of the three packages in the map: by its file or its folder."""
    named = [path.rstrip("/") for path in _code_map()]
    modules = [
        str(path.relative_to(ROOT))
        for package in ("signoff", "bot", "workflows")
        for path in sorted((ROOT / package).rglob("*.py"))
        if path.name not in {"__init__.py", "__main__.py"}
    ]
    missing = [m for m in modules if not any(m == n or m.startswith(n + "/") for n in named)]
    assert missing == []


def test_github_slugs() -> None:
    assert slug("Search attributes: lists that scale") == "search-attributes-lists-that-scale"
    assert slug("Under Slack's rate-limit tiers") == "under-slacks-rate-limit-tiers"
    assert slug("The `signoff_bot` metrics (p99)") == "the-signoff_bot-metrics-p99"
    assert slug("Temporal or DBOS") == "temporal-or-dbos"


def test_a_broken_link_or_anchor_is_caught(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text(
        '# Other\n\n## A heading, twice\n\n## A heading, twice\n\n<a id="kept"></a>[moved](page.md)\n'
    )
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n"
        "[fine](other.md#a-heading-twice-1) [fine too](#page) [kept](other.md#kept) ![image](other.md) [web](https://example.com/x)\n\n"
        "[gone](missing.md) [no anchor](other.md#nowhere) [own anchor](#nowhere-here)\n\n"
        "| a | b |\n|---|---|\n| [in a table](gone-too.md) | x |\n\n"
        "`[in code](not-a-link.md)`\n\n```\n[in a block](not-a-link.md)\n```\n\n[bad url](https://)\n"
    )
    problems = link_problems(page)
    assert [problem.split(": ")[1] for problem in problems] == [
        "missing.md",
        "other.md#nowhere",
        "#nowhere-here",
        "gone-too.md",
        "https://",
    ]
