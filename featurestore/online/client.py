"""The feature table: its key schema, creating it, checking it, dropping it.

Clients come from ``OnlineConfig.client()`` (featurestore/online/config.py). botocore is
imported only inside the functions, so the CLI's help and the Lambda's cold start do not
pay for it.
"""

from __future__ import annotations

from featurestore.errors import OnlineStoreError, StoreUnavailable

KEY_SCHEMA = [
    {"AttributeName": "pk", "KeyType": "HASH"},
    {"AttributeName": "sk", "KeyType": "RANGE"},
]
ATTRIBUTES = [
    {"AttributeName": "pk", "AttributeType": "S"},
    {"AttributeName": "sk", "AttributeType": "S"},
]
TTL_ATTRIBUTE = "expires_at"


def describe_table(client, table_name: str) -> dict | None:
    """The table's description, or None when it does not exist; OnlineStoreError when
    DynamoDB cannot be reached or refuses."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    try:
        return client.describe_table(TableName=table_name)["Table"]
    except NoCredentialsError:
        raise OnlineStoreError(
            "no AWS credentials found for DynamoDB (the boto3 chain: AWS_PROFILE, "
            "AWS_ACCESS_KEY_ID, ~/.aws). Configure them, or pass --local to use the "
            "DynamoDB Local that `featurestore online start` runs."
        ) from None
    except BotoCoreError as exc:
        raise StoreUnavailable(
            f"DynamoDB is not reachable at {client.meta.endpoint_url} ({exc}). Start it "
            "(`featurestore online start`, then pass --local), or unset "
            "FEATURESTORE_DYNAMODB_ENDPOINT for AWS."
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


def drop_table(client, table_name: str) -> bool:
    """Delete the table and wait until it is gone; False when there was none."""
    try:
        client.delete_table(TableName=table_name)
    except client.exceptions.ResourceNotFoundException:
        return False
    client.get_waiter("table_not_exists").wait(TableName=table_name)
    return True
