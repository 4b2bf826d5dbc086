"""``featurestore catalog``: write the browsable feature catalog (a static site)."""

from __future__ import annotations

from pathlib import Path

import click

from featurestore.apps.cli.shared import emit_json, get_project, json_option, say


@click.command("catalog")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where to write the site; default: target/catalog/ (dbt's target folder).")
@click.option("--training-set", "training_sets", multiple=True,
              type=click.Path(path_type=Path),
              help="A training-set Parquet file (with its .manifest.json) or a folder of "
                   "them, besides those under warehouse/ and the project folder (repeatable).")
@click.option("--serving-window", default="7d", show_default=True,
              help="How much of the serving log, up to its newest line, the pages describe.")
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="Processes drawing the view pages; default: the cores, at most 4.")
@click.option("--open", "open_site", is_flag=True,
              help="Then open the index in a web browser (BROWSER if set, else the "
              "system's default: xdg-open, open, start).")
@json_option
@click.pass_context
def catalog_command(ctx, out_dir, training_sets, serving_window, jobs, open_site, as_json):
    """Write the feature catalog: a static site of every feature view, its contract,
    readiness, plots, lineage, consumers and versions.

    It opens from the file system (target/catalog/index.html; `--open` opens it),
    deploys to any static host, and `featurestore serve` serves it at /catalog/. The
    previous site is replaced only once the new one is complete.

    \b
    Example:
      featurestore gate --local
      featurestore catalog --open
    """
    import datetime as dt

    from featurestore.apps.catalog_site import build_site
    from featurestore.durations import parse_duration
    from featurestore.errors import RequestError

    try:
        window = dt.timedelta(seconds=parse_duration(serving_window))
    except ValueError as exc:
        raise RequestError(f"--serving-window: {exc}") from None
    project = get_project(ctx)
    if out_dir is not None and not out_dir.is_absolute():
        out_dir = Path.cwd() / out_dir
    report = build_site(project, out_dir=out_dir, training_sets=training_sets,
                        serving_window=window, jobs=jobs, progress=say)
    for note in report.notes:
        say(f"note: {note}")
    if as_json:
        emit_json(report.to_dict())
    else:
        click.echo(f"wrote the catalog: {report.pages} pages ({report.views} views, "
                   f"{report.ready} production-ready; {report.plots} plots) in "
                   f"{report.seconds:.1f} s: {report.out_dir / 'index.html'}")
    if open_site:
        open_in_browser(report.out_dir / "index.html")


def open_in_browser(page: Path) -> None:
    """Open ``page`` with the standard library's ``webbrowser`` (it honours BROWSER and
    knows each platform's opener, where a hard-coded `open` exists on macOS only). A
    machine with no browser gets the file's URL to open by hand: the site is written."""
    import webbrowser

    url = page.resolve().as_uri()
    try:
        opened = webbrowser.open(url)
    except webbrowser.Error:
        opened = False
    say(f"opened {url}" if opened else
        f"note: no web browser found to open {url}; open it by hand, or set BROWSER")
