"""The wheel's package list (pyproject.toml) names every package of the source tree: a
folder missing from it installs without complaint and fails at its first import, as
`featurestore.ingest`, `featurestore.ondemand` and `featurestore.apps.versions` once did."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_folder_is_in_the_wheel():
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = setuptools["package-dir"]  # package -> folder, for the mapped roots
    found = set()
    for package, folder in folders.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / folder)
            found.add(".".join([package, *relative.parts]))
    assert found - set(setuptools["packages"]) == set()
