"""docs/versions.md names the files of the versions workflow: every module of
`apps/versions/` is in its table, and every file the page names exists, so the page stays
the map of the workflow as files move."""

from __future__ import annotations

import re

from tests.conftest import REPO_ROOT

PAGE = (REPO_ROOT / "docs" / "versions.md").read_text()
SECTION = PAGE[PAGE.index("## Where the code lives"):]


def _named() -> list[str]:
    """The files of the section's tables: the first cell of each row, a path in backticks."""
    return re.findall(r"^\| `([\w/.]+\.(?:py|sql))` \|", SECTION, flags=re.MULTILINE)


def test_every_module_of_the_workflow_is_named():
    modules = sorted(str(p.relative_to(REPO_ROOT))
                     for p in (REPO_ROOT / "apps" / "versions").glob("*.py"))
    assert modules and [m for m in modules if m not in _named()] == []


def test_every_file_the_page_names_exists():
    named = _named()
    assert "featurestore/version_log.py" in named and "sync/retire.py" in named
    assert [n for n in named if not (REPO_ROOT / n).is_file()] == []
