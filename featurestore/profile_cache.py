"""The resolved DuckDB target, kept between runs, so a command that only opens DuckDB does
not import dbt.

``dbt_profile.resolve`` renders the profile through dbt's own code, and importing it
costs more than many commands do themselves (62 MB, and 16 of the 20 seconds of a
training set profiled on a loaded machine: most of the gap between ``featurestore
training-set`` and one DuckDB ``ASOF JOIN`` in its own process). What featurestore reads
of a DuckDB target is four plain values (type, path, schema, database) and its own
changes, none of them secret, so the first resolution writes them to ``<dbt target
folder>/featurestore_target.json`` and later processes read them back while nothing that
decides them changed: the bytes of ``profiles.yml`` and ``dbt_project.yml``, the folder
and profile and target asked for, featurestore's overrides, the environment dbt would see
(hashed, never stored; less the shell's own ``_``, ``OLDPWD`` and ``SHLVL``, and
DuckDB's allocator settings), and the installed dbt and featurestore distributions.
Anything else is a new resolution through dbt, which rewrites the file. Other warehouses
are never kept: their credentials hold secrets.
"""

from __future__ import annotations

import hashlib
import json
import os
import sysconfig
from dataclasses import asdict, dataclass
from pathlib import Path

from featurestore.dialects.duckdb import ALLOCATOR_VARIABLE

FILE_NAME = "featurestore_target.json"
FORMAT = 1
KEPT_TYPES = ("duckdb",)
# what changes between two runs and decides no target: the shell's bookkeeping (``_``,
# the last command run; ``OLDPWD``; ``SHLVL``), and the DuckDB allocator's settings that
# ``featurestore training-set`` gives its own process (dialects/duckdb.py), so that a
# training set and a build share one kept target
_NOT_READ_BY_PROFILES = frozenset({"_", "OLDPWD", "SHLVL", ALLOCATOR_VARIABLE})
_DISTRIBUTIONS = ("dbt_core-", "dbt_duckdb-", "dbt_adapters-", "featurestore-")


@dataclass(frozen=True)
class KeptCredentials:
    """What featurestore reads of a DuckDB target's credentials, as dbt rendered them."""

    type: str
    path: str
    schema: str
    database: str | None = None


def key(*parts: object, files: tuple[Path, ...]) -> str:
    """The hash of everything that decides a resolution: ``parts`` (folders, names,
    overrides, the environment), the bytes of ``files``, the installed distributions."""
    digest = hashlib.sha256(repr((FORMAT, parts, _installed())).encode())
    for path in files:
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"\0missing")
    return digest.hexdigest()


def environment(variables: dict[str, str]) -> list[tuple[str, str]]:
    """The environment as the key takes it: every variable but _NOT_READ_BY_PROFILES."""
    return sorted((name, value) for name, value in variables.items()
                  if name not in _NOT_READ_BY_PROFILES)


def _installed() -> tuple[str, ...]:
    """The dist-info folders of dbt, its DuckDB adapter and featurestore (names carry the
    versions): one directory listing, no import."""
    names: list[str] = []
    for folder in {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}:
        try:
            names += [name for name in os.listdir(folder)
                      if name.startswith(_DISTRIBUTIONS) and name.endswith(".dist-info")]
        except OSError:
            pass
    return tuple(sorted(names))


def load(folder: Path, wanted: str) -> dict | None:
    """The kept resolution under ``wanted`` (a ``key``), or None: no file, another key, or
    a file that does not read back (it is then resolved again and rewritten)."""
    try:
        document = json.loads((folder / FILE_NAME).read_text())
        if document.get("format") != FORMAT or document.get("key") != wanted:
            return None
        document["credentials"] = KeptCredentials(**document["credentials"])
        return document
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def store(folder: Path, wanted: str, target: dict) -> None:
    """Keep ``target`` (a DuckDB target's fields, its credentials a ``KeptCredentials``)
    under ``wanted``; written whole or not at all, readable by the owner only. A folder
    that cannot be written keeps nothing: the next run resolves through dbt again."""
    credentials = target["credentials"]
    if credentials.type not in KEPT_TYPES:
        return
    document = {"format": FORMAT, "key": wanted, **target,
                "credentials": asdict(credentials)}
    partial = folder / f".{FILE_NAME}.{os.getpid()}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(document, handle, default=str)
        partial.replace(folder / FILE_NAME)
    except (OSError, TypeError, ValueError):
        partial.unlink(missing_ok=True)
