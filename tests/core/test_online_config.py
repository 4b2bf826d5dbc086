"""``OnlineConfig`` checks each field when it is made: a bad value is an error naming the
variable that set it and the fix, before any request reaches DynamoDB."""

from __future__ import annotations

import pytest

from featurestore.errors import OnlineStoreError
from featurestore.online.config import OnlineConfig
from featurestore.settings import Settings

TABLE_FIX = ("a DynamoDB table name is 3 to 255 letters, digits, `_`, `-` or `.`. Choose "
             "such a name.")
ENDPOINT_FIX = ("an endpoint is a URL such as http://127.0.0.1:8000 (the one `featurestore "
                "online start` prints). Set it so, or unset it for AWS.")
AWS_REGION_FIX = ("AWS DynamoDB is reached in a region such as us-east-1 or eu-west-1. Set "
                  "one.")


def message(variable: str, value: object, fix: str) -> str:
    return f"{variable}={value!r} is not a valid setting of the online store: {fix}"


@pytest.mark.parametrize(("fields", "expected"), [
    ({"table": "ab"}, message("FEATURESTORE_ONLINE_TABLE", "ab", TABLE_FIX)),
    ({"table": "features online"},
     message("FEATURESTORE_ONLINE_TABLE", "features online", TABLE_FIX)),
    ({"table": "t" * 256}, message("FEATURESTORE_ONLINE_TABLE", "t" * 256, TABLE_FIX)),
    ({"endpoint": "localhost:8000"},
     message("FEATURESTORE_DYNAMODB_ENDPOINT", "localhost:8000", ENDPOINT_FIX)),
    ({"endpoint": "ftp://127.0.0.1:8000"},
     message("FEATURESTORE_DYNAMODB_ENDPOINT", "ftp://127.0.0.1:8000", ENDPOINT_FIX)),
    ({"endpoint": "http://127.0.0.1:99999"},
     message("FEATURESTORE_DYNAMODB_ENDPOINT", "http://127.0.0.1:99999", ENDPOINT_FIX)),
    ({"endpoint": "http://127.0.0.1:8000/dynamodb"},
     message("FEATURESTORE_DYNAMODB_ENDPOINT", "http://127.0.0.1:8000/dynamodb",
             ENDPOINT_FIX)),
    ({"region": "us-east1"}, message("AWS_REGION (or AWS_DEFAULT_REGION)", "us-east1",
                                     AWS_REGION_FIX)),
    ({"region": "", "endpoint": "http://127.0.0.1:8000"},
     message("AWS_REGION (or AWS_DEFAULT_REGION)", "",
             "a region name is letters, digits and `-`. Set one, such as us-east-1.")),
    ({"local": True}, message("OnlineConfig.local", True, "DynamoDB Local needs an "
                              "endpoint. Set FEATURESTORE_DYNAMODB_ENDPOINT, or pass --local.")),
    ({"read_timeout": 0}, message("OnlineConfig.read_timeout", 0,
                                  "a timeout is a number of seconds above 0.")),
    ({"connect_timeout": float("nan")}, message("OnlineConfig.connect_timeout", float("nan"),
                                                "a timeout is a number of seconds above 0.")),
    ({"max_attempts": 0}, message("OnlineConfig.max_attempts", 0,
                                  "a whole number of at least 1 is needed.")),
    ({"max_pool_connections": 2.5}, message("OnlineConfig.max_pool_connections", 2.5,
                                            "a whole number of at least 1 is needed.")),
])
def test_a_bad_field_names_its_variable_and_the_fix(fields, expected):
    with pytest.raises(OnlineStoreError) as error:
        OnlineConfig(**fields)
    assert str(error.value) == expected


@pytest.mark.parametrize("fields", [
    {},
    {"table": "fs_test.table-1", "region": "eu-central-2"},
    {"region": "us-gov-west-1"},
    {"endpoint": "http://127.0.0.1:8000", "local": True, "region": "local"},
    {"endpoint": "https://dynamodb.eu-west-1.amazonaws.com/", "region": "eu-west-1"},
    {"connect_timeout": 0.2, "read_timeout": 0.25, "max_attempts": 1},
])
def test_good_settings_are_kept_as_given(fields):
    config = OnlineConfig(**fields)
    assert {name: getattr(config, name) for name in fields} == fields


def test_settings_from_the_environment_are_checked_when_read():
    with pytest.raises(OnlineStoreError) as error:
        Settings.from_env(environ={"FEATURESTORE_ONLINE_TABLE": "my table"})
    assert str(error.value) == message("FEATURESTORE_ONLINE_TABLE", "my table", TABLE_FIX)
    with pytest.raises(OnlineStoreError) as error:
        Settings.from_env(environ={"AWS_REGION": "eu-west"})
    assert str(error.value) == message("AWS_REGION (or AWS_DEFAULT_REGION)", "eu-west",
                                       AWS_REGION_FIX)


def test_a_replaced_config_is_checked_again():
    with pytest.raises(OnlineStoreError, match="^FEATURESTORE_DYNAMODB_ENDPOINT='8000' "):
        OnlineConfig().replace(endpoint="8000")


def test_every_field_is_documented():
    """Each field has its docstring in the class body, as Feast's config documents its
    own: the source is the documentation."""
    import ast
    import inspect

    from featurestore.online import config

    body = next(node for node in ast.parse(inspect.getsource(config)).body
                if isinstance(node, ast.ClassDef) and node.name == "OnlineConfig").body
    documented = {first.target.id for first, second in zip(body, body[1:], strict=False)
                  if isinstance(first, ast.AnnAssign) and isinstance(second, ast.Expr)
                  and isinstance(second.value, ast.Constant)}
    fields = {field.name for field in __import__("dataclasses").fields(OnlineConfig)}
    assert documented == fields
