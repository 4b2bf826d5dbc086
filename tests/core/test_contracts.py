"""Contract loading: every mistake gets one message naming file, line, field and fix."""

import pytest

from featurestore.contracts import load_catalog
from featurestore.errors import ContractError, RequestError
from featurestore.feature_refs import resolve
from tests.core.conftest import edit


def test_demo_contracts_load(project):
    catalog = load_catalog(project.feature_defs)
    assert sorted(catalog.views) == [
        "device_seen_before", "merchant_risk", "user_profile", "user_transactions"]
    device = catalog.views["device_seen_before"]
    assert device.keys == ["user_id", "device_id"]
    assert [k.dtype for k in device.entity.join_keys] == ["int64", "string"]
    assert catalog.views["user_transactions"].ttl_seconds == 30 * 86400
    assert catalog.views["user_profile"].ttl_seconds is None
    assert catalog.views["user_profile"].feature("is_verified").default is False


def test_contract_hash_ignores_comments_but_not_meaning(project):
    before = load_catalog(project.feature_defs).views["merchant_risk"].contract_hash()
    edit(project, "merchant_risk.yml", "ttl: 30d", "ttl: 30d   # a month")
    assert load_catalog(project.feature_defs).views["merchant_risk"].contract_hash() == before
    edit(project, "merchant_risk.yml", "ttl: 30d", "ttl: 4w")
    assert load_catalog(project.feature_defs).views["merchant_risk"].contract_hash() != before


CASES = [
    ("sensitivity: internal\n    min: 0\n    description: Transactions in the hour",
     "min: 0\n    description: Transactions in the hour",
     "feature_defs/user_transactions.yml:14, field `features.txn_count_1h.sensitivity`: "
     "a feature is missing the required field `features.txn_count_1h.sensitivity`"),
    ("    dtype: int64\n    default: 0\n    sensitivity: internal\n    min: 0\n"
     "    description: Transactions in the hour",
     "    dtype: integer\n    default: 0\n    sensitivity: internal\n    min: 0\n"
     "    description: Transactions in the hour",
     "feature_defs/user_transactions.yml:15, field `features.txn_count_1h.dtype`: unknown "
     "dtype 'integer'; use one of int64, float64, string, bool, timestamp"),
    ("ttl: 30d", "ttl: 30 days",
     "feature_defs/user_transactions.yml:7, field `ttl`: expected a positive duration like "
     "30d, 12h, 15m or 90s, got '30 days'"),
    ("entity: user\n", "entity: usr\n",
     "feature_defs/user_transactions.yml:3, field `entity`: unknown entity 'usr' (did you "
     "mean `user`?); entities are declared in feature_defs/entities.yml"),
    ("freshness_slo: 1h", "freshnes_slo: 1h",
     "feature_defs/user_transactions.yml:8, field `freshnes_slo`: unknown field in a feature "
     "view (did you mean `freshness_slo`?); allowed: name, version, entity, source, timestamp, "
     "created_timestamp, ttl, freshness_slo, online, owner, description, tags, features, "
     "versions, compare, kind"),
    ("version: 1", "version: one",
     "feature_defs/user_transactions.yml:2, field `version`: expected a whole number from 1 "
     "to 2147483647, got 'one'"),
    ("name: txn_count_7d\n    dtype: int64\n    default: 0",
     "name: txn_count_7d\n    dtype: int64\n    default: lots",
     "feature_defs/user_transactions.yml:22, field `features.txn_count_7d.default`: default "
     "'lots' is not a int64; give a int64 or leave it out"),
    ("sensitivity: internal\n    min: 0\n    description: Transactions in the hour",
     "sensitivity: secret\n    min: 0\n    description: Transactions in the hour",
     "feature_defs/user_transactions.yml:17, field `features.txn_count_1h.sensitivity`: "
     "sensitivity 'secret' is not one of public, internal, pii"),
    ("  - name: txn_count_7d", "  - name: txn_count_1h",
     "feature_defs/user_transactions.yml:20, field `features.txn_count_1h.name`: feature "
     "name `txn_count_1h` is taken by a key, a timestamp or featurestore's own bookkeeping; "
     "rename it"),
    ("name: user_transactions", "name: user_txns",
     "feature_defs/user_transactions.yml:1, field `name`: the view is named `user_txns` but "
     "its file is `user_transactions.yml`: rename one so they match"),
    ("owner: risk-ml\n", "owner: risk-ml\nowner: growth\n",
     "feature_defs/user_transactions.yml:11: invalid YAML: duplicate key `owner`"),
]


@pytest.mark.parametrize(("old", "new", "message"), CASES, ids=[
    "missing-sensitivity", "bad-dtype", "bad-ttl", "unknown-entity", "unknown-field",
    "bad-version", "default-of-wrong-type", "bad-sensitivity", "duplicate-feature",
    "name-file-mismatch", "duplicate-yaml-key"])
def test_contract_errors_are_located(project, old, new, message):
    edit(project, "user_transactions.yml", old, new)
    with pytest.raises(ContractError) as error:
        load_catalog(project.feature_defs)
    assert str(error.value) == message


def test_entity_key_dtype_is_checked(project):
    path = project.feature_defs / "entities.yml"
    path.write_text(path.read_text().replace("{name: merchant_id, dtype: int64}",
                                             "{name: merchant_id, dtype: float64}"))
    with pytest.raises(ContractError) as error:
        load_catalog(project.feature_defs)
    assert str(error.value) == (
        "feature_defs/entities.yml:10, field `dtype`: join key `merchant_id` has dtype "
        "'float64'; a key is one of int64, string")


def test_two_views_cannot_share_a_source(project):
    edit(project, "merchant_risk.yml", "source: fs_merchant__risk", "source: fs_user__profile")
    with pytest.raises(ContractError) as error:
        load_catalog(project.feature_defs)
    assert str(error.value) == (
        "feature_defs/user_profile.yml:4, field `source`: source `fs_user__profile` is already "
        "the source of view `merchant_risk`; one model feeds one view")


def test_feature_refs_select_views_and_features(project):
    catalog = load_catalog(project.feature_defs)
    chosen = resolve(catalog, "merchant_risk,user_profile:country")
    assert [(v.name, [f.name for f in fs]) for v, fs in chosen] == [
        ("merchant_risk", ["txn_count_7d", "chargeback_count_30d", "chargeback_rate_30d"]),
        ("user_profile", ["country"])]
    with pytest.raises(RequestError) as error:
        resolve(catalog, "user_profile:countri")
    assert str(error.value) == (
        "feature view `user_profile` has no feature `countri` (did you mean `country`?); its "
        "features: country, signup_channel, is_verified, kyc_level, signed_up_at, email_domain")
    with pytest.raises(RequestError) as error:
        resolve(catalog, "merchant_risks")
    assert str(error.value) == (
        "unknown feature view `merchant_risks` (did you mean `merchant_risk`?); known views: "
        "device_seen_before, merchant_risk, txn_context, user_profile, user_transactions")
    with pytest.raises(RequestError) as error:
        resolve(catalog, " , ")
    assert str(error.value) == ("name the features to read: features=view:feature,... (or a "
                                "whole view by name)")
