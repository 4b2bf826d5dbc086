"""The catalog of a demo world, in a real browser: Debian's Chromium, driven by Playwright.

Every page is opened from the file system as a user would open it; any console error or
uncaught exception fails the test, and so does any internal link (a page, or an anchor
on a page) that leads nowhere. The same site is also loaded through `featurestore
serve`'s /catalog/, under its Content-Security-Policy header. Screenshots of the index and
of a view page, at a laptop's and a phone's width, are written under target/ (ignored by
git) for a person to look at.
"""

from __future__ import annotations

import re
import shutil

import pytest

from tests.catalog.conftest import LAPTOP, PHONE, SCREENSHOTS, Page, crawl, file_url

pytestmark = pytest.mark.slow


def test_every_page_loads_without_errors_and_every_internal_link_resolves(
        browser, catalog_world):
    pages = crawl(browser, catalog_world.site)
    assert len(pages) == 10  # the index, 4 views, an on-demand view, 3 entities, a service


def test_search_and_filters_narrow_the_index(browser, catalog_world):
    page = Page(browser)
    index = page.open(file_url(catalog_world.site / "index.html"))
    visible = "() => [...document.querySelectorAll('#views tbody tr')]" \
              ".filter(r => !r.hidden).map(r => r.querySelector('a').textContent)"
    assert index.evaluate(visible) == ["device_seen_before", "merchant_risk", "user_profile",
                                       "user_transactions"]
    # the search box is reached from the keyboard: Tab from the top of the page
    for _ in range(6):
        index.keyboard.press("Tab")
        if index.evaluate("document.activeElement.id") == "q":
            break
    assert index.evaluate("document.activeElement.id") == "q"
    index.keyboard.type("chargeback")  # a word of merchant_risk's feature descriptions
    assert index.evaluate(visible) == ["merchant_risk"]
    assert index.text_content("#shown") == "Showing 1 of 4 views."
    index.fill("#q", "")
    index.select_option("#f-entity", "user")
    assert index.evaluate(visible) == ["user_profile", "user_transactions"]
    index.select_option("#f-health", "ready")
    assert index.evaluate(visible) == ["user_profile"]
    index.select_option("#f-entity", "")
    index.select_option("#f-health", "")
    index.select_option("#f-sensitivity", "pii")
    assert index.evaluate(visible) == ["user_profile"]
    index.select_option("#f-sensitivity", "")
    index.select_option("#f-tag", "device")
    assert index.evaluate(visible) == ["device_seen_before"]
    index.click("#reset")
    index.wait_for_function("document.querySelector('#shown').textContent.startsWith("
                            "'Showing 4 ')")
    assert page.errors == []
    page.close()


def test_a_view_page_shows_its_plots(browser, catalog_world):
    page = Page(browser)
    view = page.open(file_url(catalog_world.site / "views" / "user_transactions.html"))
    titles = view.eval_on_selector_all("figure svg[role=img] > title",
                                       "els => els.map(e => e.textContent)")
    assert titles[:1] == ["Freshness lag of user_transactions (hours)"]
    assert {"Null rate of txn_amount_avg_7d (%)", "Null rate of last_txn_amount (%)",
            "PSI over time, user_transactions", "txn_amount_sum_7d: histogram",
            "txn_count_1h: most frequent values"} <= set(titles)
    # one distribution per feature, training against serving: both in the legend
    assert sum(t.endswith(("histogram", "most frequent values")) for t in titles) == 9
    legend = view.text_content("#dist-txn_amount_sum_7d + figure svg")
    assert "training" in legend and "serving" in legend
    # drawn, not empty: every plot has a size and holds marks
    sizes = view.eval_on_selector_all(
        "figure svg", "els => els.map(e => [e.getBoundingClientRect().width, "
                      "e.querySelectorAll('path, rect, circle').length])")
    assert all(width > 200 and marks > 3 for width, marks in sizes)
    # a text alternative for each: the svg is labelled by its title and desc, and the
    # figure carries a data table
    assert view.eval_on_selector_all("figure svg", "els => els.every(e => "
                                     "e.getAttribute('aria-labelledby').split(' ').every("
                                     "id => document.getElementById(id)))")
    assert view.locator("figure details table").count() == len(titles)
    # pii is never drawn
    assert page.errors == []
    profile = page.open(file_url(catalog_world.site / "views" / "user_profile.html"))
    assert profile.text_content("#dist-email_domain + p").startswith("pii: its values are "
                                                                     "not shown")
    assert page.errors == []
    page.close()


