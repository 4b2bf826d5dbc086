"""The Python SDK: featurestore from a notebook or a training pipeline.

``FeatureStore`` is a thin, typed front over the same functions the CLI runs: a training
set from a DataFrame spine is the CLI's join, rules and manifest, handed back as one
Arrow table; an online read is the lookup endpoint's answer, as Python objects.

    >>> from featurestore import FeatureStore
    >>> fs = FeatureStore("path/to/project")          # doctest: +SKIP
    >>> train = fs.training_set(labels, ["user_transactions:txn_count_7d"])  # doctest: +SKIP
    >>> train.to_pandas().head()                      # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

    from featurestore.contracts import FeatureView
    from featurestore.project import Project

FeatureNames = str | Sequence[str]


class FeatureStore:
    """A featurestore project: its contracts, its warehouse and its online store.

    Args:
        project_dir: the dbt project with ``feature_defs/``; default: the
            FEATURESTORE_PROJECT_DIR variable, else the nearest project at or above the
            working directory.
        local: read online features from the DynamoDB Local that ``featurestore online
            start`` runs for the project, instead of AWS (or the endpoint
            FEATURESTORE_DYNAMODB_ENDPOINT names).
        target: the dbt target of the project's profile (dbt's ``--target``); default:
            DBT_TARGET, else the profile's ``target:``.
        profiles_dir: the folder of ``profiles.yml`` (dbt's ``--profiles-dir``);
            default: DBT_PROFILES_DIR, else the project folder if it has one, else
            ``~/.dbt/``.

    Example:
        >>> fs = FeatureStore("examples/shop")            # doctest: +SKIP
        >>> [view.name for view in fs.list_views()]       # doctest: +SKIP
        ['merchant_risk', 'user_transactions']
    """

    def __init__(self, project_dir: str | Path | None = None, *, local: bool = False,
                 target: str | None = None, profiles_dir: str | Path | None = None):
        from featurestore.errors import RequestError
        from featurestore.project import Project

        for name, what, value in (("project_dir", "a featurestore project", project_dir),
                                  ("profiles_dir", "the folder of profiles.yml", profiles_dir)):
            if value is not None and not isinstance(value, str | Path):
                raise RequestError(f"{name} must be the path of {what} (a str or "
                                   f"pathlib.Path), got {type(value).__name__} {value!r}")
        self.project: Project = Project.find(project_dir, target=target,
                                             profiles_dir=profiles_dir)
        if local:
            from featurestore.online.local import running_endpoint

            self.project.settings = self.project.settings.with_online(
                endpoint=running_endpoint(self.project.warehouse_dir), local=True)

    def __repr__(self) -> str:
        return f"FeatureStore({str(self.project.root)!r})"

    # -- the catalog ---------------------------------------------------------------------
    def list_views(self) -> list[FeatureView]:
        """Every feature view of the project's contracts, by name.

        Example:
            >>> for view in fs.list_views():              # doctest: +SKIP
            ...     print(view.name, view.version, view.entity.name, view.feature_names)
        """
        catalog = self.project.catalog()
        return [catalog.views[name] for name in sorted(catalog.views)]

    def describe(self, view: str) -> dict[str, Any]:
        """One view: its contract, its registry history and what the warehouse holds
        (the data ``featurestore describe VIEW --json`` prints).

        Example:
            >>> fs.describe("user_transactions")["warehouse"]["rows"]  # doctest: +SKIP
            5040
        """
        from featurestore.describe import describe

        return describe(self.project, view)

    # -- offline -------------------------------------------------------------------------
    def training_set(self, spine: Any, features: FeatureNames | None = None, *,
                     service: str | None = None, event_ts: str = "event_ts",
                     known_at_event: bool = False, out: str | Path | None = None,
                     allow_retired: bool = False) -> pa.Table:
        """A point-in-time-correct training set, as a pyarrow Table.

        Each spine row gets, per view, the last value with ``feature_ts <= event_ts``
        within the view's TTL, else the contract's default: the same join, rules and
        manifest as ``featurestore training-set``.

        Args:
            spine: a pandas or polars DataFrame, a pyarrow Table, or a path to a .parquet
                or .csv file, with the views' key columns and the event time column.
                Other columns (labels, ids) are carried through.
            features: ``"view"`` or ``"view:feature"`` names, a list or one
                comma-separated string; ``"view@v2:feature"`` pins a version of a view
                with several (unpinned: the version served), and the manifest says so.
                An on-demand view's features (``"txn_context:local_hour"``) are computed
                in the warehouse from the spine's columns named like its request fields.
            service: a feature service of ``feature_services/`` instead of
                ``features``: its features in its order, its transformations' columns
                beside them, their parameters frozen in the registry (as
                ``featurestore training-set --service``).
            event_ts: the spine's event time column; naive (UTC) or timezone-aware. An
                aware spine gives aware UTC ``event_ts`` and ``<view>__feature_ts``.
            known_at_event: only use feature rows already loaded into the warehouse at
                each event time (no late corrections leak into training).
            out: also write the Parquet file here, with ``<out>.manifest.json``.
            allow_retired: build a ``"view@vN:..."`` pin of a version the registry
                retired anyway (a ``UserWarning``, and recorded in the manifest); without
                it such a pin raises ``RequestError``: a model trained on it cannot be
                served.

        Returns:
            The spine's columns, then ``<view>__<feature>`` and ``<view>__feature_ts``,
            then ``<on-demand view>__<feature>``.

        Example:
            >>> labels = pd.DataFrame({"user_id": [42], "event_ts": [pd.Timestamp(
            ...     "2026-05-01 12:00", tz="UTC")], "is_fraud": [False]})   # doctest: +SKIP
            >>> fs.training_set(labels, ["user_transactions:txn_count_7d"]).to_pandas()
            ... # doctest: +SKIP
        """
        from featurestore.errors import RequestError
        from featurestore.training import build_training_set

        if (features is None) == (service is None):
            raise RequestError("name the features (features=[\"view:feature\", ...]) or a "
                               "feature service (service=\"name\"), one of the two")
        options = {"out": out, "event_ts": event_ts, "known_at_event": known_at_event,
                   "in_memory": True, "allow_retired": allow_retired}
        if service is not None:
            from featurestore.feature_services.freeze import build_service_training_set

            return build_service_training_set(self.project, spine, service, **options).table
        return build_training_set(self.project, spine, features, **options).table

    # -- online --------------------------------------------------------------------------
    def online(self, entity: str, keys: Any, features: FeatureNames, *,
               at: dt.datetime | None = None, allow_degraded: bool = False,
               request: Any = None) -> dict[str, Any]:
        """The online store's answer for some entities, as the lookup endpoint gives it.

        When DynamoDB does not answer (down, or slower than the deadline), this raises
        ``StoreUnavailable``: contract defaults silently standing in for values would look
        like success. ``allow_degraded=True`` returns them instead, as the endpoint serves
        them, with ``degraded: True`` and the reason in ``error``.

        Args:
            entity: the entity's name, e.g. ``"user"``.
            keys: one key or a list of them: ``{"user_id": 42}``, or a bare value for an
                entity with a single join key (``42``, ``[42, 43]``). At most 100.
            features: ``"view"`` or ``"view:feature"`` names; ``"view@v1:feature"``
                pins a version (unpinned: the version served, see ``versions`` in the
                answer).
            at: judge the statuses as of this time instead of now.
            request: the request fields of the on-demand features asked for
                (``{"amount": 12.5, "txn_ts": "2026-05-01T12:00:00Z"}``): one mapping for
                every key, or a list of one mapping per key.
            allow_degraded: when DynamoDB does not answer, return the contract defaults
                (``degraded: True``) instead of raising.

        Returns:
            ``{"results": [{"entity", "key", "features": {"view:feature": {"value",
            "feature_ts", "age_seconds", "status"}}}], "degraded": bool}``; ``error`` says
            why when DynamoDB did not answer and the defaults were served.

        Raises:
            StoreUnavailable: DynamoDB did not answer and ``allow_degraded`` is false.

        Example:
            >>> fs.online("user", 42, "user_transactions:txn_count_7d")  # doctest: +SKIP
            {'results': [{'entity': 'user', 'key': {'user_id': 42}, 'features': {...}}],
             'degraded': False}
        """
        from featurestore.feature_refs import resolve_entity
        from featurestore.lookup.local import lookup_keys

        resolved = resolve_entity(self.project.catalog(), entity)
        body = lookup_keys(self.project, resolved.name, _key_list(resolved, keys), features,
                           now=at, request=_plain(request))
        if body["degraded"] and not allow_degraded:
            from featurestore.errors import StoreUnavailable

            raise StoreUnavailable(f"the online store did not answer: {body.get('error')}. "
                                   "No value was read; pass allow_degraded=True for the "
                                   "contract defaults, marked degraded.")
        return body


def _key_list(entity, keys: Any) -> list[dict]:
    """Keys as a list of key objects; a bare value names the single join key."""
    keys = _plain(keys)
    items = keys if isinstance(keys, list | tuple) else [keys]
    single = entity.key_names[0] if len(entity.key_names) == 1 else None
    items = [_plain(key) for key in items]
    return [key if isinstance(key, dict) or single is None else {single: key} for key in items]


def _plain(value: Any) -> Any:
    """numpy and pandas values as the Python values they hold: keys taken from a
    DataFrame are numpy integers (``np.int64(42)``), a column of them a Series or an
    array, which the lookup would otherwise refuse as not an int64."""
    if isinstance(value, dict):
        return {name: _plain(item) for name, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if type(value).__module__.split(".")[0] in ("numpy", "pandas") and hasattr(value, "tolist"):
        return value.tolist()
    return value
