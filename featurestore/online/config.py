"""Where the online store is and how to talk to it: one typed object, read once.

The sync, the lookup, the parity gate and the SDK all take an ``OnlineConfig`` and never
read the environment themselves, so one decision (AWS, or a DynamoDB Local named on
purpose) holds for every part of a run, and every command can say which store it talks
to in its first line.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from featurestore.errors import MissingExtraError

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
    # whether the environment names AWS credentials (AWS_ACCESS_KEY_ID, AWS_PROFILE); for
    # an endpoint without them, dummy ones are sent (DynamoDB Local checks none)
    aws_credentials: bool = False
    connect_timeout: float = 2.0
    read_timeout: float = 5.0
    max_attempts: int = 3
    max_pool_connections: int = 16
    # botocore's client-side check of every request against the API model. The sync
    # turns it off: its items are built and checked by online/items.py, and the check
    # walked every attribute of every item again (about a tenth of a sync's CPU here).
    validate_params: bool = True

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
        """A low-level boto3 client for this store, with the config's timeouts, retries
        and pool size (``overrides`` change them for this client only).

        boto3 is imported here, only when called.
        """
        config = self.replace(**overrides) if overrides else self
        try:
            import boto3
            from botocore.config import Config
        except ImportError:
            raise MissingExtraError("boto3", "aws", "The online store") from None
        botocore_config = Config(
            connect_timeout=config.connect_timeout,
            read_timeout=config.read_timeout,
            retries={"max_attempts": config.max_attempts, "mode": "standard"},
            max_pool_connections=config.max_pool_connections,
            parameter_validation=config.validate_params,
        )
        credentials = {}
        if config.endpoint and not config.aws_credentials:
            credentials = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
        return boto3.client("dynamodb", endpoint_url=config.endpoint,
                            region_name=config.region, config=botocore_config, **credentials)
