"""The catalog's page of an on-demand view: request fields, inputs linking to their
views, expressions and dtypes, every string escaped."""

from __future__ import annotations

from featurestore.apps.catalog_site import on_demand_page, pages
from featurestore.contracts import load_catalog
from tests.core.conftest import edit, project  # noqa: F401  (the fixture)

HOSTILE = "<script>alert('x')</script> & \"q\""


def _page(catalog) -> str:
    env = pages.environment()
    view = catalog.on_demand["txn_context"]
    return env.get_template("on_demand.html").render(
        site={"project": "demo", "built_at": "2026-05-01 00:00 UTC"}, base="../",
        **on_demand_page.context(view, catalog))


def test_the_page_shows_fields_inputs_expressions_and_dtypes(project):  # noqa: F811
    html = _page(load_catalog(project.feature_defs))
    assert "<h1>On-demand view <code>txn_context</code> <span class=\"version\">v1</span></h1>" \
        in html
    assert ("<tr><th scope=\"row\"><code>amount</code></th><td>float64</td><td>no</td>"
            "<td>The amount being paid.</td></tr>") in html
    assert ("<tr><th scope=\"row\"><code>home_country</code></th><td><a "
            "href=\"user_profile.html\">user_profile:country</a></td><td>string</td></tr>") \
        in html
    assert ("<tr><th scope=\"row\"><code>amount_over_avg_30d</code></th><td>float64</td>"
            "<td>internal</td><td><pre><code>amount / txn_amount_avg_30d</code></pre></td>") \
        in html
    assert "<td>int64</td><td>internal</td><td><pre><code>date_part(&#39;hour&#39;, txn_ts," \
        in html


def test_every_string_of_the_contract_is_escaped(project):  # noqa: F811
    edit(project, "txn_context.yml",
         "description: The transaction being scored, against the user's history and profile.",
         f"description: '{HOSTILE.replace(chr(39), chr(39) * 2)}'")
    edit(project, "txn_context.yml", "sql: merchant_country <> home_country",
         "sql: \"merchant_country <> '</code></pre><script>x()</script>'\"")
    html = _page(load_catalog(project.feature_defs))
    assert "<script>" not in html.split("</head>", 1)[1]
    assert ("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &#34;q&#34;") in html
    assert ("merchant_country &lt;&gt; &#39;&lt;/code&gt;&lt;/pre&gt;&lt;script&gt;x()"
            "&lt;/script&gt;&#39;") in html


def test_the_index_lists_the_on_demand_views(project):  # noqa: F811
    (row,) = on_demand_page.index_rows(load_catalog(project.feature_defs))
    assert (row["name"], row["file"], row["entity"], row["features"], row["inputs"]) == (
        "txn_context", "txn_context.html", "user", 4, ["user_profile", "user_transactions"])


def test_the_page_shows_the_registrys_record_and_whether_it_is_this_contract(project):  # noqa: F811,E501
    from featurestore import registry
    from featurestore.apps.catalog_site.store import read_store
    from featurestore.warehouse import Warehouse

    catalog = project.catalog()
    view = catalog.on_demand["txn_context"]
    assert on_demand_page.applied_state(view, []) == (
        "Not in the registry: run `featurestore apply`.")
    assert on_demand_page.applied_state(view, None) == (
        "The registry was not read (no warehouse).")
    with Warehouse(project) as warehouse:
        registry.apply(catalog, warehouse, who="alice")
    rows = read_store(project, list(catalog.views.values())).other_registry["txn_context"]
    assert [(r["version"], r["change"], r["applied_by"]) for r in rows] == [
        (1, "create", "alice")]
    assert on_demand_page.applied_state(view, rows) == (
        "Applied: the registry's active v1 is this contract.")
    edit(project, "txn_context.yml", "sql: merchant_country <> home_country",
         "sql: merchant_country = home_country")
    changed = project.catalog().on_demand["txn_context"]
    assert on_demand_page.applied_state(changed, rows) == (
        "The contract (v1) differs from the registry's active v1: run `featurestore plan`, "
        "then `featurestore apply`.")
    html = pages.environment().get_template("on_demand.html").render(
        site={"project": "demo", "built_at": "2026-05-01 00:00 UTC"}, base="../",
        **on_demand_page.context(changed, catalog, registry=rows))
    assert (f"<tr><td>v1</td><td>create</td><td><code>{rows[0]['contract_hash'][:12]}</code>"
            f"</td><td>alice</td><td>{rows[0]['applied_at']}</td></tr>") in html
