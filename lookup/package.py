"""Build the Lambda zip: our code, the registry snapshot, and nothing Lambda already has.

The Python 3.11 Lambda runtime ships boto3 and botocore; everything else the handler
imports is in the zip: the core modules of ``featurestore`` and its ``contracts``,
``online``, ``ondemand`` and ``lookup`` packages (sources only; the CLI, the sync, the
gates and the dialects stay out; so does ``ondemand/subset.py``, the load-time check,
with sqlglot: the lookup rebuilds each on-demand expression from the snapshot's checked
tree), the catalog baked to ``featurestore/lookup/registry.json`` (so the cold start
parses no YAML), and PyYAML's pure-Python modules, which ``featurestore.contracts``
imports (its compiled accelerator is left out: it would be built for this machine, not
for Lambda's), and the ``tzdata`` package's zone rules, which on-demand expressions read
instead of the runtime image's (``ondemand/evaluate.py``'s ``zone``). Files are found
through the import system, so a wheel and this repository give the same zip.

``unpack`` lays a zip out as Lambda runs it (the zip in ``task``, the runtime's own
modules beside it), for the tests and the benchmark that import the handler from it.

Each module also goes in compiled (``__pycache__/*.cpython-311.pyc``, unchecked-hash so
the zip's timestamps do not matter) when this Python is the runtime's 3.11: measured
here, that halves the handler's import at a cold start (about 90 ms -> 40 ms).
"""

from __future__ import annotations

import py_compile
import sys
import tempfile
import zipfile
from pathlib import Path

from featurestore.contracts import Catalog
from featurestore.lookup.registry_snapshot import build_snapshot

PACKAGES = ("featurestore", "featurestore.contracts", "featurestore.online",
            "featurestore.lookup", "featurestore.ondemand",
            "featurestore.feature_services")  # not recursive
# the on-demand subset's checker imports sqlglot; the lookup rebuilds checked trees
LEFT_OUT = frozenset({"featurestore/ondemand/subset.py"})
HANDLER = "featurestore.lookup.handler.handler"
RUNTIME = (3, 11)  # deploy/template.yaml: Runtime python3.11
# the modules the Python 3.11 Lambda runtime provides besides the standard library
RUNTIME_MODULES = ("boto3", "botocore", "jmespath", "dateutil", "urllib3", "s3transfer",
                   "six")
_FIXED_TIME = (2020, 1, 1, 0, 0, 0)  # the same sources give the same zip


def _add(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
    info.external_attr = 0o644 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def _add_module(archive: zipfile.ZipFile, name: str, path: Path, scratch: Path) -> int:
    """The source, and its bytecode when this interpreter matches the runtime; file count."""
    _add(archive, name, path.read_bytes())
    if sys.version_info[:2] != RUNTIME:
        return 1
    compiled = scratch / "module.pyc"
    py_compile.compile(str(path), cfile=str(compiled), dfile=name, doraise=True,
                       invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    folder, _, filename = name.rpartition("/")
    tag = sys.implementation.cache_tag
    _add(archive, f"{folder}/__pycache__/{filename[:-3]}.{tag}.pyc", compiled.read_bytes())
    return 2


def _add_zone_rules(archive: zipfile.ZipFile) -> int:
    """Every file of the ``tzdata`` package (its IANA rules, about 600 small files)."""
    import tzdata

    root = Path(tzdata.__file__).resolve().parent
    paths = sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    for path in paths:
        _add(archive, f"tzdata/{path.relative_to(root).as_posix()}", path.read_bytes())
    return len(paths)


def build_zip(catalog: Catalog, output: Path, progress=None, services: dict | None = None
              ) -> dict:
    """Write the zip to ``output``; return what went in (files, bytes, views).
    ``services``: the feature services' records with their frozen parameters
    (featurestore/feature_services/serving.py), baked into the snapshot."""
    import importlib
    import json

    import yaml

    yaml_dir = Path(yaml.__file__).resolve().parent
    snapshot = build_snapshot(catalog, services=services)
    output.parent.mkdir(parents=True, exist_ok=True)
    files = 0
    with zipfile.ZipFile(output, "w") as archive, tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        for package in PACKAGES:
            folder = Path(importlib.import_module(package).__file__).resolve().parent
            prefix = package.replace(".", "/")
            for path in sorted(folder.glob("*.py")):
                if f"{prefix}/{path.name}" not in LEFT_OUT:
                    files += _add_module(archive, f"{prefix}/{path.name}", path, scratch)
            if progress:
                progress(f"added {prefix}/")
        for path in sorted(yaml_dir.glob("*.py")):
            files += _add_module(archive, f"yaml/{path.name}", path, scratch)
        files += _add_zone_rules(archive)
        _add(archive, "featurestore/lookup/registry.json",
             (json.dumps(snapshot, indent=1, sort_keys=True) + "\n").encode())
        files += 1
        if progress:
            progress(f"baked the registry snapshot ({len(snapshot['views'])} online views)")
    return {"path": str(output), "files": files, "bytes": output.stat().st_size,
            "views": sorted(snapshot["views"]), "handler": HANDLER,
            "services": sorted(snapshot.get("services", {}))}


def unpack(zip_path: str | Path, folder: Path) -> tuple[Path, Path]:
    """Lay the zip out as Lambda runs it, to run it on this machine: unpacked to
    ``folder/task`` (Lambda's /var/task), and this interpreter's copies of the modules
    the runtime provides (``RUNTIME_MODULES``) linked into ``folder/runtime``. Returns
    ``(task, runtime)``: run ``python -S`` in task with ``PYTHONPATH=task:runtime``."""
    code, runtime = folder / "task", folder / "runtime"
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(code)
    runtime.mkdir()
    for name in RUNTIME_MODULES:
        source = Path(__import__(name).__file__)
        source = source.parent if source.name == "__init__.py" else source
        (runtime / source.name).symlink_to(source)
    return code, runtime