def test_a_view_page_draws_its_lineage_and_names_its_consumers(browser, catalog_world):
    page = Page(browser)
    view = page.open(file_url(catalog_world.site / "views" / "user_transactions.html"))
    layers = view.eval_on_selector_all(
        "ol.lineage > li.layer", "els => els.map(l => [...l.querySelectorAll('li.node')]"
        ".map(n => n.querySelector('.kind').textContent + ' ' + "
        "n.querySelector('code').textContent))")
    # raw source -> staging -> this view -> models and exposures -> the training set
    assert layers[:3] == [["source demo.transactions"], ["model stg_demo__transactions"],
                          ["this view fs_user__transactions"]]
    assert sorted(layers[3]) == ["exposure Fraud model training set",
                                 "exposure Online lookup endpoint",
                                 "model fraud_training_set"]
    assert layers[4] == [f"training set {catalog_world.training_set}"]
    exposures = view.locator("#consumers table").first.locator("tbody th")
    assert [e.split("http")[0] for e in exposures.all_text_contents()] == [
        "Fraud model training set", "Online lookup endpoint"]
    manifests = view.locator("#consumers table").last.locator("tbody tr td")
    assert manifests.all_text_contents()[1:3] == ["3,258", "v1"]
    assert "{{ ref('stg_demo__transactions') }}" in view.text_content("#lineage pre")
    # online: the sync's last run and the serving log's status mix and latency
    facts = dict(zip(view.locator("#online dt").all_text_contents(),
                     view.locator("#online dd").all_text_contents(), strict=True))
    assert facts["Items"] == "190 (one per entity in the warehouse)"
    assert facts["Last sync"].startswith("ok at ")
    assert ": 190 rows read, 190 written, 0 skipped" in facts["Last sync"]
    assert re.fullmatch(r"1,000 entity lookups between [0-9-]+ [0-9:]+ UTC and [0-9-]+ "
                        r"[0-9:]+ UTC", facts["Requests"])  # none degraded
    assert re.fullmatch(r"p50 [0-9.]+ ms, p99 [0-9.]+ ms \(handler time, over 1,000 logged "
                        r"lookups\)", facts["Latency"])
    assert facts["Callers"] == "fraud-v3 (1,000)"
    statuses = view.locator("#online table tbody th").all_text_contents()
    assert set(statuses) <= {"PRESENT", "STALE", "EXPIRED", "DEFAULT", "MISSING"}
    assert page.errors == []
    page.close()


def test_a_view_page_lists_its_registry_history_and_version_events(browser, catalog_world):
    page = Page(browser)
    view = page.open(file_url(catalog_world.site / "views" / "user_profile.html"))
    tables = view.locator("#versions table")
    registry = tables.first.locator("tbody tr td").all_text_contents()
    assert registry[:3] == ["v1 (active)", "create", "catalog-tests"]
    events = tables.last.locator("tbody tr").first
    assert events.locator("th").text_content() == "2026-05-01 00:00:00 UTC"
    assert events.locator("td").all_text_contents() == [
        "v1", "backfill", "-", "catalog-tests", "first build <of v1>"]
    other = page.open(file_url(catalog_world.site / "views" / "merchant_risk.html"))
    assert other.text_content("#versions p.empty") == (
        "None recorded: no version of this view was backfilled, promoted, rolled back or "
        "retired (featurestore versions merchant_risk).")
    assert page.errors == []
    page.close()


def test_a_failing_gate_shows_as_not_production_ready_with_its_reason(browser, catalog_world):
    from featurestore.apps.catalog_site.text import day, human_seconds

    (lag, run_at), = catalog_world.sql(
        "select observed_value, run_at from featurestore.gate_results where view = "
        "'user_transactions' and suite = 'freshness' order by run_at desc limit 1")
    reason = f"lag {human_seconds(lag)} over its SLO of 1h on {day(run_at)}"
    page = Page(browser)
    view = page.open(file_url(catalog_world.site / "views" / "user_transactions.html"))
    assert view.text_content("h1 .badge") == "not production-ready"
    alert = view.text_content(".alert")
    assert alert.startswith(f"Not production-ready: {reason}; ")
    assert f"freshness gate failed on {day(run_at)} (see the freshness check)" in alert
    row = view.locator("table.checks tbody tr").filter(
        has=view.locator("th", has_text=re.compile("^freshness$")))
    assert row.locator("td").all_text_contents() == ["failed", reason]
    index = page.open(file_url(catalog_world.site / "index.html"))
    cell = index.locator("#views tr", has_text="user_transactions").locator("td").last
    assert cell.text_content() == f"not production-ready{reason}"  # badge, then reason
    ready = index.locator("#views tr", has_text="user_profile").locator("td").last
    assert ready.text_content().strip() == "production-ready"
    assert page.errors == []
    page.close()


