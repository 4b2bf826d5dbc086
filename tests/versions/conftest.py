"""Fixtures of the versions scenario: a demo world with v1 of every view built, applied
and synced to a DynamoDB Local table (tests/versions/world.py)."""

from __future__ import annotations

import pytest

from tests.versions.world import World, make_world


def build_v1(world: World) -> None:
    """Ingest, build, apply and sync v1: the state before v2 exists."""
    for args in (("ingest",), ("build",), ("apply",), ("sync", "--no-gate")):
        result = world.cli(*args)
        assert result.exit_code == 0, (args, result.output)


@pytest.fixture
def world(tmp_path, dynamodb_local, monkeypatch, request) -> World:
    """A fresh world with v1 live (its own project copy, warehouse and table)."""
    table = "fs_" + "".join(c if c.isalnum() else "_" for c in request.node.name)[:200]
    made = make_world(tmp_path, dynamodb_local, table)
    for name in [n for n in list(__import__("os").environ) if n.startswith("FEATURESTORE_")]:
        monkeypatch.delenv(name)
    for name, value in made.env.items():
        monkeypatch.setenv(name, value)
    build_v1(made)
    return made
