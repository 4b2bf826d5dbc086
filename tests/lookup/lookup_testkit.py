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
# The modules the Python 3.11 Lambda runtime provides besides the standard library.
RUNTIME_MODULES = ("boto3", "botocore", "jmespath", "dateutil", "urllib3", "s3transfer",
                   "six")


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
