"""A demo world that has lived a little, and its catalog.

The session's built demo (tests/conftest.py ``demo_project``: 200 users x 30 days up to
2026-05-01) is copied into a temporary folder (its DuckDB file and dbt's target/, so this
module's gate runs and registry never reach other tests), then: the contracts applied, a
training set written, the online views synced into their own DynamoDB Local table,
lookups served through the local endpoint (so the serving log has lines, with latency),
the gates run as of the demo's end (they pass), and the freshness gate run again now: the
demo's newest values are months old, so the views with a freshness SLO fail it. Then
``featurestore catalog`` writes the site, as a user would run it.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

import pytest

from tests.conftest import DEMO_END, REPO_ROOT

END = dt.datetime.fromisoformat(DEMO_END)
LAPTOP, PHONE = {"width": 1280, "height": 800}, {"width": 390, "height": 844}
SCREENSHOTS = REPO_ROOT / "target" / "catalog_screenshots"  # git ignores target/


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium (`make setup` installs it), driven by Playwright."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("Chromium is missing; `make setup` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield launched
        launched.close()


class Page:
    """A page that records every console error and uncaught exception."""

    def __init__(self, browser, viewport=LAPTOP):
        self.page = browser.new_page(viewport=viewport)
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(f"console: {m.text}")
                     if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))

    def open(self, url: str):
        answer = self.page.goto(url)
        assert answer is None or answer.ok, url
        self.page.wait_for_load_state("load")
        return self.page

    def close(self) -> None:
        self.page.close()


def file_url(path: Path) -> str:
    return path.resolve().as_uri()


def crawl(browser, site: Path) -> set[str]:
    """Open every page reachable from the index; fail on a console error, a page error, a
    link off the site, or an internal link (a page, or an anchor on it) that leads nowhere.
    Returns the pages' URLs."""
    page = Page(browser)
    queue, seen, ids, links = [file_url(site / "index.html")], set(), {}, []
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        seen.add(url)
        opened = page.open(url)
        ids[url] = set(opened.eval_on_selector_all("[id]", "els => els.map(e => e.id)"))
        for href in opened.eval_on_selector_all("a[href]", "els => els.map(a => a.href)"):
            links.append((url, href))
            target, _ = urldefrag(href)
            if href.startswith("file:") and target not in seen:
                assert Path(urlsplit(target).path).is_file(), f"{url} links to {href}"
                queue.append(target)
    page.close()
    assert page.errors == []
    for source, href in links:
        target, fragment = urldefrag(href)
        assert href.startswith("file:"), f"{source} links off the site: {href}"
        if fragment:
            assert fragment in ids[target], f"{source} links to a missing anchor: {href}"
    return seen


@dataclass
class CatalogWorld:
    base: Path
    env: dict[str, str]
    site: Path  # target/catalog of the world
    training_set: Path
    serving_log: Path
    output: str  # what `featurestore catalog` printed

    @property
    def project(self):
        from featurestore.project import Project

        return Project(REPO_ROOT)

    def run(self, *args: str):
        """The CLI, in this world's environment."""
        from click.testing import CliRunner

        from featurestore.apps.cli import cli

        with pytest.MonkeyPatch.context() as patch:
            for name, value in self.env.items():
                patch.setenv(name, value)
            return CliRunner().invoke(cli, ["--project-dir", str(REPO_ROOT), *args], obj={},
                                      catch_exceptions=False)

    def sql(self, statement: str) -> list[tuple]:
        import duckdb

        with duckdb.connect(self.env["FEATURESTORE_DUCKDB_PATH"], read_only=True) as con:
            return con.execute(statement).fetchall()


def _sync_as_of(as_of: dt.datetime) -> None:
    """Every online view into DynamoDB as of the demo's clock (the CLI syncs as of now, when
    the demo's values are past their TTL and so never published)."""
    from featurestore.project import Project
    from featurestore.sync.run import online_views, sync_views
    from featurestore.sync.worker import SyncOptions

    project = Project(REPO_ROOT)
    run = sync_views(project, online_views(project.catalog()),
                     SyncOptions(full_refresh=True, as_of=as_of), gate=False)
    assert sorted(r.view for r in run.results) == ["device_seen_before", "merchant_risk",
                                                     "user_profile", "user_transactions"]


def _record_backfill(env: dict[str, str], at: dt.datetime) -> None:
    """One event in the version log (featurestore/version_log.py), as `featurestore
    backfill` records it, for the versions section to show."""
    from featurestore.project import Project
    from featurestore.version_log import VersionEvent, record
    from featurestore.warehouse import Warehouse

    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        with Warehouse(Project(REPO_ROOT)) as warehouse:
            record(warehouse, VersionEvent("user_profile", 1, "backfill", "catalog-tests",
                                           reason="first build <of v1>", at=at))


