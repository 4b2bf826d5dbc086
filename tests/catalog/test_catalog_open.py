"""`featurestore catalog --open`: the index page through the standard library's webbrowser,
which knows each platform's opener (`open` exists on macOS only), and a plain note with
the page's URL where there is no browser at all."""

from __future__ import annotations

import webbrowser

import pytest
from click.testing import CliRunner

from featurestore.apps.cli import cli
from tests.core.conftest import project  # noqa: F401  (the fixture)


class RecordingBrowser(webbrowser.BaseBrowser):
    def __init__(self):
        super().__init__("recording")
        self.opened: list[str] = []

    def open(self, url, new=0, autoraise=True):
        self.opened.append(url)
        return True


@pytest.fixture
def browsers(monkeypatch):
    """webbrowser's registry, emptied for the test and restored after it."""
    monkeypatch.setattr(webbrowser, "_browsers", {})
    monkeypatch.setattr(webbrowser, "_tryorder", [])
    monkeypatch.delenv("BROWSER", raising=False)


def test_open_shows_the_index_in_the_registered_browser(project, browsers):  # noqa: F811
    browser = RecordingBrowser()
    webbrowser.register("recording", None, browser, preferred=True)
    done = CliRunner().invoke(cli, ["--project-dir", str(project.root), "catalog", "--open"],
                              obj={})
    assert done.exit_code == 0, done.output
    index = project.target_dir.resolve() / "catalog" / "index.html"
    assert browser.opened == [index.as_uri()]
    assert index.is_file()
    assert f"opened {index.as_uri()}\n" in done.stderr


def test_open_without_any_browser_writes_the_site_and_says_where(project, browsers):  # noqa: F811
    done = CliRunner().invoke(cli, ["--project-dir", str(project.root), "catalog", "--open"],
                              obj={})
    assert done.exit_code == 0, done.output
    index = project.target_dir.resolve() / "catalog" / "index.html"
    assert index.is_file()
    assert done.stderr.endswith(f"note: no web browser found to open {index.as_uri()}; open "
                                "it by hand, or set BROWSER\n")
