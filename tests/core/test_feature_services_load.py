"""feature_services/*.yml: the demo's service loads as written, and each mistake is one
ContractError naming the file, the line and the field (and the fix)."""

from __future__ import annotations

import pytest

from featurestore.contracts import load_catalog
from featurestore.errors import ContractError, RequestError
from featurestore.feature_refs import FeatureRef
from featurestore.feature_services.load import load_services, service_named
from tests.conftest import REPO_ROOT

GOOD = """\
name: fraud_model
version: 1
entity: user
description: test
features:
  - user_transactions:txn_count_7d
  - user_transactions:txn_amount_avg_30d
  - user_profile@v1:country
transformations:
  - {feature: user_transactions:txn_count_7d, kind: quantile_bins, bins: 4}
  - {feature: user_profile:country, kind: one_hot}
"""


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(REPO_ROOT / "feature_defs")


def load(tmp_path, catalog, text: str, name: str = "fraud_model"):
    folder = tmp_path / "feature_services"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.yml").write_text(text)
    return load_services(tmp_path, catalog)


def test_the_demo_service_loads_in_its_order(catalog):
    service = load_services(REPO_ROOT, catalog)["fraud_model"]
    assert (service.name, service.version, service.entity) == ("fraud_model", 1, "user")
    assert service.refs == [
        "user_transactions:txn_count_1h", "user_transactions:txn_count_7d",
        "user_transactions:txn_amount_sum_7d", "user_transactions:txn_amount_avg_30d",
        "user_transactions:last_txn_amount", "user_profile:country",
        "user_profile:signup_channel", "user_profile:kyc_level", "user_profile:is_verified",
        "txn_context:amount_over_avg_30d"]
    assert [(f.dtype, f.on_demand) for f in service.features[-2:]] == [
        ("bool", False), ("float64", True)]
    assert [(t.feature.name, t.kind, t.column) for t in service.transformations] == [
        ("user_transactions:txn_count_1h", "min_max",
         "user_transactions__txn_count_1h__min_max"),
        ("user_transactions:txn_count_7d", "quantile_bins",
         "user_transactions__txn_count_7d__quantile_bins"),
        ("user_transactions:txn_amount_sum_7d", "log1p",
         "user_transactions__txn_amount_sum_7d__log1p"),
        ("user_transactions:txn_amount_avg_30d", "zscore",
         "user_transactions__txn_amount_avg_30d__zscore"),
        ("user_transactions:last_txn_amount", "clip",
         "user_transactions__last_txn_amount__clip"),
        ("user_profile:country", "one_hot", "user_profile__country__one_hot"),
        ("user_profile:signup_channel", "index", "user_profile__signup_channel__index"),
        ("txn_context:amount_over_avg_30d", "log1p",
         "txn_context__amount_over_avg_30d__log1p")]
    assert service.transformations[4].to_dict() == {
        "feature": "user_transactions:last_txn_amount", "kind": "clip", "lower": 0.01,
        "upper": 0.99}


def test_a_pin_and_the_defaults_of_options(tmp_path, catalog):
    service = load(tmp_path, catalog, GOOD)["fraud_model"]
    assert service.features[2].ref == FeatureRef("user_profile", "country", 1)
    assert service.features[2].name == "user_profile:country"
    assert service.features[2].column == "user_profile__country"
    assert service.refs[2] == "user_profile@v1:country"
    assert service.transformations[1].option("max_categories") == 20
    assert service.transformations[0].option("bins") == 4
    assert len(service.service_hash()) == 64


def test_no_folder_no_services(tmp_path, catalog):
    assert load_services(tmp_path, catalog) == {}


def test_an_unknown_service_is_a_404_naming_the_closest(catalog):
    services = load_services(REPO_ROOT, catalog)
    with pytest.raises(RequestError) as caught:
        service_named(services, "fraud_modle")
    assert str(caught.value) == ("unknown feature service `fraud_modle` (did you mean "
                                 "`fraud_model`?); known services: fraud_model")
    assert caught.value.status == 404


