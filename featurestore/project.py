"""A featurestore project: a dbt project with a ``feature_defs/`` folder, and its settings.

Any dbt project becomes one by adding ``feature_defs/`` (contracts) beside its
``dbt_project.yml``: this repository's demo, or a team's own project that installs
featurestore as a dbt package. The project is found as dbt finds its own: an explicit
folder (``--project-dir``, ``FEATURESTORE_PROJECT_DIR``), else the nearest folder at or
above the working directory. The dbt profile is the one place the warehouse is
described, for dbt and for featurestore alike: ``Project.dbt_target`` is the target dbt
resolves (featurestore/dbt_profile.py), read only when a command needs the warehouse.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from featurestore.errors import ProjectError
from featurestore.settings import Settings

if TYPE_CHECKING:
    from featurestore.dbt_profile import DbtTarget

STORE_SCHEMA = "featurestore"  # registry, sync_state, gate_results live here
PROJECT_DIR_VARIABLE = "FEATURESTORE_PROJECT_DIR"
log = logging.getLogger("featurestore.project")


@dataclass
class Project:
    root: Path
    settings: Settings = None  # type: ignore[assignment]  # filled from the environment
    # the dbt target and profiles folder asked for (--target, --profiles-dir; the SDK's
    # target=, profiles_dir=); None: as dbt decides (DBT_TARGET, DBT_PROFILES_DIR, ...)
    target: str | None = None
    profiles_dir_option: Path | str | None = None
    _dbt_target: DbtTarget | None = field(default=None, init=False, repr=False, compare=False)
    # the last manifest read, with the (path, mtime) it was read at
    _manifest: tuple | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.root = Path(self.root).resolve()
        if self.settings is None:
            self.settings = Settings.from_env(self.root)

    @classmethod
    def find(cls, start: Path | str | None = None, settings: Settings | None = None, *,
             target: str | None = None,
             profiles_dir: Path | str | None = None) -> Project:
        """The project at ``start`` if given (else FEATURESTORE_PROJECT_DIR), or the nearest
        folder at or above the working directory with dbt_project.yml and feature_defs/."""
        options = {"target": target, "profiles_dir_option": profiles_dir}
        explicit = start or os.environ.get(PROJECT_DIR_VARIABLE)
        if explicit:
            root = Path(explicit).resolve()
            problem = _not_a_project(root)
            if problem:
                raise ProjectError(f"{root}: {problem}")
            return cls(root, settings, **options)
        here = Path.cwd().resolve()
        for folder in (here, *here.parents):
            if not _not_a_project(folder):
                return cls(folder, settings, **options)
        raise ProjectError(
            f"{here}: not inside a featurestore project (no dbt_project.yml with a "
            "feature_defs/ folder beside it, here or above). Run from the project, pass "
            f"--project-dir, or set {PROJECT_DIR_VARIABLE}."
        )

    # -- folders -------------------------------------------------------------------------
    @property
    def feature_defs(self) -> Path:
        return self.root / "feature_defs"

    @property
    def dbt_project(self) -> dict:
        """The parsed dbt_project.yml (its name and paths)."""
        import yaml

        try:
            document = yaml.safe_load((self.root / "dbt_project.yml").read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ProjectError(f"{self.root / 'dbt_project.yml'}: cannot be read ({exc})") \
                from None
        return document if isinstance(document, dict) else {}

    def _first_path(self, key: str, default: str) -> Path:
        paths = self.dbt_project.get(key) or [default]
        return self.root / str(paths[0])

    @property
    def models_dir(self) -> Path:
        return self._first_path("model-paths", "models")

    @property
    def macros_dir(self) -> Path:
        return self._first_path("macro-paths", "macros")

    @property
    def target_dir(self) -> Path:
        """dbt's target folder; DBT_TARGET_PATH moves it, for dbt and for us alike."""
        return self.settings.dbt_target_dir

    @property
    def dbt_target(self) -> DbtTarget:
        """The warehouse: the dbt profile's target that dbt resolves for this project,
        with featurestore's overrides. Read once per project (and cached per process);
        each override that differs from the profile is one note, said here."""
        if self._dbt_target is None:
            from featurestore.dbt_profile import resolve

            self._dbt_target = resolve(self, profiles_dir=self.profiles_dir_option,
                                       target=self.target)
            for note in self._dbt_target.notes:  # a warning: stderr, in the CLI's format
                log.warning("note: %s", note)
        return self._dbt_target

    @property
    def profiles_dir(self) -> Path:
        """The folder of the profiles.yml dbt and featurestore read."""
        return self.dbt_target.profiles_path.parent

    @property
    def warehouse_dir(self) -> Path:
        return self.root / "warehouse"

    # -- what the project knows ----------------------------------------------------------
    def catalog(self):
        from featurestore.contracts import load_catalog

        return load_catalog(self.feature_defs)

    def dbt_manifest(self) -> dict | None:
        """``target/manifest.json`` from the last dbt parse or build, if there is one.

        None also when the file is not whole JSON: dbt writes it in place, so a process
        killed while dbt wrote it leaves it empty or cut short. A caller then parses the
        project again, as for a fresh clone that has none (ingest does, and so every
        loop cycle), rather than every later command failing until someone runs
        ``dbt parse``.
        """
        path = self.target_dir / "manifest.json"
        try:
            stat = path.stat()
        except OSError:
            return None
        version = (path, stat.st_mtime_ns, stat.st_size)
        if self._manifest is None or self._manifest[0] != version:
            manifest = _read_manifest(path)
            if manifest is None:
                return None
            self._manifest = (version, manifest)
        return self._manifest[1]

    def model_node(self, model: str, version: int | None = None) -> dict | None:
        """The dbt manifest's node of ``model`` (at dbt model ``version``, for a versioned
        model; without one, its unversioned node or else its latest version)."""
        manifest = self.dbt_manifest()
        if not manifest:
            return None
        found = None
        for node in manifest.get("nodes", {}).values():
            if node.get("resource_type") != "model" or node.get("name") != model:
                continue
            have = node.get("version")
            if version is None:
                if have is None or str(have) == str(node.get("latest_version")):
                    return node
            elif have is not None and str(have) == str(version):
                return node
            elif have is None and found is None:
                found = node  # built before it had versions: the same model
        return found


def _not_a_project(folder: Path) -> str | None:
    if not (folder / "dbt_project.yml").is_file():
        return "no dbt_project.yml here; a featurestore project is a dbt project"
    if not (folder / "feature_defs").is_dir():
        return ("no feature_defs/ folder beside dbt_project.yml; create it with an "
                "entities.yml (see the README's tutorial)")
    return None


def _read_manifest(path: Path) -> dict | None:
    """The manifest at ``path``; None when it is not whole JSON (a write cut short)."""
    try:
        manifest = json.loads(path.read_bytes())
    except (ValueError, OSError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return None
    return manifest if isinstance(manifest, dict) else None
