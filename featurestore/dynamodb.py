"""DynamoDB clients and the feature table, for the sync, the lookup and the gates.

Pointed at DynamoDB Local by ``FEATURESTORE_DYNAMODB_ENDPOINT`` (dummy credentials are
supplied when none are configured: DynamoDB Local checks none); without it, real AWS
through the usual boto3 chain. boto3 is imported here only, and only when called.
"""

from __future__ import annotations

import os

from featurestore.errors import MissingExtraError, OnlineStoreError
from featurestore.project import Project

KEY_SCHEMA = [
    {"AttributeName": "pk", "KeyType": "HASH"},
    {"AttributeName": "sk", "KeyType": "RANGE"},
]
ATTRIBUTES = [
    {"AttributeName": "pk", "AttributeType": "S"},
    {"AttributeName": "sk", "AttributeType": "S"},
]
TTL_ATTRIBUTE = "expires_at"


def make_client(
    endpoint: str | None,
    region: str = "us-east-1",
    *,
    connect_timeout: float = 2.0,
    read_timeout: float = 5.0,
    max_attempts: int = 3,
    max_pool_connections: int = 16,
):
    """A low-level DynamoDB client with explicit timeouts and retries."""
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        raise MissingExtraError("boto3", "aws", "The online store") from None
    config = Config(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retries={"max_attempts": max_attempts, "mode": "standard"},
        max_pool_connections=max_pool_connections,
    )
    credentials = {}
    if endpoint and not (os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_PROFILE")):
        credentials = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
    return boto3.client(
        "dynamodb", endpoint_url=endpoint, region_name=region, config=config, **credentials
    )


def resolve_endpoint(project: Project) -> str | None:
    """Where DynamoDB is: FEATURESTORE_DYNAMODB_ENDPOINT, else the project's running
    `featurestore online start` instance, else None (real AWS, the usual boto3 chain)."""
    if project.dynamodb_endpoint:
        return project.dynamodb_endpoint
    from featurestore.local_dynamodb import read_running

    running = read_running(project.warehouse_dir)
    return running["endpoint"] if running else None


def project_client(project: Project, **options):
    return make_client(resolve_endpoint(project), project.aws_region, **options)


def describe_table(client, table_name: str) -> dict | None:
    """The table's description, or None when it does not exist; OnlineStoreError when
    DynamoDB cannot be reached or refuses."""
    from botocore.exceptions import ClientError, EndpointConnectionError

    try:
        return client.describe_table(TableName=table_name)["Table"]
    except EndpointConnectionError as exc:
        raise OnlineStoreError(
            f"DynamoDB is not reachable at {exc.kwargs.get('endpoint_url')}. Start it: "
            "`featurestore online start`, or unset FEATURESTORE_DYNAMODB_ENDPOINT for AWS."
        ) from None
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            return None
        raise OnlineStoreError(f"table {table_name}: {exc}") from None


def require_table(client, table_name: str, where: str) -> None:
    """OnlineStoreError, saying how to create it, unless the feature table exists."""
    if describe_table(client, table_name) is None:
        raise OnlineStoreError(f"the feature table `{table_name}` does not exist at {where}. "
                               "Create it: `featurestore online init`.")


def ensure_table(client, table_name: str, *, ttl: bool = True) -> bool:
    """Create the feature table if missing (True); check an existing one's key schema.

    ``ttl=False`` leaves DynamoDB's TTL sweeper off: tests that read items on a fixed
    past clock need them to outlive their ``expires_at``.
    """
    from botocore.exceptions import ClientError

    description = describe_table(client, table_name)
    if description is None:
        client.create_table(
            TableName=table_name,
            KeySchema=KEY_SCHEMA,
            AttributeDefinitions=ATTRIBUTES,
            BillingMode="PAY_PER_REQUEST",
        )
        client.get_waiter("table_exists").wait(TableName=table_name)
        if not ttl:
            return True
        try:
            client.update_time_to_live(
                TableName=table_name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
            )
        except ClientError as ttl_error:  # DynamoDB Local may not support TTL changes
            if ttl_error.response["Error"]["Code"] not in ("ValidationException",
                                                           "UnknownOperationException"):
                raise
        return True
    schema = sorted((k["AttributeName"], k["KeyType"]) for k in description["KeySchema"])
    if schema != sorted((k["AttributeName"], k["KeyType"]) for k in KEY_SCHEMA):
        raise OnlineStoreError(
            f"table {table_name} exists with key schema {schema}, but featurestore needs "
            "pk (HASH, string) and sk (RANGE, string). Choose another table name with "
            "FEATURESTORE_ONLINE_TABLE, or drop that table."
        )
    return False
