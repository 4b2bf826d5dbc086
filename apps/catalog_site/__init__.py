"""The feature catalog: a static site (HTML, CSS, inline SVG) to browse feature views.

``featurestore catalog`` writes it under ``target/catalog/``; ``featurestore serve`` also
serves it at ``/catalog/``; it opens from the file system and deploys to any static host,
since nothing on its pages is fetched from a network. It is an interface of the store
(docs/architecture.md), like the CLI and the SDK: it reads what the other layers keep
(contracts, dbt's manifest and catalog, the registry, gate results, sync state, the
loop's cycles, the serving log, training-set manifests) and shows it, changing nothing.

Modules, one job each: ``store`` (the warehouse's tables), ``dbt_docs`` (SQL, lineage,
exposures), ``serving`` (the serving log's window), ``training_sets`` (manifests and
values), ``distributions``, ``health`` (production readiness), ``plots`` (leather SVG),
``view_page`` and ``pages`` (what the templates get), ``output`` (write whole or not at
all), and ``site`` (the order of it all).
"""

from featurestore.apps.catalog_site.site import SiteReport, build_site

__all__ = ["SiteReport", "build_site"]
