"""Cross-checks between contracts and the dbt models that compute them.

A contract promises columns and dtypes; the dbt model is what the warehouse actually
holds. These checks make sure the two agree before anyone trains on, or serves, a
view: the model exists, and once built, every key, timestamp and feature is a column
of a compatible type.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from featurestore.contracts import Catalog, FeatureView
from featurestore.dialects import Dialect
from featurestore.dtypes import DTYPES, accepts
from featurestore.errors import ValidationFailed, WarehouseError
from featurestore.project import Project
from featurestore.warehouse import Warehouse


def model_files(project: Project) -> dict[str, Path]:
    """dbt model name -> its SQL file, for every model under models/."""
    return {path.stem: path for path in sorted(project.models_dir.rglob("*.sql"))}


def missing_models(project: Project, catalog: Catalog) -> list[str]:
    files = model_files(project)
    problems = []
    for view in catalog.all_live():
        if view.model_file in files:
            continue
        if not view.is_base:  # a later version's model: dbt's <model>_v<N>.sql
            line = view.line_of(f"versions.v{view.version}")
            where = f"{view.path}:{line}" if line else view.path
            problems.append(
                f"{where}, field `versions.v{view.version}`: no dbt model file "
                f"`{view.model_file}.sql` under models/ for version {view.version} of "
                f"`{view.source}`. Create it beside {view.source}.sql (dbt's file name for "
                "a model version).")
            continue
        line = view.line_of("source")
        where = f"{view.path}:{line}" if line else view.path
        problems.append(
            f"{where}, field `source`: no dbt model `{view.source}` under models/ "
            f"(expected a file models/.../{view.source}.sql). Create it, or run "
            f"`featurestore new {view.name} --entity {view.entity.name}` to scaffold one."
        )
    return problems


def _expected_columns(view: FeatureView,
                      features: list[str] | None = None) -> list[tuple[str, str, str]]:
    """(column, dtype, what it is) for every column the contract promises (of the
    features, only those named in ``features`` when given)."""
    columns = [(k.name, k.dtype, "join key") for k in view.entity.join_keys]
    columns.append((view.timestamp, "timestamp", "timestamp"))
    if view.created_timestamp:
        columns.append((view.created_timestamp, "timestamp", "created timestamp"))
    columns.extend((f.name, f.dtype, "feature") for f in view.features
                   if features is None or f.name in features)
    return columns


def _where(view: FeatureView) -> str:
    return f"{view.path}, view `{view.name}`" + (
        f" (version {view.version})" if view.multi_version else "")


def missing_columns(view: FeatureView, actual: dict[str, str], relation: str,
                    features: list[str] | None = None) -> str | None:
    """Whether the built relation has the contract's columns: the one check of it, for
    ``featurestore validate`` and ``build``, the training set and the sync alike. None,
    or the sentence naming the contract, the relation, the missing columns and the fix.
    Names are compared without case (a warehouse may fold them)."""
    present = {name.lower() for name in actual}
    missing = [column for column, _, _ in _expected_columns(view, features)
               if column.lower() not in present]
    if not missing:
        return None
    return (f"{_where(view)}: {relation} has no column(s) {', '.join(missing)} that the "
            f"contract names (its columns: {', '.join(actual)}). Add them to model "
            f"`{view.source}` or fix the contract, then rebuild: `featurestore build`.")


def require_columns(warehouse: Warehouse, view: FeatureView, relation: str,
                    features: list[str] | None = None) -> dict[str, str]:
    """The built relation's columns (name -> warehouse type), once ``missing_columns``
    finds none missing; else a WarehouseError with its sentence."""
    actual = warehouse.columns(relation)
    problem = missing_columns(view, actual, relation, features)
    if problem:
        raise WarehouseError(problem)
    return actual


def column_problems(view: FeatureView, actual: dict[str, str], relation: str,
                    dialect: Dialect | None = None) -> list[str]:
    """Disagreements between a view's contract and its built relation's columns: the
    missing ones (``missing_columns``), then each column of a type its dtype refuses,
    with the type to cast it to (the warehouse's own name for it, given its ``dialect``;
    else the spelling every warehouse reads)."""
    missing = missing_columns(view, actual, relation)
    problems = [missing] if missing else []
    lowered = {name.lower(): dtype for name, dtype in actual.items()}
    for column, dtype, what in _expected_columns(view):
        found = lowered.get(column.lower())
        if found is not None and not accepts(dtype, found):
            cast_to = dialect.type_name(dtype) if dialect else DTYPES[dtype].portable.upper()
            where = f"{view.path}, {what} `{column}`" + (
                f" (version {view.version})" if view.multi_version else "")
            problems.append(f"{where}: column has type {found} in {relation}, which does not "
                            f"hold a {dtype}. Cast it in model `{view.source}` to "
                            f"{cast_to}.")
    return problems


def check_built_models(project: Project, catalog: Catalog) -> tuple[list[str], list[str]]:
    """(problems, notes): column checks against the warehouse, where the view is built."""
    if not Warehouse.exists(project):
        return [], ["warehouse not built yet: column checks skipped (run `featurestore build`)"]
    problems: list[str] = []
    notes: list[str] = []
    with Warehouse(project, read_only=True) as warehouse:
        for view in catalog.all_live():
            relation = warehouse.view_relation(view)
            try:
                actual = warehouse.columns(relation)
            except WarehouseError:
                notes.append(f"{view.label}: {relation} not built yet; column check skipped")
                continue
            problems.extend(column_problems(view, actual, relation, warehouse.dialect))
    return problems, notes


def validate_project(project: Project) -> tuple[Catalog, list[str]]:
    """Contracts (raising ContractError on the first bad one), generated files, model
    files and built columns: ``(catalog, notes)``; ValidationFailed lists every problem."""
    from featurestore.generate import stale_generated

    catalog = project.catalog()
    problems = [
        f"{path}: out of date with feature_defs/. Run `featurestore generate` "
        "(or `featurestore build`, which regenerates it)."
        for path in stale_generated(project, catalog)
    ]
    problems += missing_models(project, catalog)
    column_problems_found, notes = check_built_models(project, catalog)
    problems += column_problems_found
    if problems:
        raise ValidationFailed(f"{len(problems)} problem(s):\n" + "\n".join(problems))
    return catalog, notes


def build_project(project: Project, dbt_args: list[str], *, checks: bool = True,
                  progress: Callable[[str], None] = lambda _line: None) -> list[str]:
    """Regenerate the contract files, ``dbt deps`` when the project's packages (say,
    featurestore itself) are not installed yet, ``dbt build`` (``dbt_args`` passed
    through), then check the built columns against the contracts; returns notes.
    ValidationFailed when a dbt test or a column check fails."""
    from featurestore.build_recovery import build
    from featurestore.dbt_runner import ensure_packages
    from featurestore.generate import write_generated

    catalog = project.catalog()
    for path in write_generated(project, catalog):
        progress(f"regenerated {path}")
    ensure_packages(project, progress)
    progress(f"dbt build {' '.join(dbt_args)}".rstrip())
    build(project, catalog, dbt_args, progress)
    if not checks:
        return []
    problems, notes = check_built_models(project, catalog)
    if problems:
        raise ValidationFailed("the built models disagree with their contracts:\n"
                               + "\n".join(problems))
    return notes
