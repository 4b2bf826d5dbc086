"""Render the point-in-time macro bodies with plain jinja2, outside dbt.

The ``featurestore training-set`` command needs the as-of join SQL without paying dbt's
start-up (about 5 s). The bodies in ``macros/`` are plain Jinja on purpose (no
``return``, ``adapter``, ``ref`` or ``exceptions``), so the very same files that dbt
compiles are rendered here; a test compares both renderings so they cannot drift. The
files ship inside the Python package (``featurestore.macros``), so a wheel renders what
this repository does. The bodies call each other as ``featurestore.<macro>``, as a dbt
package must (dbt resolves an unqualified name in the calling project, not the
package); here ``featurestore`` is the template's own module.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

from featurestore.errors import ProjectError

# The files holding the bodies and the helpers they call, in load order.
MACRO_FILES = ("featurestore_helpers.sql", "feature_timeline.sql", "as_of_join.sql",
               "spark/featurestore_spark_helpers.sql", "spark/featurestore_spark_pit.sql")
DIALECTS = ("duckdb", "snowflake", "spark", "default")


class _Namespace:
    """``featurestore.<macro>`` inside the templates: the module, once it exists."""

    module = None

    def __getattr__(self, name: str):
        return getattr(self.module, name)


@functools.lru_cache(maxsize=8)
def _macros(macros_dir: str | None):
    """The template module exposing every macro of MACRO_FILES (cached per folder;
    None: the package's own copy)."""
    import jinja2

    folder = Path(macros_dir) if macros_dir else resources.files("featurestore.macros")
    missing = [name for name in MACRO_FILES if not (folder / name).is_file()]
    if missing:
        raise ProjectError(
            f"{folder}: missing macro file(s) {', '.join(missing)}; the point-in-time SQL "
            "is rendered from them. Reinstall featurestore."
        )
    source = "\n".join((folder / name).read_text() for name in MACRO_FILES)
    # Compiling these macros takes about 0.25 s, a quarter of a small training set: the
    # compiled code is cached (per user, in the temporary folder, keyed by the source's
    # checksum, so an edited macro is recompiled).
    env = jinja2.Environment(extensions=["jinja2.ext.do"], undefined=jinja2.StrictUndefined,
                             loader=jinja2.DictLoader({"featurestore_macros": source}),
                             bytecode_cache=jinja2.FileSystemBytecodeCache())
    namespace = _Namespace()
    env.globals["featurestore"] = namespace
    namespace.module = env.get_template("featurestore_macros").module
    return namespace.module


def _body(dialect: str, macro: str, macros_dir: Path | str | None, name: str | None = None):
    """The ``<dialect>__<macro>`` body (or the macro ``name`` itself)."""
    if dialect not in DIALECTS:
        raise ProjectError(
            f"unknown SQL dialect {dialect!r}; use one of {', '.join(DIALECTS)}."
        )
    module = _macros(str(Path(macros_dir).resolve()) if macros_dir else None)
    return getattr(module, name or f"{dialect}__{macro}")


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

    Rendered from the macro files with plain jinja2: the same text dbt compiles for
    ``as_of_join_specs(spine_relation, specs, event_ts, known_at_event, spine_utc)``;
    ``spine_utc``: the spine's event time is timezone-aware (compared by its instant,
    kept in its form).
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
    body = _body(dialect, "as_of_join_specs", macros_dir)
    return str(body(spine_relation, specs, event_ts=event_ts, known_at_event=known_at_event,
                    spine_utc=spine_utc))


def render_utc_naive(dialect: str, expr: str) -> str:
    """SQL of a timezone-aware ``expr`` as naive UTC: the macros' own spelling, so that
    featurestore's hand-built SQL (the gates) converts exactly as the joins do."""
    return str(_body(dialect, "", None, name="featurestore_utc_naive")(expr, dialect))


def render_feature_timeline(
    dialect: str, relation: str, spec: dict, macros_dir: Path | str | None = None
) -> str:
    """SQL text of ``feature_timeline(relation, spec)`` for the dialect, as dbt compiles it."""
    _check_spec(spec, 1, needs_relation=False)
    body = _body(dialect, "feature_timeline", macros_dir)
    return str(body(relation, spec))
