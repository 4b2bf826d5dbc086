"""The soak's own fixtures: none are shared with the other areas. Its world (a project
copy, a DynamoDB Local on disk, a `featurestore serve`) is built by tests/soak/world.py
inside the test, so that the seed it prints covers everything the run did."""

from __future__ import annotations

import os
import secrets

import pytest


@pytest.fixture
def soak_seed() -> int:
    """FEATURESTORE_SOAK_SEED replays a run; otherwise a fresh seed each time (printed)."""
    given = os.environ.get("FEATURESTORE_SOAK_SEED")
    seed = int(given) if given else secrets.randbelow(2**31)
    print(f"soak seed {seed} (replay: FEATURESTORE_SOAK_SEED={seed} pytest tests/soak)")
    return seed
