"""Writing the site whole or not at all.

The pages are written into a fresh folder beside the destination, and only when every
page is written does that folder take the destination's place (two renames on the same
file system); a failure leaves the previous site as it was and removes the partial one.
A marker file says that a folder is a catalog this command wrote: a destination that
exists without it (someone's own folder, named by mistake) is refused, never replaced.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from importlib import resources
from pathlib import Path

from featurestore.errors import ProjectError

MARKER = ".featurestore-catalog"
ASSETS = ("catalog.css", "catalog.js")


def check_destination(out_dir: Path) -> None:
    if out_dir.exists() and (not out_dir.is_dir() or (
            any(out_dir.iterdir()) and not (out_dir / MARKER).exists())):
        raise ProjectError(
            f"{out_dir}: exists and is not a catalog that `featurestore catalog` wrote (no "
            f"{MARKER} file in it); it is left untouched. Choose a new or empty folder with "
            "--out.")


@contextlib.contextmanager
def staged(out_dir: Path):
    """Yields a fresh folder to write the site into; on success it becomes ``out_dir``."""
    check_destination(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-new-", dir=out_dir.parent))
    try:
        staging.chmod(0o755)  # mkdtemp's 0700 would hide the site from a web server
        (staging / MARKER).write_text("written by `featurestore catalog`; the folder is "
                                      "replaced whole on each build\n")
        assets = staging / "assets"
        assets.mkdir()
        for name in ASSETS:
            source = resources.files("featurestore.apps.catalog_site") / "static" / name
            (assets / name).write_bytes(source.read_bytes())
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    old = None
    if out_dir.exists():
        old = out_dir.parent / f".{out_dir.name}-old-{os.getpid()}"
        shutil.rmtree(old, ignore_errors=True)
        os.replace(out_dir, old)
    os.replace(staging, out_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_page(folder: Path, relative: str, text: str) -> None:
    """One page; text a file system cannot hold in UTF-8 (a lone surrogate from a log) is
    replaced, never a reason to fail the build."""
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", errors="replace") as handle:
        handle.write(text)
