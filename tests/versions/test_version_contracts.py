"""A contract's `versions:`: how each version derives from the one before, what `plan`
shows between them, and what stays refused inside a version. No dbt, no DynamoDB."""

from __future__ import annotations

import pytest

from featurestore import registry
from featurestore.errors import ContractError, RequestError
from featurestore.feature_refs import FeatureRef, resolve
from featurestore.warehouse import Warehouse
from tests.core.conftest import consume, edit, project  # noqa: F401  (the fixture)
from tests.versions.world import FIXTURES

VIEW = "user_transactions"


def add_v2(project) -> None:  # noqa: F811
    path = project.feature_defs / f"{VIEW}.yml"
    path.write_text(path.read_text() + (FIXTURES / f"{VIEW}_versions.yml").read_text())


def plan_of(project):  # noqa: F811
    with Warehouse(project) as warehouse:
        return registry.plan(project.catalog(), warehouse)


def apply(project) -> None:  # noqa: F811
    with Warehouse(project) as warehouse:
        registry.apply(project.catalog(), warehouse, who="alice")


def test_a_later_version_is_the_one_before_with_its_changes(project):  # noqa: F811
    add_v2(project)
    catalog = project.catalog()
    v1, v2 = catalog.view_version(VIEW, 1), catalog.view_version(VIEW, 2)
    assert catalog.views[VIEW] is v1  # unpinned: the base, until a promotion
    assert [f.name for f in v2.features] == [
        "txn_count_7d", "txn_count_30d", "txn_amount_sum_7d", "txn_amount_sum_30d",
        "txn_amount_avg_7d", "txn_amount_avg_30d", "last_txn_amount", "txn_count_24h",
        "txn_amount_sum_24h", "txn_amount_max_7d"]
    assert (v1.model_ref, v1.model_file) == ("fs_user__transactions.v1",
                                             "fs_user__transactions")
    assert (v2.model_ref, v2.model_file) == ("fs_user__transactions.v2",
                                             "fs_user__transactions_v2")
    assert (v1.label, v2.label) == (f"{VIEW}@v1", f"{VIEW}@v2")
    assert v2.ttl_seconds == v1.ttl_seconds and v2.entity == v1.entity


def test_plan_shows_how_the_new_version_differs(project):  # noqa: F811
    apply(project)
    add_v2(project)
    rendered = plan_of(project).render()
    assert (f"+ {VIEW} v2, beside v1 (new-version)\n"
            "    differs from v1:\n"
            "      feature `txn_count_1h`: dropped\n"
            "      feature `txn_amount_sum_1h`: dropped\n"
            "      feature `txn_count_24h`: added (int64)\n"
            "      feature `txn_amount_sum_24h`: added (float64)\n"
            "      feature `txn_amount_max_7d`: added (float64)\n") in rendered
    assert f"~ {VIEW} v1 (update)\n    changes: None -> 'The first version.'" in rendered
    assert plan_of(project).refused == []


def test_a_dtype_change_inside_an_applied_version_is_still_refused(project):  # noqa: F811
    add_v2(project)
    apply(project)
    consume(project, VIEW)
    edit(project, f"{VIEW}.yml", "name: txn_count_24h\n        dtype: int64",
         "name: txn_count_24h\n        dtype: float64")
    assert plan_of(project).refused == [
        f"feature_defs/{VIEW}.yml, feature `txn_count_24h`: dtype changed from int64 to "
        "float64 without a new version. Add `version: 3`."]


def test_a_version_leaves_the_contract_only_once_retired(project):  # noqa: F811
    add_v2(project)
    apply(project)
    edit(project, f"{VIEW}.yml", "  - version: 1\n    changes: The first version.",
         "  - version: 1\n    changes: The first version.\n    retired: true")
    assert plan_of(project).refused == [
        f"feature_defs/{VIEW}.yml, version 1: is marked `retired: true`, but `featurestore "
        f"retire` has not retired it (its online items may still be served or pinned). Run "
        f"`featurestore retire {VIEW} --version 1` first."]


@pytest.mark.parametrize(("text", "message"), [
    ("    drop: [txn_count_2h, txn_amount_sum_1h]\n",
     "version 1 has no feature `txn_count_2h` to drop (did you mean `txn_count_1h`?)"),
    ("    drop: [txn_count_1h, txn_amount_sum_1h]\n    ttl: forever\n", "field `ttl`"),
])
def test_a_bad_version_entry_names_the_file_and_field(project, text, message):  # noqa: F811
    add_v2(project)
    edit(project, f"{VIEW}.yml", "    drop: [txn_count_1h, txn_amount_sum_1h]\n", text)
    with pytest.raises(ContractError) as error:
        project.catalog()
    assert f"feature_defs/{VIEW}.yml" in str(error.value)
    assert message in str(error.value)


def test_references_pin_a_version_or_get_the_served_one(project):  # noqa: F811
    add_v2(project)
    catalog = project.catalog()
    assert FeatureRef.parse(f"{VIEW}@v2:txn_count_24h") == FeatureRef(VIEW, "txn_count_24h", 2)
    [(view, features)] = resolve(catalog, f"{VIEW}@v1:txn_count_1h")
    assert (view.version, [f.name for f in features]) == (1, ["txn_count_1h"])
    [(view, _)] = resolve(catalog, f"{VIEW}:txn_count_24h", served={VIEW: 2})
    assert view.version == 2
    with pytest.raises(RequestError) as error:
        resolve(catalog, f"{VIEW}:txn_count_24h")
    assert str(error.value).endswith(
        f"Version 2 has it: ask for `{VIEW}@v2:txn_count_24h`")
    with pytest.raises(RequestError) as error:
        resolve(catalog, f"{VIEW}@v3:txn_count_7d")
    assert "v3" in str(error.value) or "version 3" in str(error.value)
    with pytest.raises(RequestError) as error:
        resolve(catalog, f"{VIEW}@2:txn_count_7d")
    assert str(error.value) == (f"`{VIEW}@2:txn_count_7d`: a version is written `@v` and a "
                                f"whole number from 1 to 2147483647, as in "
                                f"`{VIEW}@v2:feature`")
