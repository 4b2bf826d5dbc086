"""``featurestore catalog``: gather what the store keeps, draw it, write the site whole.

Gathering reads each source once for every view (the warehouse in a few queries, the
serving log's window, the training sets' manifests and a sample of their values), then
each view's page is drawn and rendered. With ``jobs`` above 1 the pages are drawn in
forked worker processes, which inherit what was gathered (nothing is pickled but the
page's name and the few numbers they send back).
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from featurestore.apps.catalog_site import on_demand_page, output, pages, service_pages
from featurestore.apps.catalog_site.view_page import ViewInputs, view_context
from featurestore.dtypes import utc_naive

DEFAULT_WINDOW = dt.timedelta(days=7)


@dataclass
class SiteReport:
    """What was written, for the command's last line and ``--json``."""

    out_dir: Path
    views: int
    pages: int
    plots: int
    ready: int
    seconds: float
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"out_dir": str(self.out_dir), "index": str(self.out_dir / "index.html"),
                "views": self.views, "pages": self.pages, "plots": self.plots,
                "production_ready": self.ready, "seconds": round(self.seconds, 3),
                "notes": self.notes}


def _jobs(jobs: int | None) -> int:
    if jobs is not None:
        return max(1, jobs)
    return max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                      else os.cpu_count() or 1))


def gather(project, *, training_sets=(), serving_window: dt.timedelta = DEFAULT_WINDOW,
           progress: Callable[[str], None] = lambda line: None):
    """(catalog, [ViewInputs], notes, the registry's rows of each on-demand view):
    everything the pages show, read once."""
    from featurestore.apps.catalog_site.dbt_docs import DbtDocs
    from featurestore.apps.catalog_site.distributions import from_arrow
    from featurestore.apps.catalog_site.health import assess
    from featurestore.apps.catalog_site.serving import read_serving_log
    from featurestore.apps.catalog_site.store import read_store
    from featurestore.apps.catalog_site.training_sets import find_training_sets, training_values

    catalog = project.catalog()
    views = [catalog.views[name] for name in sorted(catalog.views)]
    progress(f"catalog: {len(views)} view(s) in {project.feature_defs}")
    docs = DbtDocs.load(project.target_dir)
    notes = list(docs.notes)
    store = read_store(project, views, progress)
    notes.extend(store.notes)
    sets = find_training_sets(project.root, project.dbt_target.local_dir,
                              list(training_sets), notes)
    serving = read_serving_log(project.settings.serving_log_dir, catalog.views,
                               serving_window)
    notes.extend(serving.notes)
    progress(f"catalog: {len(sets)} training set(s), {serving.lines:,} serving-log line(s) "
             "in the window")
    by_model = {view.source: view.name for view in views}
    inputs = []
    for view in views:
        records = store.views[view.name]
        types = docs.column_types(view.source)
        types_from = "dbt's catalog.json" if types else "the warehouse" if \
            records.column_types else ""
        consumers = [
            {"label": info.label(project.root), "created_at": info.created_at,
             "rows": info.rows, "exists": info.exists,
             "version": info.views[view.name].get("version"),
             "features": [f["name"] for f in info.views[view.name]["features"]]}
            for info in sets if view.name in info.views]
        chosen = next((info for info in sets if view.name in info.views and info.exists
                       and info.views[view.name].get("version") == view.version), None)
        values, source = {}, None
        if chosen is not None:
            columns = {f["column"]: f["name"] for f in chosen.views[view.name]["features"]
                       if f["name"] in view.feature_names
                       and view.feature(f["name"]).sensitivity != "pii"}
            read = training_values(chosen, list(columns))
            values = {columns[c]: from_arrow(v, view.feature(columns[c]).dtype)
                      for c, v in read.items()}
            source = chosen.label(project.root)
        versions = []
        if hasattr(catalog, "versions_of"):
            versions = [{"version": number, "retired": bool(getattr(v, "retired", False))}
                        for number, v in sorted(catalog.versions_of(view.name).items())]
        inputs.append(ViewInputs(
            view=view, records=records, health=assess(view, records), sql=docs.sql(view.source),
            lineage=docs.lineage(view.source, by_model),
            column_types=types or records.column_types, types_from=types_from,
            serving=serving.view(view.name), serving_window=(serving.start, serving.end),
            training_sets=consumers, training_values=values, training_from=source,
            serving_values={f.name: serving.values[f"{view.name}:{f.name}"]
                            for f in view.features if f.sensitivity != "pii"
                            and f"{view.name}:{f.name}" in serving.values},
            versions=versions))
    return catalog, inputs, notes, store.other_registry


