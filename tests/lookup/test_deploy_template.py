"""deploy/template.yaml: valid for cfn-lint, every route of the handler deployed, JSON logs,
and the alarm that pages on degraded lookups (issue 18, items 4 and 6)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from featurestore.lookup.routes import ROUTES
from tests.lookup.lookup_testkit import REPO_ROOT

TEMPLATE = REPO_ROOT / "deploy" / "template.yaml"


class _Loader(yaml.SafeLoader):
    """Reads CloudFormation's short forms (!Ref, !If, ...) as plain values."""


def _tag(loader, tag_suffix, node):
    if isinstance(node, yaml.SequenceNode):
        return {tag_suffix: loader.construct_sequence(node, deep=True)}
    if isinstance(node, yaml.MappingNode):
        return {tag_suffix: loader.construct_mapping(node, deep=True)}
    return {tag_suffix: loader.construct_scalar(node)}


_Loader.add_multi_constructor("!", _tag)


@pytest.fixture(scope="module")
def template() -> dict:
    return yaml.load(TEMPLATE.read_text(), Loader=_Loader)


def test_cfn_lint_passes():
    done = subprocess.run([str(Path(sys.executable).parent / "cfn-lint"), str(TEMPLATE)],
                          capture_output=True, text=True, timeout=300)
    assert (done.returncode, done.stdout) == (0, "")


def test_every_route_of_the_handler_is_deployed(template):
    events = template["Resources"]["LookupFunction"]["Properties"]["Events"].values()
    deployed = {(e["Properties"]["Method"], e["Properties"]["Path"]) for e in events}
    assert deployed == {(route.method, route.path) for route in ROUTES}


def test_the_lambda_logs_json(template):
    properties = template["Resources"]["LookupFunction"]["Properties"]
    assert properties["LoggingConfig"] == {"LogFormat": "JSON"}


def test_degraded_lookups_page_through_an_alarm(template):
    alarm = template["Resources"]["DegradedAlarm"]["Properties"]
    assert (alarm["ComparisonOperator"], alarm["Threshold"], alarm["EvaluationPeriods"]) == (
        "GreaterThanThreshold", 0, 5)
    watched = {m["MetricStat"]["Metric"]["Dimensions"][0]["Value"]
               for m in alarm["Metrics"] if "MetricStat" in m}
    assert {m["MetricStat"]["Metric"]["MetricName"] for m in alarm["Metrics"]
            if "MetricStat" in m} == {"Degraded"}
    # the routes that read feature values: the ones whose answers degrade
    assert watched == {route.path for route in ROUTES if route.operation_id in (
        "get_features", "retrieve_features")}
    assert alarm["AlarmActions"] == {"If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}],
                                            {"Ref": "AWS::NoValue"}]}


def test_the_feature_table_is_global_in_two_regions(template):
    table = template["Resources"]["FeatureTable"]
    assert table["Type"] == "AWS::DynamoDB::GlobalTable"
    properties = table["Properties"]
    # replicas need a stream; both keep point-in-time recovery
    assert properties["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    pitr = {"PointInTimeRecoveryEnabled": True}
    assert properties["Replicas"] == [
        {"Region": {"Ref": "AWS::Region"}, "PointInTimeRecoverySpecification": pitr},
        {"If": ["HasReplica", {"Region": {"Ref": "ReplicaRegion"},
                               "PointInTimeRecoverySpecification": pitr},
                {"Ref": "AWS::NoValue"}]}]
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expires_at",
                                                     "Enabled": True}


def test_the_lookup_reads_the_replica_region_and_only_reads(template):
    function = template["Resources"]["LookupFunction"]["Properties"]
    assert function["Environment"]["Variables"]["FEATURESTORE_DYNAMODB_REPLICA_REGION"] == {
        "Ref": "ReplicaRegion"}
    statement, = template["Resources"]["LookupFunctionRole"]["Properties"]["Policies"][0][
        "PolicyDocument"]["Statement"]
    assert statement["Action"] == ["dynamodb:BatchGetItem", "dynamodb:GetItem"]
    assert statement["Resource"] == [
        {"GetAtt": "FeatureTable.Arn"},
        {"If": ["HasReplica", {"Sub": "arn:${AWS::Partition}:dynamodb:${ReplicaRegion}:"
                                      "${AWS::AccountId}:table/${FeatureTable}"},
                {"Ref": "AWS::NoValue"}]}]
