"""A catalog built before the store has memories still opens, and each empty section says
why it is empty and what fills it: a view with no gate history, no online data (never
synced), and an empty serving log. Checked in the same real browser as the full site."""

from __future__ import annotations

import pytest

from tests.catalog.conftest import Page, crawl, file_url

pytestmark = pytest.mark.slow


def test_the_command_names_what_is_missing(bare_world):
    out = bare_world.output
    assert ("note: not in the warehouse yet: featurestore.feature_registry, "
            "featurestore.sync_state, featurestore.gate_results, featurestore.loop_cycles "
            "(created by `featurestore apply`, `sync`, `gate` and `run`)") in out
    assert "the serving log has no lines; the online sections show no requests." in out
    assert "wrote the catalog: 10 pages (4 views, 0 production-ready;" in out


def test_the_bare_site_opens_without_errors_and_its_links_resolve(browser, bare_world):
    assert len(crawl(browser, bare_world.site)) == 10  # an on-demand view, a service


def test_a_view_without_history_says_what_is_missing(browser, bare_world):
    page = Page(browser)
    view = page.open(file_url(bare_world.site / "views" / "user_transactions.html"))
    assert view.text_content("h1 .badge") == "not production-ready"
    checks = dict(zip(view.locator("table.checks tbody th").all_text_contents(),
                      view.locator("table.checks tbody td:last-child").all_text_contents(),
                      strict=True))
    assert checks["applied"] == "not in the registry; run `featurestore apply`"
    assert checks["gates ran"] == ("no gate result recorded yet; run `featurestore gate "
                                   "--view user_transactions`")
    assert checks["freshness"] == ("freshness never checked against its SLO of 1h; run "
                                   "`featurestore gate --suite freshness`")
    assert view.text_content("#freshness p.empty") == (
        "No freshness result recorded yet. Run `featurestore gate --suite freshness --view "
        "user_transactions` to start the history.")
    assert view.text_content("#quality p.empty").startswith("No quality result recorded yet.")
    assert view.text_content("#skew p.empty").startswith("No skew result recorded yet.")
    online = view.text_content("#online")
    assert "never synced (featurestore sync)" in online
    assert "The serving log holds no request for this view in its window." in online
    assert view.locator("#versions p.empty").all_text_contents() == [
        "Not in the registry yet: featurestore plan, then featurestore apply.",
        "None recorded: no version of this view was backfilled, promoted, rolled back or "
        "retired (featurestore versions user_transactions)."]
    assert view.text_content("#gates p.empty") == (
        "No gate result recorded for this view yet. Run featurestore gate --view "
        "user_transactions.")
    # no plot could be drawn, and none is pretended
    assert view.locator("figure svg").count() == 0
    assert page.errors == []
    page.close()


def test_the_index_lists_the_build_notes(browser, bare_world):
    page = Page(browser)
    index = page.open(file_url(bare_world.site / "index.html"))
    notes = index.locator("#notes-heading + ul li").all_text_contents()
    assert any("the serving log has no lines" in note for note in notes)
    assert index.text_content(".lead").startswith(
        "4 feature view(s) of 3 entities: 0 production-ready, 4 not.")
    assert page.errors == []
    page.close()
