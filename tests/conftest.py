"""Fixtures shared by every area's tests. Each area keeps its own in tests/<area>/."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def dynamodb_local():
    """A real DynamoDB Local (in memory) for the session: yields its endpoint URL."""
    from featurestore.local_dynamodb import LocalDynamoDB

    local = LocalDynamoDB(REPO_ROOT)
    local.start()
    yield local.endpoint
    local.stop()


@pytest.fixture
def dynamodb_table(dynamodb_local, request):
    """A fresh, empty feature table in the session's DynamoDB Local: yields (client, name)."""
    from featurestore.dynamodb import ensure_table, make_client

    client = make_client(dynamodb_local)
    name = "fs_" + "".join(c if c.isalnum() else "_" for c in request.node.name)[:200]
    ensure_table(client, name)
    yield client, name
    client.delete_table(TableName=name)
