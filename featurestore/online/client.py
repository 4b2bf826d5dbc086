"""The feature table: its key schema, creating it, checking it, dropping it.

Called through ``DynamoDBStore`` (``online/dynamodb.py``: ``require_table``,
``ensure_table``, ``drop_table``, ``store_id``, ``errors``), on the client the store holds
(``OnlineConfig.client()``). botocore is imported only inside the functions, so the CLI's
help and the Lambda's cold start do not pay for it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

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
NO_CREDENTIALS = ("no AWS credentials found for DynamoDB (the boto3 chain: AWS_PROFILE, "
                  "AWS_ACCESS_KEY_ID, ~/.aws). Configure them, or pass --local to use the "
                  "DynamoDB Local that `featurestore online start` runs.")


def describe_table(client, table_name: str) -> dict | None:
    """The table's description, or None when it does not exist; OnlineStoreError when
    DynamoDB cannot be reached or refuses."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    try:
        return client.describe_table(TableName=table_name)["Table"]
    except NoCredentialsError:
        raise OnlineStoreError(NO_CREDENTIALS) from None
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


def require_table(client, table_name: str, where: str) -> dict:
    """The feature table's description; OnlineStoreError, saying how to create it, when
    the table does not exist."""
    description = describe_table(client, table_name)
    if description is None:
        raise OnlineStoreError(f"the feature table `{table_name}` does not exist at {where}. "
                               "Create it: `featurestore online init`.")
    return description


def store_id(client, description: dict) -> str:
    """Which table this is, wherever it lives: ``<endpoint URL> <table ARN>``.

    The ARN names the region, the account and the table; the endpoint tells two DynamoDB
    Locals apart (both answer ``arn:aws:dynamodb:ddblocal:000000000000:table/<name>``).
    The sync keys its state by it, so a state never describes another table.
    """
    arn = description.get("TableArn") or f"table/{description['TableName']}"
    return f"{client.meta.endpoint_url} {arn}"


def unreachable_message(client, table_name: str, exc: BaseException) -> str:
    """One line for a store that gave no answer: which store, which table, what to do."""
    from botocore.exceptions import ReadTimeoutError

    meta = getattr(client, "meta", None)
    endpoint = getattr(meta, "endpoint_url", None) or "its endpoint"
    if isinstance(exc, ReadTimeoutError):
        # the connection was taken and the request sent: a store that is there but busy
        # (DynamoDB Local on a loaded machine queues what it is sent) or stalled
        timeout = getattr(getattr(meta, "config", None), "read_timeout", None)
        within = f" of {timeout:g} s" if isinstance(timeout, int | float) else ""
        return (f"DynamoDB at {endpoint} (table {table_name}) took the request but gave no "
                f"answer within its read timeout{within} ({exc}): it is overloaded or "
                "stalled. Send it fewer requests at once (a sync's --threads and "
                "--workers), then run the command again.")
    return (f"DynamoDB at {endpoint} (table {table_name}) does not answer ({exc}). Start it "
            "or check the network, then run the command again.")


@contextlib.contextmanager
def store_errors(client, table_name: str) -> Iterator[None]:
    """botocore's errors as featurestore's: no answer -> StoreUnavailable (exit 3), a
    refusal -> OnlineStoreError, each naming the store and the table."""
    from botocore.exceptions import ClientError, NoCredentialsError

    from featurestore.online.retry import is_unreachable

    try:
        yield
    except NoCredentialsError:
        raise OnlineStoreError(NO_CREDENTIALS) from None
    except ClientError as exc:
        raise OnlineStoreError(f"table {table_name}: DynamoDB refused a request ({exc})"
                               ) from None
    except Exception as exc:
        if is_unreachable(exc):
            raise StoreUnavailable(unreachable_message(client, table_name, exc)) from None
        raise


def ensure_table(client, table_name: str, *, ttl: bool = True) -> bool:
    """Create the feature table if missing (True); check an existing one's key schema.

    ``ttl=False`` leaves DynamoDB's TTL sweeper off: tests that read items on a fixed
    past clock need them to outlive their ``expires_at``.
    """
    description = describe_table(client, table_name)
    if description is None:
        created = True
        try:
            client.create_table(
                TableName=table_name,
                KeySchema=KEY_SCHEMA,
                AttributeDefinitions=ATTRIBUTES,
                BillingMode="PAY_PER_REQUEST",
            )
        except client.exceptions.ResourceInUseException:
            # made since we looked: by another process, or by this very request when
            # botocore retried after its response was lost to a read timeout (a busy
            # DynamoDB Local does that); either way the table is there, so check it
            created = False
        client.get_waiter("table_exists").wait(TableName=table_name)
        if ttl:
            _enable_ttl(client, table_name)
        if created:
            return True
        description = describe_table(client, table_name)
    schema = sorted((k["AttributeName"], k["KeyType"]) for k in description["KeySchema"])
    if schema != sorted((k["AttributeName"], k["KeyType"]) for k in KEY_SCHEMA):
        raise OnlineStoreError(
            f"table {table_name} exists with key schema {schema}, but featurestore needs "
            "pk (HASH, string) and sk (RANGE, string). Choose another table name with "
            "FEATURESTORE_ONLINE_TABLE, or drop that table."
        )
    return False


def _enable_ttl(client, table_name: str) -> None:
    from botocore.exceptions import ClientError

    try:
        client.update_time_to_live(
            TableName=table_name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
        )
    except ClientError as ttl_error:  # already on; or DynamoDB Local may not support it
        if ttl_error.response["Error"]["Code"] not in ("ValidationException",
                                                       "UnknownOperationException"):
            raise


def drop_table(client, table_name: str) -> bool:
    """Delete the table and wait until it is gone; False when there was none."""
    try:
        client.delete_table(TableName=table_name)
    except client.exceptions.ResourceNotFoundException:
        return False
    client.get_waiter("table_not_exists").wait(TableName=table_name)
    return True
