"""Where the online store is and how to talk to it: one typed object, read once, checked
when it is made.

The sync, the lookup, the parity gate and the SDK all take an ``OnlineConfig`` (through
the online store they open with it, ``online/dynamodb.py``) and never read the
environment themselves, so one decision (AWS, or a DynamoDB Local named on purpose) holds
for every part of a run, and every command can say which store it talks to in its first
line.

Every field is documented below and checked in ``__post_init__``, as Feast's
``DynamoDBOnlineStoreConfig`` types and documents its own: a bad value (a table name
DynamoDB would refuse, an endpoint that is no URL, a region with a typo, a timeout of
zero) is an ``OnlineStoreError`` naming the variable that set it and the fix, at start-up,
not a botocore error at the first request. This module is one of the foundations
(``settings.py`` builds it): it imports nothing above them, and boto3 only in
``client()``.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from featurestore.errors import MissingExtraError, OnlineStoreError

DEFAULT_TABLE = "featurestore_online"
DEFAULT_REGION = "us-east-1"
# DynamoDB's rule for a table name (CreateTable's TableName): 3 to 255 of these.
TABLE_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")
# An AWS region: us-east-1, eu-central-2, us-gov-west-1, cn-north-1, ap-southeast-4...
AWS_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
# With an endpoint of its own (DynamoDB Local, a proxy) any region name signs requests.
ANY_REGION = re.compile(r"[A-Za-z0-9-]{1,64}")
# Where each field comes from, for the error that names it (Settings.from_env reads them).
SOURCES = {
    "table": "FEATURESTORE_ONLINE_TABLE",
    "endpoint": "FEATURESTORE_DYNAMODB_ENDPOINT",
    "region": "AWS_REGION (or AWS_DEFAULT_REGION)",
    "replica_region": "FEATURESTORE_DYNAMODB_REPLICA_REGION",
    "replica_endpoint": "FEATURESTORE_DYNAMODB_REPLICA_ENDPOINT",
}


@dataclass(frozen=True)
class OnlineConfig:
    """The feature table and the DynamoDB that holds it (each field checked when made)."""

    table: str = DEFAULT_TABLE
    """The feature table's name (``FEATURESTORE_ONLINE_TABLE``): 3 to 255 letters,
    digits, ``_``, ``-`` or ``.``, as DynamoDB names tables."""

    endpoint: str | None = None
    """None: real AWS, through the usual boto3 credential chain. A URL
    (``FEATURESTORE_DYNAMODB_ENDPOINT``, ``http://`` or ``https://``, a host, an optional
    port): that endpoint, such as the DynamoDB Local that ``featurestore online start``
    runs."""

    region: str = DEFAULT_REGION
    """The AWS region (``AWS_REGION``, else ``AWS_DEFAULT_REGION``), such as
    ``eu-west-1``; with an endpoint of its own, any name (DynamoDB Local ignores it)."""

    local: bool = False
    """Whether ``endpoint`` is a DynamoDB Local on this machine (a loopback address, or
    ``--local``): only said in messages, and needs an endpoint."""

    aws_credentials: bool = False
    """Whether the environment names AWS credentials (AWS_ACCESS_KEY_ID, AWS_PROFILE);
    for an endpoint without them, dummy ones are sent (DynamoDB Local checks none)."""

    connect_timeout: float = 2.0
    """Seconds to open a connection (botocore's ``connect_timeout``), more than 0. The
    lookup's store lowers it to 0.2 s, or its deadline if shorter."""

    read_timeout: float = 5.0
    """Seconds to wait for an answer (botocore's ``read_timeout``), more than 0. The
    lookup's store uses its deadline."""

    max_attempts: int = 3
    """botocore's attempts per request (its standard retry mode), at least 1. The
    lookup's and the sync's stores use 1: their own retry policy (``retry.py``) decides,
    within a deadline or a number of attempts."""

    max_pool_connections: int = 16
    """Connections kept open per client, at least 1: as many as the threads that share
    it (the sync uses its writer threads + 4, the lookup 32)."""

    validate_params: bool = True
    """botocore's client-side check of every request against the API model. The sync
    turns it off: its items are built and checked by ``online/items.py``, and the check
    walked every attribute of every item again (about a tenth of a sync's CPU here)."""

    replica_region: str | None = None
    """The region of the table's second replica (``FEATURESTORE_DYNAMODB_REPLICA_REGION``),
    such as ``us-west-2``: the lookup reads it when the primary (``region``) does not
    answer within its share of the deadline. None: one region. Needed by a replica, and
    another region than ``region`` (the lookup names the region each answer came from).
    Only the lookup reads it: the sync, promotions and deletes write the primary alone
    (the global table replicates them; docs/architecture.md, "A second region", says
    why)."""

    replica_endpoint: str | None = None
    """The replica's own endpoint (``FEATURESTORE_DYNAMODB_REPLICA_ENDPOINT``), a URL as
    ``endpoint`` is: a second DynamoDB Local in tests and demos. None with a
    ``replica_region``: AWS in that region. Needs ``endpoint`` (a replica on AWS behind a
    primary that is not would be two different tables) and differs from it."""

    def __post_init__(self) -> None:
        if not isinstance(self.table, str) or not TABLE_NAME.fullmatch(self.table):
            raise self._bad("table", self.table, "a DynamoDB table name is 3 to 255 "
                            "letters, digits, `_`, `-` or `.`. Choose such a name")
        if self.endpoint is not None:
            self._check_endpoint()
        pattern = AWS_REGION if self.endpoint is None else ANY_REGION
        if not isinstance(self.region, str) or not pattern.fullmatch(self.region):
            fix = ("AWS DynamoDB is reached in a region such as us-east-1 or eu-west-1. "
                   "Set one" if self.endpoint is None else
                   "a region name is letters, digits and `-`. Set one, such as us-east-1")
            raise self._bad("region", self.region, fix)
        if self.local and self.endpoint is None:
            raise self._bad("local", self.local, "DynamoDB Local needs an endpoint. Set "
                            "FEATURESTORE_DYNAMODB_ENDPOINT, or pass --local")
        for name in ("connect_timeout", "read_timeout"):
            value = getattr(self, name)
            if (isinstance(value, bool) or not isinstance(value, int | float)
                    or not math.isfinite(value) or value <= 0):
                raise self._bad(name, value, "a timeout is a number of seconds above 0")
        for name in ("max_attempts", "max_pool_connections"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise self._bad(name, value, "a whole number of at least 1 is needed")
        if self.replica_region is not None or self.replica_endpoint is not None:
            self._check_replica()

    def _check_replica(self) -> None:
        """The replica's fields: a region AWS has (any name behind an endpoint), and a
        store that is not the primary itself."""
        if self.replica_endpoint is not None:
            self._check_endpoint("replica_endpoint")
            if self.endpoint is None:
                raise self._bad("replica_endpoint", self.replica_endpoint, "a replica "
                                "behind an endpoint needs the primary's endpoint too "
                                "(FEATURESTORE_DYNAMODB_ENDPOINT); unset it to read the "
                                "replica on AWS in FEATURESTORE_DYNAMODB_REPLICA_REGION")
            if self.replica_endpoint.rstrip("/") == self.endpoint.rstrip("/"):
                raise self._bad("replica_endpoint", self.replica_endpoint, "the replica "
                                "is the primary's endpoint: name the second region's")
        region = self.replica_region
        if region is None:
            raise self._bad("replica_region", region, "a replica needs its region, which "
                            "the lookup names in its answers. Set it, such as us-west-2")
        pattern = AWS_REGION if self.replica_endpoint is None else ANY_REGION
        if not isinstance(region, str) or not pattern.fullmatch(region):
            raise self._bad("replica_region", region, "a region such as us-west-2 is "
                            "needed (letters, digits and `-` behind an endpoint)")
        if region == self.region:
            raise self._bad("replica_region", region, f"the replica is in the primary's "
                            f"region ({self.region}): name the second region, or unset it")

    def _check_endpoint(self, field: str = "endpoint") -> None:
        value = getattr(self, field)
        fix = ("an endpoint is a URL such as http://127.0.0.1:8000 (the one `featurestore "
               "online start` prints). Set it so, or unset it for AWS")
        if not isinstance(value, str):
            raise self._bad(field, value, fix)
        try:
            parts = urlsplit(value)
            port_ok = parts.port is None or 0 < parts.port < 65536
        except ValueError:  # a port that is not a number, or out of range
            port_ok = False
            parts = None
        if (parts is None or not port_ok or parts.scheme not in ("http", "https")
                or not parts.hostname or parts.query or parts.fragment
                or parts.path not in ("", "/")):
            raise self._bad(field, value, fix)

    @staticmethod
    def _bad(field: str, value: object, fix: str) -> OnlineStoreError:
        source = SOURCES.get(field, f"OnlineConfig.{field}")
        return OnlineStoreError(f"{source}={value!r} is not a valid setting of the online "
                                f"store: {fix}.")

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
        """One line for the user: which store, where, which table (and its replica)."""
        replica = self.replica()
        if replica is None:
            return f"{self.where()}, table {self.table}"
        region = "" if replica.is_aws else f", region {replica.region}"
        return f"{self.where()}, table {self.table} (replica: {replica.where()}{region})"

    def replica(self) -> OnlineConfig | None:
        """The replica's store as a config of its own (the same table, the replica's
        region and endpoint, no replica of its own); None with one region."""
        if self.replica_region is None and self.replica_endpoint is None:
            return None
        endpoint = self.replica_endpoint
        return self.replace(endpoint=endpoint, region=self.replica_region,
                            local=endpoint is not None and is_loopback(endpoint),
                            replica_region=None, replica_endpoint=None)

    def primary(self) -> OnlineConfig:
        """This config without its replica: the store every writer uses."""
        return self.replace(replica_region=None, replica_endpoint=None)

    def replace(self, **changes) -> OnlineConfig:
        """A copy with ``changes``, checked again."""
        return dataclasses.replace(self, **changes)

    def client(self, **overrides):
        """A low-level boto3 client for this store, with the config's timeouts, retries
        and pool size (``overrides`` change them for this client only). The online store
        (``online/dynamodb.py``) makes its client here; nothing else calls DynamoDB.

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


def is_loopback(endpoint: str) -> bool:
    """Whether ``endpoint`` is on this machine (a DynamoDB Local, said so in messages)."""
    host = urlsplit(endpoint).hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.")
