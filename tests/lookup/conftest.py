"""Fixtures for the lookup tests: the project's catalog and a served app."""

from __future__ import annotations

import pytest

from featurestore.contracts import load_catalog
from featurestore.lookup.registry_snapshot import build_snapshot, catalog_from_snapshot
from tests.lookup.lookup_testkit import FEATURE_DEFS


@pytest.fixture(scope="session")
def catalog():
    """The project's contracts, through the registry snapshot as the Lambda reads them."""
    return catalog_from_snapshot(build_snapshot(load_catalog(FEATURE_DEFS)))


@pytest.fixture
def serve():
    """``serve(app) -> base URL``: the real HTTP adapter on a free loopback port."""
    from featurestore.lookup.http_server import BackgroundServer

    servers = []

    def start(app) -> str:
        server = BackgroundServer(app)
        servers.append(server)
        return server.__enter__()

    yield start
    for server in servers:
        server.__exit__(None, None, None)
