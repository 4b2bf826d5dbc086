"""Where the online store is and how to talk to it: one typed object, read once.

The sync, the lookup, the parity gate and the SDK all take an ``OnlineConfig`` and never
read the environment themselves, so one decision (AWS, or a DynamoDB Local named on
purpose) holds for every part of a run, and every command can say which store it talks
to in its first line.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

DEFAULT_TABLE = "featurestore_online"
DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True)
class OnlineConfig:
    """The feature table and the DynamoDB that holds it.

    ``endpoint`` None means real AWS through the usual boto3 credential chain; a URL
    means that endpoint (DynamoDB Local when ``local`` is true).
    """

    table: str = DEFAULT_TABLE
    endpoint: str | None = None
    region: str = DEFAULT_REGION
    local: bool = False
    connect_timeout: float = 2.0
    read_timeout: float = 5.0
    max_attempts: int = 3
    max_pool_connections: int = 16

    @property
    def is_aws(self) -> bool:
        return self.endpoint is None

    def where(self) -> str:
        """Which store, and where: ``AWS DynamoDB in us-east-1``, ``DynamoDB Local at ...``."""
        if self.is_aws:
            return f"AWS DynamoDB in {self.region}"
        kind = "DynamoDB Local" if self.local else "DynamoDB"
        return f"{kind} at {self.endpoint}"

    def describe(self) -> str:
        """One line for the user: which store, where, which table."""
        return f"{self.where()}, table {self.table}"

    def replace(self, **changes) -> OnlineConfig:
        return dataclasses.replace(self, **changes)

    def client(self, **overrides):
        """A low-level boto3 client for this store (timeouts and pool from the config)."""
        from featurestore.online.client import make_client

        config = self.replace(**overrides) if overrides else self
        return make_client(config)
