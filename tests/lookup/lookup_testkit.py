"""Helpers the lookup tests share: seeding items, building an app, calling the server."""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from featurestore.online.items import encode_item, to_epoch_micros
from tests.online_stores import store_for

REPO_ROOT = Path(__file__).resolve().parents[2]
FEATURE_DEFS = REPO_ROOT / "feature_defs"
NOW = dt.datetime(2026, 5, 22, 18, 0, 0)  # the fixed clock of the exact-vector tests


def seed(client, table: str, view, rows: list[dict], written_at: dt.datetime = NOW) -> None:
    """Write items as the sync worker would (through the shared item layout)."""
    for row in rows:
        client.put_item(TableName=table, Item=encode_item(view, row,
                                                          to_epoch_micros(written_at)))


def make_app(catalog, client, table, **options):
    from featurestore.lookup.handler import LookupApp
    from featurestore.online.retry import LOOKUP_RETRY

    deadline = options.pop("deadline_s", 2.0)
    return LookupApp(catalog, store_for(client, table, deadline_s=deadline, retry=LOOKUP_RETRY),
                     **options)


@dataclass
class Answer:
    status: int
    body: object
    headers: dict


def call(url: str, path: str, *, method: str = "GET", body: bytes | str | None = None,
         headers: dict | None = None) -> Answer:
    data = body.encode() if isinstance(body, str) else body
    request = urllib.request.Request(url + path, data=data, method=method,
                                     headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            raw, status, got = response.read(), response.status, dict(response.headers)
    except urllib.error.HTTPError as exc:
        raw, status, got = exc.read(), exc.code, dict(exc.headers)
    text = raw.decode()
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = text
    return Answer(status, parsed, {k.lower(): v for k, v in got.items()})


def service_record(problem: str | None = None) -> dict:
    """A feature service's record as a registry snapshot carries it
    (featurestore/feature_services/serving.py), with hand-written frozen parameters:
    txn_count_7d z-scored (mean 10, std 2) and cut in bins at 5 and 15, the country
    one-hot encoded over DE and FR."""
    document = {
        "service": "fraud_model", "service_version": 1, "service_hash": "0" * 64,
        "features": [
            {"name": "user_transactions:txn_count_7d", "ref": "user_transactions:txn_count_7d",
             "view": "user_transactions", "version": 1, "feature": "txn_count_7d",
             "dtype": "int64", "column": "user_transactions__txn_count_7d"},
            {"name": "user_profile:country", "ref": "user_profile:country",
             "view": "user_profile", "version": 1, "feature": "country", "dtype": "string",
             "column": "user_profile__country"}],
        "transformations": [
            {"feature": "user_transactions:txn_count_7d", "kind": "zscore", "options": {},
             "dtype": "int64", "columns": ["user_transactions__txn_count_7d__zscore"],
             "dtypes": ["float64"], "params": {"count": 9, "mean": 10.0, "std": 2.0}},
            {"feature": "user_transactions:txn_count_7d", "kind": "quantile_bins",
             "options": {"bins": 3}, "dtype": "int64",
             "columns": ["user_transactions__txn_count_7d__quantile_bins"],
             "dtypes": ["int64"], "params": {"count": 9, "bins": 3, "ranks": [3, 6],
                                             "edges": [5, 15]}},
            {"feature": "user_profile:country", "kind": "one_hot",
             "options": {"max_categories": 2}, "dtype": "string",
             "columns": ["user_profile__country__one_hot_0", "user_profile__country__one_hot_1",
                         "user_profile__country__one_hot_oov",
                         "user_profile__country__one_hot_null"],
             "dtypes": ["int64"] * 4,
             "params": {"count": 9, "max_categories": 2, "vocabulary": ["DE", "FR"],
                        "frequencies": [5, 3]}}],
        "training_set": {"spine_sha256": "1" * 64, "join_sql_sha256": "2" * 64, "rows": 9}}
    return {"name": "fraud_model", "version": 1, "entity": "user", "description": "",
            "owner": "", "service_hash": "0" * 64,
            "features": ["user_transactions:txn_count_7d", "user_profile:country"],
            "problem": problem,
            "parameters": None if problem else {
                "service": "fraud_model", "service_version": 1, "version": 3,
                "service_hash": "0" * 64, "sha256": "f" * 64, "training_set": "train.parquet",
                "frozen_by": "test", "frozen_at": "2026-05-01 00:00:00",
                "document": document}}


def services(problem: str | None = None) -> dict:
    """name -> ServedService of ``service_record``."""
    from featurestore.lookup.service_vectors import services_from_snapshot

    return services_from_snapshot({"services": {"fraud_model": service_record(problem)}})
