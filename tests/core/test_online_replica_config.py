"""The replica of a table in two regions (issue 21, item 4): ``OnlineConfig`` checks its
region and endpoint when made, names the variable that set a bad one, and hands the
lookup the replica's store and every writer the primary's."""

from __future__ import annotations

import pytest

from featurestore.errors import OnlineStoreError
from featurestore.online.config import OnlineConfig
from featurestore.settings import Settings

REGION = "FEATURESTORE_DYNAMODB_REPLICA_REGION"
ENDPOINT = "FEATURESTORE_DYNAMODB_REPLICA_ENDPOINT"
LOCAL = "http://127.0.0.1:8000"


def message(variable: str, value: object, fix: str) -> str:
    return f"{variable}={value!r} is not a valid setting of the online store: {fix}"


@pytest.mark.parametrize(("fields", "expected"), [
    ({"replica_region": "us-west"}, message(
        REGION, "us-west", "a region such as us-west-2 is needed (letters, digits and `-` "
        "behind an endpoint).")),
    ({"replica_region": "us-east-1"}, message(
        REGION, "us-east-1", "the replica is in the primary's region (us-east-1): name the "
        "second region, or unset it.")),
    ({"endpoint": LOCAL, "region": "a", "replica_endpoint": "http://127.0.0.1:8001"},
     message(REGION, None, "a replica needs its region, which the lookup names in its "
             "answers. Set it, such as us-west-2.")),
    ({"replica_region": "us-west-2", "replica_endpoint": "http://127.0.0.1:8001"},
     message(ENDPOINT, "http://127.0.0.1:8001", "a replica behind an endpoint needs the "
             "primary's endpoint too (FEATURESTORE_DYNAMODB_ENDPOINT); unset it to read the "
             "replica on AWS in FEATURESTORE_DYNAMODB_REPLICA_REGION.")),
    ({"endpoint": LOCAL, "replica_region": "b", "replica_endpoint": LOCAL + "/"},
     message(ENDPOINT, LOCAL + "/", "the replica is the primary's endpoint: name the second "
             "region's.")),
    ({"endpoint": LOCAL, "replica_region": "b", "replica_endpoint": "127.0.0.1:8001"},
     message(ENDPOINT, "127.0.0.1:8001", "an endpoint is a URL such as "
             "http://127.0.0.1:8000 (the one `featurestore online start` prints). Set it so, "
             "or unset it for AWS.")),
])
def test_a_bad_replica_names_its_variable_and_the_fix(fields, expected):
    with pytest.raises(OnlineStoreError) as error:
        OnlineConfig(**fields)
    assert str(error.value) == expected


def test_the_replica_is_the_same_table_in_its_own_region():
    config = OnlineConfig(table="features", region="eu-west-1", replica_region="eu-central-1",
                          connect_timeout=1.5)
    replica = config.replica()
    assert (replica.table, replica.region, replica.endpoint, replica.connect_timeout) == (
        "features", "eu-central-1", None, 1.5)
    assert replica.replica() is None
    assert config.primary() == OnlineConfig(table="features", region="eu-west-1",
                                            connect_timeout=1.5)
    assert config.describe() == ("AWS DynamoDB in eu-west-1, table features (replica: AWS "
                                 "DynamoDB in eu-central-1)")
    assert OnlineConfig().replica() is None


def test_the_environment_names_the_replica():
    settings = Settings.from_env(environ={
        "FEATURESTORE_DYNAMODB_ENDPOINT": LOCAL, "AWS_REGION": "us-east-1",
        REGION: "us-west-2", ENDPOINT: "http://127.0.0.1:8001"})
    replica = settings.online.replica()
    assert (replica.endpoint, replica.region, replica.local) == (
        "http://127.0.0.1:8001", "us-west-2", True)
    assert settings.online.primary().endpoint == LOCAL
    assert settings.online.describe() == (
        "DynamoDB Local at http://127.0.0.1:8000, table featurestore_online (replica: "
        "DynamoDB Local at http://127.0.0.1:8001, region us-west-2)")
    with pytest.raises(OnlineStoreError, match=f"^{REGION}='us-east-1' "):
        Settings.from_env(environ={"AWS_REGION": "us-east-1", REGION: "us-east-1"})