@pytest.mark.parametrize("old, new, message", [
    ("version: 1\n", "version: 1\nowners: x\n",
     "feature_services/fraud_model.yml:3, field `owners`: unknown field in a feature "
     "service (did you mean `owner`?); allowed: name, version, entity, description, owner, "
     "features, transformations, parameters"),
    ("name: fraud_model", "name: fraud",
     "feature_services/fraud_model.yml:1, field `name`: the service is named `fraud` but "
     "its file is `fraud_model.yml`: rename one so they match"),
    ("entity: user", "entity: users",
     "feature_services/fraud_model.yml:3, field `entity`: unknown entity 'users' (did you "
     "mean `user`?); entities are declared in feature_defs/entities.yml"),
    ("  - user_profile@v1:country\n", "  - user_profile\n",
     "feature_services/fraud_model.yml:8, field `features[2]`: `user_profile` names a whole "
     "view; a service lists one feature per item, in the model's order, like "
     "`user_profile:feature`"),
    ("  - user_profile@v1:country\n", "  - user_profile:contry\n",
     "feature_services/fraud_model.yml:8, field `features[2]`: feature view `user_profile` "
     "has no feature `contry` (did you mean `country`?); its features: country, "
     "signup_channel, is_verified, kyc_level, signed_up_at, email_domain"),
    ("  - user_profile@v1:country\n", "  - merchant_risk:chargeback_rate_30d\n",
     "feature_services/fraud_model.yml:8, field `features[2]`: feature view `merchant_risk` "
     "is keyed by entity `merchant`, not `user`; ask for it with merchant keys"),
    ("  - user_profile@v1:country\n", "  - user_transactions:txn_count_7d\n",
     "feature_services/fraud_model.yml:8, field `features[2]`: "
     "`user_transactions:txn_count_7d` is listed twice; a model reads each feature once"),
    ("  - user_profile@v1:country\n", "  - user_transactions@v1:txn_count_30d\n",
     "feature_services/fraud_model.yml:8, field `features[2]`: "
     "`user_transactions@v1:txn_count_30d` names `user_transactions` at another version "
     "than an earlier item; a service reads one version of a view (its training set's "
     "columns are `user_transactions__<feature>`): pin every feature of "
     "`user_transactions` to one version, or none"),
    ("  - user_profile@v1:country\n", "  - txn_context:amount_over_avg\n",
     "feature_services/fraud_model.yml:8, field `features[2]`: on-demand view `txn_context` "
     "has no feature `amount_over_avg` (did you mean `amount_over_avg_30d`?); its features: "
     "amount_over_avg_30d, amount_minus_avg_7d, local_hour, is_foreign"),
    ("kind: one_hot}", "kind: onehot}",
     "feature_services/fraud_model.yml:11, field `transformations[1].kind`: unknown "
     "transformation kind 'onehot' (did you mean `one_hot`?); kinds: zscore, min_max, "
     "log1p, clip, quantile_bins, one_hot, index"),
    ("bins: 4}", "bins: 1}",
     "feature_services/fraud_model.yml:10, field `transformations[0].bins`: expected a "
     "whole number from 2 to 100, got 1"),
    ("bins: 4}", "bins: 4, max_categories: 3}",
     "feature_services/fraud_model.yml:10, field `transformations[0].max_categories`: "
     "unknown field in a transformation; allowed: feature, kind, bins"),
    ("{feature: user_profile:country, kind: one_hot}",
     "{feature: user_profile:signup_channel, kind: one_hot}",
     "feature_services/fraud_model.yml:11, field `transformations[1].feature`: "
     "'user_profile:signup_channel' is not one of the service's features (did you mean "
     "`user_profile:country`?); transform a feature listed under `features`"),
    ("{feature: user_profile:country, kind: one_hot}",
     "{feature: user_transactions:txn_amount_avg_30d, kind: one_hot}",
     "feature_services/fraud_model.yml:11, field `transformations[1].kind`: `one_hot` reads "
     "string or int64 or bool features; `user_transactions:txn_amount_avg_30d` is float64"),
    ("{feature: user_profile:country, kind: one_hot}",
     "{feature: user_profile:country, kind: zscore}",
     "feature_services/fraud_model.yml:11, field `transformations[1].kind`: `zscore` reads "
     "int64 or float64 features; `user_profile:country` is string"),
    ("{feature: user_profile:country, kind: one_hot}",
     "{feature: user_transactions:txn_count_7d, kind: quantile_bins}",
     "feature_services/fraud_model.yml:11, field `transformations[1].kind`: "
     "`user_transactions:txn_count_7d` has two `quantile_bins` transformations; keep one"),
    ("{feature: user_profile:country, kind: one_hot}",
     "{feature: user_transactions:txn_count_7d, kind: clip, lower: 0.5, upper: 0.5}",
     "feature_services/fraud_model.yml:11, field `transformations[1].lower`: clip of "
     "`user_transactions:txn_count_7d`: `lower` must be below `upper`"),
    ("version: 1\n", "version: 1\nparameters: 0\n",
     "feature_services/fraud_model.yml:3, field `parameters`: expected a whole number from "
     "1 to 2147483647, got 0"),
])
def test_each_mistake_names_file_line_and_field(tmp_path, catalog, old, new, message):
    assert old in GOOD
    with pytest.raises(ContractError) as caught:
        load(tmp_path, catalog, GOOD.replace(old, new, 1))
    assert str(caught.value) == message
