"""Render the dbt macros with plain jinja2, outside dbt, with dbt's dispatch.

The ``featurestore training-set`` command needs the as-of join SQL without paying dbt's
start-up (about 5 s), and the gates and the Snowflake proofs need the macros' own
spellings. So the very files that dbt compiles are rendered here: every ``.sql`` under
``macros/`` (one macro per file, in folders by kind; ``generated/`` is the project's
own, and left out), from the package data ``featurestore.macros``, so a wheel renders
what this repository does. Tests compare both renderings so they cannot drift.

A template here sees what a dbt macro of the package sees for these names:

- ``featurestore.<macro>``: the package's macro (the bodies call each other this way, as
  a dbt package must: dbt resolves an unqualified name in the calling project);
- ``adapter.dispatch(name, 'featurestore')``: ``<dialect>__<name>``, else
  ``default__<name>``, as dbt searches for an adapter of that type (featurestore's own
  macros only: a consumer's overrides are dbt's business);
- ``return(value)``: the macro's value, ending it;
- ``exceptions.raise_compiler_error(message)``: a ProjectError with that message.

Anything else of dbt's (``ref``, ``this``, ``var``, ``execute``, ``modules``) is
absent: a macro that needs it runs in dbt only.
"""

from __future__ import annotations

import functools
import hashlib
from importlib import resources
from pathlib import Path

from featurestore.errors import ProjectError

DIALECTS = ("duckdb", "snowflake", "spark", "default")
# The prefixes dbt's dispatch tries, in order, for an adapter of each type.
ADAPTER_PREFIXES = {"duckdb": ("duckdb", "default"), "snowflake": ("snowflake", "default"),
                    "spark": ("spark", "default"), "default": ("default",)}
SKIPPED_FOLDERS = ("generated",)  # per project, written by `featurestore generate`
# What the renderer needs of the folder: a copy without it is not featurestore's.
REQUIRED_FILES = ("point_in_time/as_of_join_specs.sql", "point_in_time/feature_timeline.sql",
                  "rolling_windows/rolling_windows.sql")


class _Returned(Exception):
    """``return(value)`` inside a macro: dbt ends the macro with that value."""

    def __init__(self, value):
        super().__init__()
        self.value = value


def _return(value):
    raise _Returned(value)


class _Exceptions:
    """dbt's ``exceptions``, as far as the macros use it."""

    @staticmethod
    def raise_compiler_error(message):
        raise ProjectError(str(message))


class _Macro:
    """A macro as dbt hands it out: calling it gives its output, or what it returned."""

    def __init__(self, macro):
        self.macro = macro

    def __call__(self, *args, **kwargs):
        try:
            return self.macro(*args, **kwargs)
        except _Returned as returned:
            return returned.value


class _Package:
    """``featurestore.<macro>`` inside the templates, for one dialect."""

    def __init__(self, dialect: str):
        self.dialect = dialect
        self.module = None

    def __getattr__(self, name: str) -> _Macro:
        macro = getattr(self.module, name, None)
        if macro is None or not callable(macro):
            raise ProjectError(f"featurestore has no macro `{name}`; reinstall featurestore.")
        return _Macro(macro)


class _Adapter:
    """``adapter`` inside the templates: only ``dispatch``, as dbt does it."""

    def __init__(self, package: _Package):
        self.package = package

    def dispatch(self, name: str, macro_namespace: str | None = None) -> _Macro:
        tried = [f"{prefix}__{name}" for prefix in ADAPTER_PREFIXES[self.package.dialect]]
        for candidate in tried:
            if callable(getattr(self.package.module, candidate, None)):
                return getattr(self.package, candidate)
        raise ProjectError(
            f"In dispatch: no macro named `{name}` for the {self.package.dialect} dialect; "
            f"searched for {', '.join(tried)}."
        )


def macro_files(folder) -> list[str]:
    """The macro files the renderer loads, as paths relative to ``folder``, sorted."""
    found = []

    def walk(directory, prefix: str) -> None:
        for entry in directory.iterdir():
            if entry.is_dir() and entry.name not in SKIPPED_FOLDERS:
                walk(entry, f"{prefix}{entry.name}/")
            elif entry.is_file() and entry.name.endswith(".sql"):
                found.append(prefix + entry.name)

    walk(folder, "")
    return sorted(found)


@functools.lru_cache(maxsize=4)
def _template(macros_dir: str | None):
    """The compiled template holding every macro of the folder (cached per folder;
    None: the package's own copy)."""
    import jinja2

    folder = Path(macros_dir) if macros_dir else resources.files("featurestore.macros")
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if missing:
        raise ProjectError(
            f"{folder}: missing macro file(s) {', '.join(missing)}; the point-in-time SQL "
            "is rendered from them. Reinstall featurestore."
        )
    source = "\n".join((folder / name).read_text() for name in macro_files(folder))
    # Compiling these macros takes about 0.3 s, a quarter of a small training set: the
    # compiled code is cached, per user, in the temporary folder. Jinja names a cache
    # file after the template's name (the checksum only refuses a stale file), so the
    # name carries the source's checksum: two checkouts or installed versions with other
    # macros each keep their own file, instead of recompiling over each other's.
    name = "featurestore_macros_" + hashlib.sha256(source.encode()).hexdigest()[:16]
    env = jinja2.Environment(extensions=["jinja2.ext.do"], undefined=jinja2.StrictUndefined,
                             loader=jinja2.DictLoader({name: source}),
                             bytecode_cache=jinja2.FileSystemBytecodeCache())
    return env.get_template(name)


