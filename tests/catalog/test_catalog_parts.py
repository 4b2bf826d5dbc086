"""The catalog's parts on their own, without a browser: what `/catalog/` serves and
refuses, writing the site whole or not at all, the serving log's window and bad lines,
hostile text in plots, and the gate series cut from the warehouse's rows."""

from __future__ import annotations

import datetime as dt
import json
import warnings
from pathlib import Path

import pytest

from featurestore.apps.catalog_site import output, plots
from featurestore.apps.catalog_site.serving import read_serving_log
from featurestore.errors import ProjectError
from featurestore.lookup import static_site
from featurestore.lookup.access import AccessPolicy, Grant, hash_key


@pytest.fixture
def site(tmp_path) -> Path:
    folder = tmp_path / "catalog"
    (folder / "views").mkdir(parents=True)
    (folder / "index.html").write_text("<h1>index</h1>")
    (folder / "views" / "a.html").write_text("<h1>a</h1>")
    (folder / ".featurestore-catalog").write_text("marker")
    (folder / "notes.py").write_text("print('not a catalog file')")
    (tmp_path / "secret.html").write_text("outside")
    (folder / "views" / "link.html").symlink_to(tmp_path / "secret.html")
    return folder


@pytest.mark.parametrize("target, status, found", [
    ("/catalog", 301, "/catalog/"),
    ("/catalog/", 200, "index.html"),
    ("/catalog/views/a.html", 200, "views/a.html"),
    ("/catalog/views/a.html?q=1#x", 200, "views/a.html"),
    ("/catalog/views/", 404, "no such catalog page"),  # a folder without an index
    ("/catalog/../secret.html", 404, "no such catalog page"),
    ("/catalog/%2e%2e/secret.html", 404, "no such catalog page"),
    ("/catalog/views/..%2f..%2fsecret.html", 404, "no such catalog page"),
    ("/catalog/views/link.html", 404, "no such catalog page"),  # a link out of the folder
    ("/catalog/.featurestore-catalog", 404, "no such catalog page"),
    ("/catalog/notes.py", 404, "no such catalog page"),  # not a type the catalog writes
    ("/catalog/a%00.html", 404, "no such catalog page"),
    ("/catalog/views\\a.html", 404, "no such catalog page"),
])
def test_catalog_paths_resolve_inside_the_folder_only(site, target, status, found):
    code, result = static_site.resolve(site, target)
    assert code == status
    if status == 200:
        assert result == (site / found).resolve()
    else:
        assert result == found


def test_catalog_answers_get_and_head_with_a_strict_policy(site):
    code, headers, body, _ = static_site.answer(site, "GET", "/catalog/views/a.html",
                                                AccessPolicy(None), None, "r1")
    assert (code, body) == (200, b"<h1>a</h1>")
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert headers["content-security-policy"].startswith("default-src 'none'")
    assert headers["x-content-type-options"] == "nosniff"
    code, headers, body, message = static_site.answer(site, "POST", "/catalog/", AccessPolicy(None),
                                                      None, "r2")
    assert (code, headers, body, message) == (405, {"allow": "GET, HEAD"}, None,
                                              "/catalog/ answers GET and HEAD, not POST")


def test_catalog_before_it_is_built_says_how_to_build_it(tmp_path):
    assert static_site.resolve(tmp_path / "catalog", "/catalog/") == (
        404, "no catalog has been built for this project yet; run `featurestore catalog`, "
             "then reload")


def test_catalog_needs_a_key_that_reads_internal_features_of_every_view(site):
    policy = AccessPolicy({
        hash_key("narrow"): Grant("narrow", frozenset({"public", "internal"}),
                                  frozenset({"user_profile"})),
        hash_key("public"): Grant("public-only", frozenset({"public"}), None),
        hash_key("wide"): Grant("wide", frozenset({"public", "internal"}), None)})
    for key, name in (("narrow", "narrow"), ("public", "public-only")):
        code, _, body, message = static_site.answer(site, "GET", "/catalog/", policy, key, "r")
        assert (code, body) == (403, None)
        assert message == (f"API key `{name}` may not read the catalog: it shows internal "
                           "features of every view; use a key granted `internal` on every "
                           "view")
    assert static_site.answer(site, "GET", "/catalog/", policy, None, "r")[0] == 401
    assert static_site.answer(site, "GET", "/catalog/", policy, "wide", "r")[0] == 200