def test_a_skew_sample_too_small_is_shown_as_insufficient_data_not_a_failure(browser,
                                                                            catalog_world):
    """user_profile's two served features have 200 serving lines, under the 1,000 of
    skew.min_sample: the page says so, and the view stays production-ready."""
    page = Page(browser)
    view = page.open(file_url(catalog_world.site / "views" / "user_profile.html"))
    assert view.text_content("h1 .badge") == "production-ready"
    too_few = "200 serving line(s) of 1,000 needed"
    assert view.text_content("#skew p.empty") == (
        f"Insufficient data for 2 feature(s) in the latest skew run ({too_few}): not "
        "judged, never a failure; PSI is computed once the serving log holds "
        "skew.min_sample lines of a feature.")
    rows = view.locator("#skew tbody tr")
    assert rows.locator("th").all_text_contents() == ["country", "kyc_level"]
    assert rows.first.locator("td").all_text_contents() == [too_few, "0.2",
                                                            "insufficient data"]
    assert rows.first.get_attribute("class") == "insufficient"
    checks = view.locator("table.checks tbody tr").filter(
        has=view.locator("th", has_text="last gates passed"))
    assert checks.locator("td").all_text_contents() == [
        "passed", "the latest run of parity, quality, skew passed; skew: insufficient data "
                  f"for country, kyc_level ({too_few}; not judged)"]
    assert view.locator("#gates h3", has_text="skew: insufficient data on ").count() == 1
    assert page.errors == []
    page.close()


def test_screenshots_at_laptop_and_phone_width(browser, catalog_world):
    shots = SCREENSHOTS
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True)
    for name, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
        page = Page(browser, viewport)
        for kind, path in (("index", catalog_world.site / "index.html"),
                           ("view", catalog_world.site / "views" / "user_transactions.html")):
            opened = page.open(file_url(path))
            # readable at that width: nothing wider than the screen but scrollable tables
            assert opened.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
            opened.screenshot(path=str(shots / f"{kind}-{name}.png"),
                              full_page=True)
        assert page.errors == []
        page.close()
    assert sorted(p.name for p in shots.iterdir()) == [
        "index-laptop.png", "index-phone.png", "view-laptop.png", "view-phone.png"]
    print(f"screenshots in {shots}")


def test_serve_shows_the_catalog_under_its_security_policy(browser, catalog_world):
    from featurestore.lookup.http_server import BackgroundServer
    from featurestore.lookup.local import local_app

    with pytest.MonkeyPatch.context() as patch:
        for name, value in catalog_world.env.items():
            patch.setenv(name, value)
        app = local_app(catalog_world.project)
    server = BackgroundServer(app, catalog_dir=catalog_world.site)
    with server as url:
        page = Page(browser)
        index = page.open(url + "/catalog")  # redirected to /catalog/
        assert index.url == url + "/catalog/"
        assert index.title() == "Feature views · featurestore feature catalog"
        index.click("text=user_transactions")
        index.wait_for_url(url + "/catalog/views/user_transactions.html")
        assert index.locator("figure svg").count() > 10
        assert page.errors == []
        page.close()


def test_a_service_page_shows_its_features_in_order_and_its_frozen_parameters(
        browser, catalog_world):
    from featurestore.feature_services.param_registry import parameter_sets
    from featurestore.warehouse import Warehouse

    with pytest.MonkeyPatch.context() as patch:
        for name, value in catalog_world.env.items():
            patch.setenv(name, value)
        with Warehouse(catalog_world.project, read_only=True) as warehouse:
            (frozen,) = parameter_sets(warehouse, "fraud_model")
    page = Page(browser)
    index = page.open(file_url(catalog_world.site / "index.html"))
    assert index.locator("ul.services li").all_text_contents() == [
        "fraud_model v1: 10 feature(s), 8 transformation(s); parameter set 1 served"]
    service = page.open(file_url(catalog_world.site / "services" / "fraud_model.html"))
    tables = service.locator("table")
    features = tables.nth(0).locator("tbody th").all_text_contents()
    assert features == [f["ref"] for f in frozen.document["features"]]
    rows = tables.nth(1).locator("tbody tr")
    zscore = frozen.document["transformations"][3]
    assert rows.nth(3).locator("td").all_text_contents()[:2] == ["zscore", "-"]
    assert rows.nth(3).locator("td").nth(2).text_content() == (
        f"count {zscore['params']['count']}; mean {zscore['params']['mean']:.6g}; "
        f"std {zscore['params']['std']:.6g}")
    sets = tables.nth(2).locator("tbody tr td").all_text_contents()
    assert sets[0] == frozen.sha256[:12] and sets[-1] == "served"
    assert "Serves parameter set 1 (sha256 " in service.text_content(".lead + p")
    # the on-demand view's page names the services that read it
    context = page.open(file_url(catalog_world.site / "views" / "txn_context.html"))
    assert context.locator("ul.services li").all_text_contents() == [
        "fraud_model v1: txn_context:amount_over_avg_30d"]
    assert page.errors == []
    page.close()
