"""The warehouse, from the dbt profile and target that dbt itself resolves.

One source of truth for the connection, for dbt and featurestore alike. featurestore
runs dbt from the project folder, so dbt's rules apply as if you ran ``dbt`` there:
``profiles.yml`` from ``--profiles-dir``, else DBT_PROFILES_DIR, else the project folder,
else ``~/.dbt/``; the profile ``dbt_project.yml`` names (or DBT_PROFILE); the target
``--target``, else DBT_TARGET, else the profile's ``target:``; ``env_var()`` rendered
with the environment dbt sees; relative paths taken from the project folder. The
profile is read and rendered by dbt's own code (``read_profile``,
``Profile.render_profile``) into the adapter's own credentials class, so what
featurestore opens is what dbt built, never a parser of ours that could drift.

featurestore's overrides (FEATURESTORE_DUCKDB_PATH, FEATURESTORE_SPARK_DIR,
FEATURESTORE_SPARK_DRIVER_MEMORY, SNOWFLAKE_*) and the settings it needs (Spark's UTC
session, ...) are changes of the profile's text (``Dialect.profile_changes``). When
there are any, dbt runs with that changed profile, written for the run into a private
temporary folder, and featurestore renders the same text: an override reaches dbt too,
and the two never disagree. Each change of a value the profile itself set is one note
on stderr naming both values and the one in force.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from featurestore import profile_cache
from featurestore.dialects import NAMES, Dialect, for_target
from featurestore.dialects.base import Change
from featurestore.errors import MissingExtraError, ProjectError

_CACHE: dict[tuple, DbtTarget] = {}


@dataclass(frozen=True)
class DbtTarget:
    """The resolved target: which profile, which output, and the adapter's credentials
    (dbt's own class: ``path``, ``account``, ``schema``, ``server_side_parameters``...)
    after featurestore's changes, exactly as dbt will see them."""

    root: Path
    profile_name: str
    target_name: str
    profiles_path: Path
    credentials: Any
    changes: tuple[Change, ...] = ()
    derived_profile: str | None = None  # the profiles.yml text dbt runs with, if changed

    @property
    def type(self) -> str:
        return self.credentials.type

    @property
    def dialect(self) -> Dialect:
        return for_target(self.type)

    @property
    def schema(self) -> str:
        return self.credentials.schema

    @property
    def where(self) -> str:
        """The target, as messages name it."""
        return (f"target `{self.target_name}` of profile `{self.profile_name}` "
                f"({self.profiles_path})")

    @property
    def notes(self) -> list[str]:
        return [note for change in self.changes if (note := change.note(self.where))]

    @property
    def duckdb_path(self) -> Path | None:
        """The DuckDB file (None on another warehouse), relative paths from the root."""
        return self.dialect.warehouse_file(self)

    @property
    def local_dir(self) -> Path:
        """The folder of local files kept beside the warehouse (the loop's lock, the
        training sets the catalog finds): the DuckDB file's, else ``warehouse/``."""
        path = self.duckdb_path
        return path.parent if path is not None else self.root / "warehouse"

    def path(self, value: str | Path) -> Path:
        """A path of the profile, as dbt running in the project folder takes it."""
        candidate = Path(os.path.expanduser(str(value)))
        return candidate if candidate.is_absolute() else self.root / candidate

    def describe(self) -> str:
        return f"{self.dialect.describe(self)}, {self.where}"

    @contextlib.contextmanager
    def profiles_dir(self) -> Iterator[Path]:
        """The folder to pass dbt as ``--profiles-dir``: the user's, or a private one
        holding the changed profile for the length of the run."""
        if self.derived_profile is None:
            yield self.profiles_path.parent
            return
        with tempfile.TemporaryDirectory(prefix="featurestore-profile-") as folder:
            path = Path(folder) / "profiles.yml"
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(self.derived_profile)
            yield Path(folder)


def profiles_folder(root: Path, settings, explicit: Path | str | None = None) -> Path:
    """Where profiles.yml is read: ``explicit`` (``--profiles-dir``), DBT_PROFILES_DIR,
    the project folder when it has one (dbt's "current directory": featurestore runs dbt
    from there), else ``~/.dbt/``."""
    if explicit is not None:
        return Path(explicit).expanduser().resolve()
    if settings.profiles_dir is not None:
        return settings.profiles_dir.expanduser().resolve()
    if (root / "profiles.yml").is_file():
        return root
    return Path.home() / ".dbt"


def resolve(project, *, profiles_dir: Path | str | None = None,
            target: str | None = None) -> DbtTarget:
    """The target of ``project`` (a Project), through dbt's profile loading; cached per
    process, by everything that decides it.

    Raises:
        ProjectError: no profiles.yml, no such profile or target, a value dbt refuses, or
            a warehouse featurestore does not run on.
        MissingExtraError: the target's dbt adapter is not installed.
    """
    root, settings = project.root, project.settings
    folder = profiles_folder(root, settings, profiles_dir)
    environment = settings.dbt_environment()
    overrides = (settings.duckdb_path, settings.spark_dir, settings.spark_driver_memory,
                 settings.dbt_profile, settings.dbt_target,
                 tuple(sorted(settings.snowflake.items())))
    key = (root, folder, target, _stamp(folder / "profiles.yml"),
           _stamp(root / "dbt_project.yml"), tuple(sorted(environment.items())), overrides)
    if key not in _CACHE:
        setting = project.dbt_project.get("profile")
        # a DuckDB target resolved before with everything the same is read back, without
        # importing dbt (featurestore/profile_cache.py)
        kept = profile_cache.key(str(root), str(folder), target,
                                 profile_cache.environment(environment),
                                 overrides, repr(setting),
                                 files=(folder / "profiles.yml", root / "dbt_project.yml"))
        resolved = _from_kept(profile_cache.load(project.target_dir, kept))
        if resolved is None:
            resolved = contextvars.copy_context().run(
                _resolve, root, settings, folder, target, environment, setting)
            if resolved.type in profile_cache.KEPT_TYPES:
                profile_cache.store(project.target_dir, kept, _to_kept(resolved))
        _CACHE[key] = resolved
    return _CACHE[key]


def _to_kept(target: DbtTarget) -> dict:
    credentials = target.credentials
    return {"root": str(target.root), "profile_name": target.profile_name,
            "target_name": target.target_name, "profiles_path": str(target.profiles_path),
            "credentials": profile_cache.KeptCredentials(
                credentials.type, str(credentials.path), credentials.schema,
                getattr(credentials, "database", None)),
            "changes": [{"key": list(c.key), "value": c.value, "shown": c.shown,
                         "was": c.was, "variable": c.variable, "reason": c.reason,
                         "secret": c.secret} for c in target.changes],
            "derived_profile": target.derived_profile}


def _from_kept(document: dict | None) -> DbtTarget | None:
    if document is None:
        return None
    try:
        changes = tuple(Change(**{**change, "key": tuple(change["key"])})
                        for change in document["changes"])
        return DbtTarget(Path(document["root"]), document["profile_name"],
                         document["target_name"], Path(document["profiles_path"]),
                         document["credentials"], changes, document["derived_profile"])
    except (KeyError, TypeError):
        return None


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def _resolve(root: Path, settings, folder: Path, target: str | None,
             environment: dict[str, str], setting) -> DbtTarget:
    """Run in a copy of the context: dbt's env_var() reads an invocation context."""
    from dbt_common.context import set_invocation_context

    set_invocation_context(environment)
    path = folder / "profiles.yml"
    raw = _read(path)
    name = _profile_name(root, settings, setting, path)
    if name not in raw:
        names = ", ".join(f"`{key}`" for key in sorted(raw) if key != "config") or "none"
        raise ProjectError(
            f"{path}: no profile `{name}` (the profile {root / 'dbt_project.yml'} names); "
            f"it has {names}. Add it, or point DBT_PROFILES_DIR or --profiles-dir at the "
            "folder of the profiles.yml that has it.")
    target = target or settings.dbt_target
    target_name, output = _render(raw, name, target, path)
    credentials = _credentials(output, name, target_name, path)
    where = f"target `{target_name}` of profile `{name}` ({path})"
    changes = tuple(for_target(credentials.type).profile_changes(credentials, settings, root,
                                                                 where))
    if not changes:
        return DbtTarget(root, name, target_name, path, credentials)
    document = _derive(raw, name, target_name, changes, type(credentials))
    _, output = _render(document, name, target_name, path)
    credentials = _credentials(output, name, target_name, path)
    import yaml

    text = ("# written by featurestore for one dbt run: the profile it read, with its "
            "changes\n" + yaml.safe_dump(document, sort_keys=False))
    return DbtTarget(root, name, target_name, path, credentials, changes, text)


def _read(path: Path) -> dict:
    from dbt.config.profile import read_profile

    if not path.is_file():
        raise ProjectError(
            f"no dbt profile: {path} does not exist. featurestore reads the profile dbt "
            "uses: a profiles.yml in the project folder or ~/.dbt/, or the folder "
            "--profiles-dir or DBT_PROFILES_DIR names.")
    with _dbt_errors(path):
        raw = read_profile(str(path.parent))
    if not isinstance(raw, dict):
        raise ProjectError(f"{path}: not a mapping of profiles.")
    return raw


def _profile_name(root: Path, settings, setting, path: Path) -> str:
    """DBT_PROFILE, else dbt_project.yml's ``profile:`` (``setting``), rendered as dbt
    renders it."""
    from dbt.config.renderer import ProfileRenderer

    if settings.dbt_profile:
        return settings.dbt_profile
    project_file = root / "dbt_project.yml"
    if not setting:
        raise ProjectError(
            f"{project_file}: no `profile:`. dbt and featurestore connect through the "
            f"profile it names: add `profile: <name>` naming a profile of {path}.")
    with _dbt_errors(project_file):
        return str(ProfileRenderer({}).render_value(setting))


def _render(raw: dict, name: str, target: str | None, path: Path) -> tuple[str, dict]:
    from dbt.config.profile import Profile
    from dbt.config.renderer import ProfileRenderer

    if not isinstance(raw[name], dict) or not isinstance(raw[name].get("outputs"), dict):
        raise ProjectError(f"{path}, profile `{name}`: no `outputs:` mapping of targets.")
    with _dbt_errors(path):
        target_name, output = Profile.render_profile(raw[name], name, target,
                                                     ProfileRenderer({}))
    output = dict(output)
    output.pop("threads", None)  # dbt's, not a credential
    kind = output.get("type")
    if kind not in NAMES:
        raise ProjectError(
            f"{path}, target `{target_name}` of profile `{name}`: type `{kind}`. "
            f"featurestore runs on {', '.join(NAMES)}; pick one of those targets with "
            "--target or DBT_TARGET.")
    return str(target_name), output


def _credentials(output: dict, name: str, target_name: str, path: Path):
    from dbt.config.profile import Profile

    kind = output["type"]
    dialect = for_target(kind)
    if dialect.extra is not None:
        try:
            __import__(f"dbt.adapters.{kind}")
        except ImportError:
            raise MissingExtraError(dialect.dbt_package, dialect.extra,
                                    f"The {kind} target `{target_name}`") from None
    with _dbt_errors(path):
        return Profile._credentials_from_profile(dict(output), name, target_name)


def _derive(raw: dict, name: str, target_name: str, changes, credentials_class) -> dict:
    """The profile's own text (values still unrendered: secrets stay env_var() calls)
    with featurestore's changes, for the one target."""
    output = copy.deepcopy(raw[name]["outputs"][target_name])
    aliases = getattr(credentials_class, "_ALIASES", {}) or {}
    for change in changes:
        holder = output
        for part in change.key[:-1]:
            holder = holder.setdefault(part, {})
        leaf = change.key[-1]
        for alias, canonical in aliases.items():
            if canonical == leaf and len(change.key) == 1:
                holder.pop(alias, None)
        holder[leaf] = change.value
    document = {name: {"target": target_name, "outputs": {target_name: output}}}
    if isinstance(raw.get("config"), dict):
        document["config"] = raw["config"]
    return document


@contextlib.contextmanager
def _dbt_errors(path: Path) -> Iterator[None]:
    """dbt's errors about a profile, as featurestore's: the file and dbt's words."""
    from dbt_common.exceptions import DbtBaseException

    try:
        yield
    except DbtBaseException as exc:
        message = " ".join(str(getattr(exc, "msg", None) or exc).split())
        raise ProjectError(f"{path}: {message}") from None