def test_a_folder_that_is_not_a_catalog_is_never_replaced(tmp_path):
    mine = tmp_path / "docs"
    mine.mkdir()
    (mine / "thesis.md").write_text("mine")
    with pytest.raises(ProjectError) as raised:
        output.check_destination(mine)
    assert str(raised.value) == (
        f"{mine}: exists and is not a catalog that `featurestore catalog` wrote (no "
        ".featurestore-catalog file in it); it is left untouched. Choose a new or empty "
        "folder with --out.")
    assert (mine / "thesis.md").read_text() == "mine"


def test_a_failed_build_leaves_the_previous_site_whole(tmp_path):
    out = tmp_path / "catalog"
    with output.staged(out) as folder:
        output.write_page(folder, "index.html", "first")
    with pytest.raises(RuntimeError), output.staged(out) as folder:
        output.write_page(folder, "index.html", "second, half written")
        raise RuntimeError("a page failed")
    assert (out / "index.html").read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["catalog"]  # no staging left
    with output.staged(out) as folder:
        output.write_page(folder, "index.html", "third")
    assert (out / "index.html").read_text() == "third"
    assert sorted(p.name for p in out.iterdir()) == [".featurestore-catalog", "assets",
                                                     "index.html"]


class _View:
    def __init__(self, name):
        self.name = name


def _line(ts: str, **extra) -> str:
    return json.dumps({"ts": ts, "request_id": "r", "model": "m", "entity": "user",
                       "key": {"user_id": 1}, "features": {"v:f": {
                           "value": 3, "feature_ts": ts, "status": "PRESENT"}}, **extra})


def test_the_serving_log_window_and_its_bad_lines(tmp_path):
    folder = tmp_path / "serving_log"
    folder.mkdir()
    (folder / "serving-20260420.jsonl").write_text(_line("2026-04-20T00:00:00Z") + "\n")
    (folder / "serving-20260501.jsonl").write_text("\n".join([
        _line("2026-04-30T12:00:00Z", latency_ms=2.0),
        "not json",
        json.dumps({"ts": "yesterday", "features": {}}),
        _line("2026-05-01T00:00:00Z", latency_ms=4.0, degraded=True),
    ]) + "\n")
    records = read_serving_log(folder, {"v": _View("v")}, dt.timedelta(days=7))
    assert records.notes == [
        f"serving log: 2 line(s) are not serving-log lines (JSON with an ISO-8601 `ts` and "
        f"`features`) and were skipped: {folder}/serving-20260501.jsonl:2, "
        f"{folder}/serving-20260501.jsonl:3."]
    assert (records.start, records.end) == (dt.datetime(2026, 4, 24), dt.datetime(2026, 5, 1))
    served = records.view("v")
    assert (records.lines, served.requests, served.degraded) == (2, 2, 1)
    assert served.latencies_ms == [2.0, 4.0]
    assert records.values == {"v:f": [3]}  # the degraded line's value is left out


def test_a_pinned_reference_counts_in_the_catalog_statistics(tmp_path):
    """`view@v2:feature` (a pinned lookup) is a request of `view` like `view:feature`;
    its values stay under the reference as written, apart from the served version's."""
    folder = tmp_path / "serving_log"
    folder.mkdir()
    pinned = {"value": 7, "feature_ts": "2026-05-01T00:00:00Z", "status": "PRESENT"}
    lines = [
        _line("2026-05-01T00:00:00Z", latency_ms=2.0),
        json.dumps({"ts": "2026-05-01T00:00:01Z", "model": "m", "latency_ms": 5.0,
                    "features": {"v@v2:f": pinned}}),
        json.dumps({"ts": "2026-05-01T00:00:02Z", "model": "m", "latency_ms": 6.0,
                    "features": {"v@v2:f": dict(pinned, status="MISSING", value=None),
                                 "v@vx:f": pinned, "w@v2:f": pinned}}),
    ]
    (folder / "serving-20260501.jsonl").write_text("\n".join(lines) + "\n")
    records = read_serving_log(folder, {"v": _View("v")}, dt.timedelta(days=7))
    served = records.view("v")
    assert (records.lines, served.requests) == (3, 3)
    assert served.statuses == {"PRESENT": 2, "MISSING": 1}
    assert served.latencies_ms == [2.0, 5.0, 6.0]
    assert records.values == {"v:f": [3], "v@v2:f": [7, None]}
    assert list(records.views) == ["v"]  # `v@vx` is no reference, `w` no view of the site


