"""The documentation site: docs/questions.md is generated from copier.yml, every page of
docs/ is in mkdocs.yml's nav, and `mkdocs build --strict` (broken links and anchors, pages
left out of the nav) passes, as CI needs it to."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from crisp_ml.docs_questions import render

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCS = REPO_ROOT / "docs"


def test_the_committed_questions_page_matches_copier_yml() -> None:
    committed = (DOCS / "questions.md").read_text(encoding="utf-8")
    assert committed == render((REPO_ROOT / "copier.yml").read_text(encoding="utf-8")), (
        "docs/questions.md is stale: run `make docs` "
        "(or `python -m crisp_ml.docs_questions docs/questions.md`)"
    )


def test_every_question_has_a_section() -> None:
    text = (REPO_ROOT / "copier.yml").read_text(encoding="utf-8")
    questions = {name for name in yaml.safe_load(text) if not name.startswith("_")}
    headings = set(re.findall(r"^### `(\w+)`", render(text), flags=re.MULTILINE))
    assert headings == questions


def test_a_hidden_value_is_marked_and_a_conditional_question_shows_its_condition() -> None:
    page = render((REPO_ROOT / "copier.yml").read_text(encoding="utf-8"))
    assert "### `crisp_ml_version` (hidden)" in page
    assert "- Asked: only when `{{ dvc_remote != 'none' }}`" in page


def _nav_pages(nav: Any) -> Iterator[str]:
    """The Markdown files a nav names, however deeply its sections nest."""
    if isinstance(nav, str):
        if nav.endswith(".md"):
            yield nav
    elif isinstance(nav, list):
        for item in nav:
            yield from _nav_pages(item)
    elif isinstance(nav, dict):
        for value in nav.values():
            yield from _nav_pages(value)


def test_every_page_in_docs_is_in_the_nav() -> None:
    config = yaml.safe_load((REPO_ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    pages = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    assert sorted(pages - set(_nav_pages(config["nav"]))) == [], "add these pages to the nav"


def test_no_code_fence_is_indented() -> None:
    # Python-Markdown (MkDocs) does not see a fenced block inside a list item: it renders
    # the fence and the rest of the list as one paragraph of text, without any warning.
    indented = [
        f"{page.name}:{number}"
        for page in sorted(DOCS.glob("*.md"))
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1)
        if re.match(r"\s+(```|~~~)", line)
    ]
    assert indented == []


def test_mkdocs_build_strict_succeeds(tmp_path: Path) -> None:
    config = str(REPO_ROOT / "mkdocs.yml")
    # Not --quiet: it hides the warnings from the counter that makes strict mode fail.
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", config, "-d", str(tmp_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "index.html").is_file()
    assert (tmp_path / "questions.html").is_file()