def _serve_lookups(world_env: dict[str, str]) -> None:
    """Users 1 to 200 looked up five times through the local endpoint, on the demo's
    clock: 1,000 serving lines of user_transactions, enough for the skew gate to judge
    it (skew.min_sample); the first time only with two user_profile features too, whose
    200 lines are "insufficient data"."""
    from featurestore.lookup.http_server import BackgroundServer
    from featurestore.lookup.local import local_app
    from featurestore.project import Project

    # a generous deadline: a degraded answer (a cold JVM's first reads on a loaded
    # machine) is left out of skew, and these lines must all count
    app = local_app(Project(REPO_ROOT), deadline_ms=30_000)
    app.clock = lambda: END
    profile = ["user_profile:country", "user_profile:kyc_level"]
    with BackgroundServer(app) as url:
        for round_, first in ((r, f) for r in range(5) for f in (1, 101)):
            features = ["user_transactions", *(profile if round_ == 0 else [])]
            body = {"requests": [{"entity": "user", "features": features,
                                  "keys": [{"user_id": k} for k in range(first, first + 100)]}]}
            request = urllib.request.Request(
                url + "/v1/features/retrieve", data=json.dumps(body).encode(),
                headers={"content-type": "application/json", "x-model-name": "fraud-v3"})
            with urllib.request.urlopen(request, timeout=180) as answer:
                assert answer.status == 200


@pytest.fixture(scope="module")
def catalog_world(demo_project, dynamodb_local, tmp_path_factory) -> CatalogWorld:
    base = tmp_path_factory.mktemp("catalog_world")
    duckdb_path = base / demo_project.duckdb_path.name  # dbt names relations after it
    shutil.copy(demo_project.duckdb_path, duckdb_path)
    shutil.copytree(demo_project.target_path, base / "target",
                    ignore=shutil.ignore_patterns("catalog", "run", "compiled"))
    table = f"fs_catalog_{base.name[-12:]}".replace("-", "_")
    env = {**demo_project.env, "FEATURESTORE_DUCKDB_PATH": str(duckdb_path),
           "DBT_TARGET_PATH": str(base / "target"),
           "FEATURESTORE_SERVING_LOG_DIR": str(base / "serving_log"),
           "FEATURESTORE_DYNAMODB_ENDPOINT": dynamodb_local,
           "FEATURESTORE_ONLINE_TABLE": table, "FEATURESTORE_USER": "catalog-tests"}
    from featurestore.online.client import ensure_table
    from featurestore.online.config import OnlineConfig

    ensure_table(OnlineConfig(endpoint=dynamodb_local).client(), table, ttl=False)
    world = CatalogWorld(base, env, base / "target" / "catalog",
                         base / "training" / "fraud_training.parquet", base / "serving_log", "")
    # beside the warehouse, where `featurestore catalog` looks for training sets
    world.training_set.parent.mkdir()
    spine = base / "training" / "labels.parquet"
    import duckdb

    with duckdb.connect(str(duckdb_path)) as con:
        con.execute(f"copy (select * from main.fraud_labels order by event_ts) to '{spine}' "
                    "(format parquet)")
    steps = [
        ["apply"],
        ["training-set", "--spine", str(spine), "--features",
         "user_transactions,merchant_risk,user_profile,device_seen_before",
         "--out", str(world.training_set)],
    ]
    # a feature service's parameters frozen (the training set kept out of this folder,
    # so the views' consumers stay the one training set above)
    steps.append(["training-set", "--spine", str(spine), "--service", "fraud_model", "--out",
                  str(tmp_path_factory.mktemp("service_training") / "fraud_service.parquet")])
    for step in steps:
        result = world.run(*step)
        assert result.exit_code == 0, (step, result.output)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        _sync_as_of(END + dt.timedelta(minutes=5))
        _serve_lookups(env)
    as_of = (END + dt.timedelta(minutes=5)).isoformat()
    passing = world.run("gate", "--suite", "freshness", "--suite", "quality", "--suite",
                        "parity", "--as-of", as_of)
    assert passing.exit_code == 0, passing.output
    skew = world.run("gate", "--suite", "skew", "--view", "user_transactions",
                     "--training-set", str(world.training_set))
    assert skew.exit_code in (0, 2), skew.output
    too_few = world.run("gate", "--suite", "skew", "--view", "user_profile",
                        "--training-set", str(world.training_set))
    assert too_few.exit_code == 0, too_few.output  # insufficient data never fails
    stale = world.run("gate", "--suite", "freshness")  # now: months past the demo's end
    assert stale.exit_code == 2, stale.output
    _record_backfill(env, at=END)
    built = world.run("catalog")
    assert built.exit_code == 0, built.output
    world.output = built.output
    return world


@dataclass
class BareWorld:
    """The built demo before anything else happened: no apply, gate, sync or lookup."""

    site: Path
    output: str


@pytest.fixture(scope="module")
def bare_world(demo_project, tmp_path_factory) -> BareWorld:
    """The demo's warehouse as dbt built it, with an empty serving log (its folder holds
    one empty day file), and its catalog: every view without registry, gate history or
    online data."""
    from click.testing import CliRunner

    from featurestore.apps.cli import cli

    base = tmp_path_factory.mktemp("bare_world")
    duckdb_path = base / demo_project.duckdb_path.name
    shutil.copy(demo_project.duckdb_path, duckdb_path)
    shutil.copytree(demo_project.target_path, base / "target",
                    ignore=shutil.ignore_patterns("catalog", "run", "compiled"))
    (base / "serving_log").mkdir()
    (base / "serving_log" / "serving-20260501.jsonl").write_text("")
    env = {**demo_project.env, "FEATURESTORE_DUCKDB_PATH": str(duckdb_path),
           "DBT_TARGET_PATH": str(base / "target"),
           "FEATURESTORE_SERVING_LOG_DIR": str(base / "serving_log")}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        result = CliRunner().invoke(cli, ["--project-dir", str(REPO_ROOT), "catalog"],
                                    obj={}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return BareWorld(base / "target" / "catalog", result.output)