def test_the_serving_log_is_read_in_nested_folders_as_the_skew_gate_reads_it(tmp_path):
    folder = tmp_path / "serving_log"
    nested = folder / "exported" / "2026" / "05"
    nested.mkdir(parents=True)
    (folder / "serving-20260501.jsonl").write_text(_line("2026-05-01T00:00:00Z") + "\n")
    (nested / "part-0001.json").write_text(
        _line("2026-04-30T00:00:00Z") + "\n" + "not json\n" * 6)
    records = read_serving_log(folder, {"v": _View("v")}, dt.timedelta(days=7))
    assert (records.lines, records.view("v").requests) == (2, 2)
    assert records.notes == [
        f"serving log: 6 line(s) are not serving-log lines (JSON with an ISO-8601 `ts` and "
        f"`features`) and were skipped: {nested}/part-0001.json:2, "
        f"{nested}/part-0001.json:3, {nested}/part-0001.json:4, {nested}/part-0001.json:5, "
        f"{nested}/part-0001.json:6 and 1 more."]


def test_an_empty_serving_log_is_a_note_not_an_error(tmp_path):
    records = read_serving_log(tmp_path, {}, dt.timedelta(days=7))
    assert records.notes == [
        f"{tmp_path}: the serving log is empty (no serving-*.jsonl file); the online "
        "sections show no requests. `featurestore serve` writes it."]
    assert records.views == {}


def test_hostile_text_reaches_a_plot_as_text():
    hostile = "<script>alert(1)</script>&\x00"
    plot = plots.top_values("p1", f"top of {hostile}", [hostile, "b"], [0.6, 0.4], None,
                            summary=f"values of {hostile}")
    assert "<script>" not in plot.svg and "&lt;script&gt;" in plot.svg
    assert "\x00" not in plot.svg
    assert "<script>" not in plot.table_body
    assert plot.table_body.startswith('<tr><th scope="row">&lt;script&gt;alert(1)&lt;/script'
                                      '&gt;&amp;\ufffd</th><td>60.0%</td><td></td></tr>')


def test_shares_that_add_up_in_floating_point_draw_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plots.top_values("p1", "t", ["a", "b"], [0.1 + 0.2, 0.7], None)
        plots.histogram("p2", "t", ["0", "1"], [0.1 + 0.2, 0.7], [0.5, 0.5])


def test_gate_series_are_cut_where_view_or_expectation_changes():
    import pyarrow as pa

    from featurestore.apps.catalog_site.store import _split_series

    rows = pa.table({"view": ["a", "a", "a", "b"],
                     "expectation": ["lag", "lag", "psi(x)", "lag"],
                     "at": [86_400, 172_800, 86_400, 0], "worst": [1.5, None, 0.1, 9.0],
                     "runs": [1, 2, 1, 1], "failures": [0, 1, 0, 1]})
    cut = {(view, expectation): series for view, expectation, series in _split_series(rows)}
    assert list(cut) == [("a", "lag"), ("a", "psi(x)"), ("b", "lag")]
    points = cut[("a", "lag")].points()
    assert [(p.at, p.worst, p.runs, p.failures) for p in points] == [
        (dt.datetime(1970, 1, 2), 1.5, 1, 0), (dt.datetime(1970, 1, 3), None, 2, 1)]
    assert cut[("b", "lag")].worst == [9.0]