@functools.lru_cache(maxsize=16)
def _package(dialect: str, macros_dir: str | None) -> _Package:
    """The macros as one dialect's adapter sees them."""
    if dialect not in DIALECTS:
        raise ProjectError(
            f"unknown SQL dialect {dialect!r}; use one of {', '.join(DIALECTS)}."
        )
    package = _Package(dialect)
    package.module = _template(macros_dir).make_module(vars={
        "featurestore": package, "adapter": _Adapter(package), "return": _return,
        "exceptions": _Exceptions()})
    return package


def _folder(macros_dir: Path | str | None) -> str | None:
    return str(Path(macros_dir).resolve()) if macros_dir else None


def macro(dialect: str, name: str, macros_dir: Path | str | None = None):
    """The macro ``name`` itself (e.g. ``default__as_of_join_specs``), as rendered on the
    dialect's adapter: the helpers it calls dispatch for that dialect."""
    return getattr(_package(dialect, _folder(macros_dir)), name)


def dispatch(dialect: str, name: str, macros_dir: Path | str | None = None):
    """The implementation of ``name`` that dbt's dispatch picks on the dialect's adapter
    (``<dialect>__<name>``, else ``default__<name>``)."""
    return _Adapter(_package(dialect, _folder(macros_dir))).dispatch(name, "featurestore")


def _check_spec(spec: dict, index: int, *, needs_relation: bool) -> None:
    """The same checks as the public macros make in dbt, as FeatureStoreErrors."""
    label = f"spec #{index} (`{spec.get('name')}`)" if isinstance(spec, dict) else f"spec #{index}"
    if not isinstance(spec, dict):
        raise ProjectError(f"{label} must be a dict like generate.view_spec returns; got {spec!r}.")
    fields = ["name", "keys", "timestamp", "features"] + (["relation"] if needs_relation else [])
    for field in fields:
        if not spec.get(field):
            raise ProjectError(
                f"{label} has no `{field}`; build specs with featurestore.generate.view_spec "
                "and add `relation`."
            )
    if isinstance(spec["keys"], str):
        raise ProjectError(f"{label}: `keys` must be a list of column names, e.g. ['user_id'].")
    for feature in spec["features"]:
        if not isinstance(feature, dict) or not feature.get("name"):
            raise ProjectError(
                f"{label}: every feature must be a dict with `name` and `default_sql`; "
                f"got {feature!r}."
            )
    ttl = spec.get("ttl_seconds")
    if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int | float) or ttl <= 0):
        raise ProjectError(
            f"{label}: `ttl_seconds` must be a positive number or None; got {ttl!r}."
        )


def render_as_of_join(
    dialect: str,
    spine_relation: str,
    specs: list[dict],
    event_ts: str = "event_ts",
    known_at_event: bool = False,
    spine_utc: bool = False,
    macros_dir: Path | str | None = None,
) -> str:
    """SQL text of the as-of join for dialect 'duckdb' | 'snowflake' | 'spark' | 'default'.

    The same text dbt compiles for ``as_of_join_specs(spine_relation, specs, event_ts,
    known_at_event, spine_utc)`` on that adapter; ``spine_utc``: the spine's event time
    is timezone-aware (compared by its instant, kept in its form).
    """
    if not specs:
        raise ProjectError("render_as_of_join: `specs` is empty; pass at least one view spec.")
    names = []
    for index, spec in enumerate(specs, start=1):
        _check_spec(spec, index, needs_relation=True)
        if spec["name"] in names:
            raise ProjectError(
                f"view `{spec['name']}` is listed twice; list each view once (its output "
                "columns would collide)."
            )
        names.append(spec["name"])
    body = dispatch(dialect, "as_of_join_specs", macros_dir)
    return str(body(spine_relation, specs, event_ts=event_ts, known_at_event=known_at_event,
                    spine_utc=spine_utc))


def render_utc_naive(dialect: str, expr: str) -> str:
    """SQL of a timezone-aware ``expr`` as naive UTC: the macros' own spelling, so that
    featurestore's hand-built SQL (the gates) converts exactly as the joins do."""
    return str(macro(dialect, "featurestore_utc_naive")(expr))


def render_feature_timeline(
    dialect: str, relation: str, spec: dict, macros_dir: Path | str | None = None
) -> str:
    """SQL text of ``feature_timeline(relation, spec)`` for the dialect, as dbt compiles it."""
    _check_spec(spec, 1, needs_relation=False)
    return str(dispatch(dialect, "feature_timeline", macros_dir)(relation, spec))


def render_rolling_windows(
    dialect: str, relation: str, partition_by: list[str], event_ts: str,
    aggregates: list[dict], *, loaded_at: str | None = None, last_values=(),
    feature_ts: str = "feature_ts", previous: str | None = None,
    allowed_lateness: str | None = None, too_late: str = "skip", sum_scale: int = 12,
    partitions: int = 1, macros_dir: Path | str | None = None,
) -> str:
    """SQL text of ``rolling_windows(...)`` for the dialect, as dbt compiles it.

    ``previous``: the table an incremental run reads (dbt passes ``this`` in an
    incremental model's incremental run). ``partitions``: buckets of entities computed
    one after the other. Bad arguments raise ProjectError with the sentence dbt stops
    compilation with.
    """
    spec: dict = {}
    macro(dialect, "featurestore_rolling_spec", macros_dir)(
        spec, relation, partition_by, event_ts, aggregates, loaded_at, list(last_values),
        feature_ts, previous or False, allowed_lateness, too_late, sum_scale, partitions)
    return str(macro(dialect, "featurestore_rolling_partitions_sql", macros_dir)(spec))
