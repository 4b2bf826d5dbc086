"""A training set built for a feature service, and its transformations' parameters frozen.

``build_service_training_set`` is ``featurestore training-set --service NAME`` (and the
SDK's ``training_set(spine, service=...)``): the point-in-time join of the service's
features (featurestore/training.py), then, in the same warehouse and over that join's
rows, the parameters (params_sql.py), then the rows written with the transformed
columns beside the raw ones. The parameters go to the registry
(``featurestore.service_parameters``) and their sha256 into the manifest; the lookup
serves exactly them. A registry that cannot take them fails the build: a model trained
on parameters nobody can serve is the skew this exists to prevent.

The output's columns: the spine's, the service's features in its order
(``<view>__<feature>``), each view's ``<view>__feature_ts``, then the transformed
columns in the order of the service's transformations (``<view>__<feature>__<kind>``;
one_hot: ``__one_hot_<i>``, ``__one_hot_oov``, ``__one_hot_null``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from featurestore.errors import RequestError
from featurestore.feature_services.load import load_services, service_named
from featurestore.feature_services.model import FeatureService
from featurestore.feature_services.param_registry import freeze
from featurestore.feature_services.params_sql import ParameterQueries
from featurestore.feature_services.transforms import (
    expressions,
    output_columns,
    output_dtypes,
)
from featurestore.project import Project


def load_project_services(project: Project, catalog=None) -> dict[str, FeatureService]:
    return load_services(project.root, catalog or project.catalog())


class ServiceStep:
    """What a service adds to a training set: the parameters, computed over the join's
    rows before the rows are written, then the transformed columns; and, once the
    manifest is made, the parameters frozen in the registry."""

    def __init__(self, service: FeatureService, catalog):
        self.service = service
        # an on-demand view has one version; its inputs are read at the versions the
        # join reads (recorded as ``reads``, for the lookup to read the same)
        self.on_demand = {name: view.version for name, view in catalog.on_demand.items()}
        self.document: dict | None = None

    def select(self, warehouse, join_sql: str, spine, chosen,
               names: list[str]) -> tuple[str, list[str]]:
        """The training set's final SQL over ``join_sql`` (whose columns are ``names``)
        and its column names."""
        from featurestore.ondemand.render import render

        service, dialect = self.service, warehouse.dialect
        versions = {view.name: view.version for view, _ in chosen}
        reads = dict(versions)
        versions.update(self.on_demand)
        computed = ParameterQueries(warehouse, join_sql).compute(service.transformations)
        features = [{"name": f.name, "ref": str(f.ref), "view": f.view,
                     "version": versions[f.view], "feature": f.feature, "dtype": f.dtype,
                     "column": f.column, **({"on_demand": True} if f.on_demand else {})}
                    for f in service.features]
        transformations = []
        selects = [f"training.{dialect.column(name)} as {dialect.alias(name)}"
                   for name in spine.columns]
        selects += [f"training.{f.column} as {dialect.alias(f.column)}"
                    for f in service.features]
        stamps = [name for name in names[len(spine.columns):]
                  if name.endswith("__feature_ts")]
        selects += [f"training.{name} as {dialect.alias(name)}" for name in stamps]
        names = [*spine.columns, *(f.column for f in service.features), *stamps]
        for transformation, params in zip(service.transformations, computed, strict=True):
            feature = transformation.feature
            columns = output_columns(feature.column, transformation.kind, params)
            trees = expressions(transformation.kind, feature.dtype, params)
            for column, tree in zip(columns, trees, strict=True):
                sql = render(tree, dialect, lambda _name, c=feature.column: f"training.{c}")
                selects.append(f"{sql} as {dialect.alias(column)}")
            names += columns
            transformations.append({
                "feature": feature.name, "kind": transformation.kind,
                "options": {k: v for k, v in transformation.to_dict().items()
                            if k not in ("feature", "kind")},
                "dtype": feature.dtype, "columns": columns,
                "dtypes": output_dtypes(transformation.kind, feature.dtype, params),
                "params": params})
        taken = {name.lower() for name in spine.columns}
        clash = [name for name in names[len(spine.columns):] if name.lower() in taken]
        if clash:
            raise RequestError(f"the spine has a column `{clash[0]}`, the name of an output "
                               "column of the service's training set; rename or drop it")
        self.document = {"service": service.name, "service_version": service.version,
                         "service_hash": service.service_hash(), "features": features,
                         "transformations": transformations}
        if any(f.on_demand for f in service.features):
            self.document["reads"] = reads  # the stored views read, by version
        sql = f"select {', '.join(selects)} from ({join_sql}) as training"
        return sql, names

    def record(self, project: Project, manifest: dict, say: Callable[[str], None]) -> None:
        """Freeze the parameters in the registry; their version and hash into
        ``manifest``. Raises when the registry cannot take them."""
        from featurestore.warehouse import Warehouse

        document = dict(self.document or {})
        document["training_set"] = {"spine_sha256": manifest["spine"]["sha256"],
                                    "join_sql_sha256": manifest["join_sql_sha256"],
                                    "rows": manifest["output"]["rows"]}
        with Warehouse(project) as warehouse:
            frozen = freeze(warehouse, document, manifest["output"]["path"])
        manifest["service"] = {
            "name": frozen.service, "version": frozen.service_version,
            "service_hash": frozen.service_hash, "parameters_version": frozen.version,
            "parameters_sha256": frozen.sha256,
            "features": [f["column"] for f in document["features"]],
            "transformed_columns": [c for t in document["transformations"]
                                    for c in t["columns"]]}
        say(f"froze the parameters of {len(document['transformations'])} transformation(s) "
            f"as {frozen.service} v{frozen.service_version}, parameter set "
            f"{frozen.version} (sha256 {frozen.sha256[:12]})")


def build_service_training_set(project: Project, spine: object, service: str, *,
                               out: Path | str | None = None, event_ts: str = "event_ts",
                               known_at_event: bool = False, in_memory: bool = False,
                               progress: Callable[[str], None] | None = None,
                               allow_retired: bool = False):
    """The training set of ``service``'s features with its transformations applied, and
    the parameters frozen (``TrainingSet``; ``manifest["service"]`` names them)."""
    from featurestore.training import build_training_set

    catalog = project.catalog()
    chosen = service_named(load_project_services(project, catalog), service)
    return build_training_set(project, spine, chosen.refs, out=out, event_ts=event_ts,
                              known_at_event=known_at_event, in_memory=in_memory,
                              progress=progress, allow_retired=allow_retired,
                              step=ServiceStep(chosen, catalog))