# The pages to draw, shared with forked workers (set before the pool starts).
_WORK: dict = {}


def _draw(index: int) -> tuple[int, int]:
    """Render one view page into the staging folder; (index, plots drawn)."""
    inputs: ViewInputs = _WORK["inputs"][index]
    context = view_context(inputs)
    html = _WORK["env"].get_template("view.html").render(
        site=_WORK["site"], base="../", entity_file=pages.page_name(inputs.view.entity.name),
        **context)
    output.write_page(_WORK["folder"], f"views/{pages.page_name(inputs.view.name)}", html)
    return index, context["plot_count"]


def require_extras() -> None:
    """The plots need leather and numpy (``featurestore[catalog]``): say so before any
    reading starts, not halfway through the pages."""
    from featurestore.errors import MissingExtraError

    for module, package in (("leather", "leather"), ("numpy", "numpy")):
        try:
            __import__(module)
        except ImportError:
            raise MissingExtraError(package, "catalog", "`featurestore catalog`") from None


def build_site(project, *, out_dir: Path | None = None, training_sets=(),
               serving_window: dt.timedelta = DEFAULT_WINDOW, jobs: int | None = None,
               progress: Callable[[str], None] = lambda line: None) -> SiteReport:
    """Write the catalog site to ``out_dir`` (default ``<dbt target>/catalog``), whole."""
    started = time.perf_counter()
    require_extras()
    out_dir = Path(out_dir) if out_dir else project.target_dir / "catalog"
    output.check_destination(out_dir)
    catalog, inputs, notes, applied = gather(project, training_sets=training_sets,
                                    serving_window=serving_window, progress=progress)
    env = pages.environment()
    site = {"project": project.dbt_project.get("name") or project.root.name,
            "built_at": f"{utc_naive():%Y-%m-%d %H:%M} UTC"}
    rows = [pages.index_row(i.view, i.health) for i in inputs]
    services = service_pages.gather(project, catalog, notes)
    plot_count = 0
    with output.staged(out_dir) as folder:
        _WORK.update(inputs=inputs, env=env, site=site, folder=folder)
        try:
            workers = min(_jobs(jobs), len(inputs))
            if workers > 1 and "fork" in multiprocessing.get_all_start_methods():
                with multiprocessing.get_context("fork").Pool(workers) as pool:
                    for done, (_, plots_drawn) in enumerate(
                            pool.imap_unordered(_draw, range(len(inputs)), chunksize=4), 1):
                        plot_count += plots_drawn
                        _tick(progress, done, len(inputs))
            else:
                for done, index in enumerate(range(len(inputs)), 1):
                    plot_count += _draw(index)[1]
                    _tick(progress, done, len(inputs))
        finally:
            _WORK.clear()
        entities = pages.entity_rows(catalog, rows)
        on_demand = on_demand_page.index_rows(catalog)
        written = on_demand_page.write_pages(folder, env, site, catalog, services, applied)
        output.write_page(folder, "index.html", env.get_template("index.html").render(
            site=site, base="", rows=rows, entities=entities, notes=notes,
            filters=pages.index_filters(rows), ready=sum(r["health"].ready for r in rows),
            services=services, on_demand=on_demand))
        service_pages.write(env, folder, site, services)
        for entity in entities:
            output.write_page(folder, f"entities/{entity['file']}",
                              env.get_template("entity.html").render(
                                  site=site, base="../", entity=entity["entity"],
                                  views=[r for r in rows if r["entity"] == entity["name"]]))
    return SiteReport(out_dir, len(inputs),
                      1 + len(inputs) + len(entities) + len(services) + written,
                      plot_count,
                      sum(r["health"].ready for r in rows), time.perf_counter() - started,
                      notes)


def _tick(progress, done: int, total: int) -> None:
    if done == total or done % 25 == 0:
        progress(f"catalog: {done}/{total} view page(s) drawn")
