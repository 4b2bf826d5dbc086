"""featurestore connects where dbt does: the consumer project's own dbt profile.

The shop's profiles.yml (tests/consumer_project/) says `path: acme.duckdb` for its
default target `dev`, and has a second target `other` whose file comes from an
env_var(). Each test builds or reads through the CLI and the SDK, and checks the files
with DuckDB itself: the warehouse dbt built is the one featurestore reads, for the
default target, for `--target other` and DBT_TARGET, for a profile outside the project
(`--profiles-dir`, DBT_PROFILES_DIR), and an override that differs from the profile
says so and wins for both.
"""

from __future__ import annotations

import shutil

import pyarrow.parquet as pq
import pytest

from .conftest import clear_foreign_env, copy_consumer_project, featurestore, query

pytestmark = pytest.mark.slow

VIEW = "customer_orders"
DEPS = "packages.yml lists 1 dbt package(s) and dbt_packages/ holds 0: running `dbt deps`\n"
NOT_BUILT = "note: warehouse not built yet: column checks skipped (run `featurestore build`)\n"
OK = "OK: 1 feature views, 1 entities.\n"
SPINE = "seeds/raw_churn_labels.csv"  # customer_id, event_ts, churned: 11 rows


FEATURES = ("customer_orders:order_count_7d,customer_orders:order_amount_sum_30d,"
            "customer_orders:last_order_amount")  # those of the churn_training_set model


def _sorted(rows) -> list[tuple]:
    return sorted((tuple(row) for row in rows),
                  key=lambda row: tuple((v is not None, v if v is not None else 0) for v in row))


@pytest.fixture(scope="module")
def two_targets(tmp_path_factory):
    """A copy of the shop built with `featurestore --target other build`, its `other`
    file where SHOP_OTHER_DUCKDB says (outside the project)."""
    base = tmp_path_factory.mktemp("two_targets")
    root = copy_consumer_project(base / "shop")
    other = base / "elsewhere" / "other.duckdb"
    with pytest.MonkeyPatch.context() as patch:
        clear_foreign_env(patch)
        patch.setenv("SHOP_OTHER_DUCKDB", str(other))
        build = featurestore(root, "--target", "other", "build")
    return root, other, build


@pytest.fixture
def other_target(two_targets, monkeypatch):
    clear_foreign_env(monkeypatch)
    monkeypatch.setenv("SHOP_OTHER_DUCKDB", str(two_targets[1]))
    return two_targets


def test_the_second_target_builds_and_checks_its_own_file(other_target):
    root, other, build = other_target
    assert (build.exit_code, build.stderr) == (0, DEPS + "dbt build\n"), build.stdout
    assert build.stdout.endswith("Build OK: models match their contracts.\n")
    # env_var('SHOP_OTHER_DUCKDB') in the profile, honoured by dbt and featurestore alike
    assert query(other, "select count(*) from main.fs_customer__orders") == [(16,)]
    assert not (root / "acme.duckdb").exists()
    checked = featurestore(root, "--target", "other", "validate")
    assert (checked.exit_code, checked.stdout, checked.stderr) == (0, OK, "")
    # the default target is another file, not built
    default = featurestore(root, "validate")
    assert (default.exit_code, default.stdout, default.stderr) == (0, OK, NOT_BUILT)


def test_dbt_target_variable_picks_the_target_for_dbt_and_featurestore(other_target,
                                                                      monkeypatch, tmp_path):
    root, other, _ = other_target
    monkeypatch.setenv("DBT_TARGET", "other")
    out = tmp_path / "train.parquet"
    done = featurestore(root, "training-set", "--spine", str(root / SPINE), "--features",
                        FEATURES, "--out", str(out))
    assert done.exit_code == 0 and "note:" not in done.stderr, done.stderr
    assert done.stdout == f"11 rows written to {out} (manifest: {out}.manifest.json)\n"
    written = [row.values() for row in pq.read_table(out).to_pylist()]
    assert _sorted(written) == _sorted(query(other, "select * from main.churn_training_set"))
    built = featurestore(root, "build", "--select", "stg_shop__orders")
    assert (built.exit_code, built.stderr) == (0, "dbt build --select stg_shop__orders\n")
    assert not (root / "acme.duckdb").exists()


def test_target_given_after_the_build_command_goes_to_dbt_and_the_checks(other_target):
    root, other, _ = other_target
    before = query(other, "select count(*) from main.stg_shop__churn_labels")
    done = featurestore(root, "build", "--target", "other", "--select", "stg_shop__churn_labels")
    assert (done.exit_code, done.stderr) == (0, "dbt build --select stg_shop__churn_labels\n")
    assert query(other, "select count(*) from main.stg_shop__churn_labels") == before
    assert not (root / "acme.duckdb").exists()
    twice = featurestore(root, "--target", "dev", "build", "-t", "other")
    assert twice.exit_code != 0
    assert "--target dev before the command and --target other after it" in twice.stderr


def test_the_sdk_takes_a_target(other_target):
    from featurestore import FeatureStore

    root, other, _ = other_target
    store = FeatureStore(root, target="other")
    assert store.describe(VIEW)["warehouse"]["rows"] == 16
    assert store.project.dbt_target.duckdb_path == other
    assert FeatureStore(root).describe(VIEW)["warehouse"] is None  # dev: not built


# -- a profile outside the project ----------------------------------------------------------
@pytest.fixture(scope="module")
def outside(tmp_path_factory):
    """A copy of the shop whose profiles.yml lives in another folder (as in ~/.dbt/),
    built with DBT_PROFILES_DIR; HOME is an empty folder, so ~/.dbt/ holds nothing."""
    base = tmp_path_factory.mktemp("outside")
    root = copy_consumer_project(base / "shop")
    profiles = base / "dbt_home"
    profiles.mkdir()
    shutil.move(root / "profiles.yml", profiles / "profiles.yml")
    (base / "home").mkdir()
    with pytest.MonkeyPatch.context() as patch:
        clear_foreign_env(patch)
        patch.setenv("HOME", str(base / "home"))
        patch.setenv("DBT_PROFILES_DIR", str(profiles))
        build = featurestore(root, "build")
    return root, profiles, base / "home", build


@pytest.fixture
def outside_project(outside, monkeypatch):
    clear_foreign_env(monkeypatch)
    monkeypatch.setenv("HOME", str(outside[2]))
    return outside


def test_a_profile_outside_the_project_builds_the_file_it_names(outside_project):
    root, _, _, build = outside_project
    assert (build.exit_code, build.stderr) == (0, DEPS + "dbt build\n"), build.stdout
    # `path: acme.duckdb` is taken from the project folder, not from the profile's
    assert query(root / "acme.duckdb", "select count(*) from main.churn_training_set") == [
        (11,)]


def test_profiles_dir_option_and_variable_read_it(outside_project, monkeypatch, tmp_path):
    from featurestore import FeatureStore

    root, profiles, _, _ = outside_project
    checked = featurestore(root, "--profiles-dir", str(profiles), "validate")
    assert (checked.exit_code, checked.stdout, checked.stderr) == (0, OK, "")
    assert FeatureStore(root, profiles_dir=profiles).describe(VIEW)["warehouse"]["rows"] == 16
    monkeypatch.setenv("DBT_PROFILES_DIR", str(profiles))
    out = tmp_path / "train.parquet"
    done = featurestore(root, "training-set", "--spine", str(root / SPINE), "--features",
                        VIEW, "--out", str(out))
    assert done.exit_code == 0 and "note:" not in done.stderr, done.stderr
    assert pq.read_table(out).num_rows == 11


def test_without_the_profile_the_error_says_where_dbt_looks(outside_project):
    root, _, home, _ = outside_project
    done = featurestore(root, "validate")
    assert done.exit_code == 1
    assert done.stderr == (
        f"Error: no dbt profile: {home / '.dbt' / 'profiles.yml'} does not exist. "
        "featurestore reads the profile dbt uses: a profiles.yml in the project folder or "
        "~/.dbt/, or the folder --profiles-dir or DBT_PROFILES_DIR names.\n")


# -- overrides -------------------------------------------------------------------------------
def test_an_override_that_differs_from_the_profile_is_said_and_wins(shop, tmp_path,
                                                                   monkeypatch):
    copy = tmp_path / "copy" / "acme.duckdb"  # DuckDB names the catalog after the file
    copy.parent.mkdir()
    shutil.copy(shop.duckdb_path, copy)
    monkeypatch.setenv("FEATURESTORE_DUCKDB_PATH", str(copy))
    note = (f"note: FEATURESTORE_DUCKDB_PATH overrides `path: acme.duckdb` of target `dev` "
            f"of profile `shop` ({shop.root / 'profiles.yml'}); dbt and featurestore both "
            f"use {copy}.\n")
    checked = featurestore(shop.root, "validate")
    assert (checked.exit_code, checked.stdout, checked.stderr) == (0, OK, note)
    # dbt follows the override too: the seed lands in the new file, acme.duckdb is untouched
    fresh = tmp_path / "fresh.duckdb"
    monkeypatch.setenv("FEATURESTORE_DUCKDB_PATH", str(fresh))
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))  # the shop's stays
    stamp = shop.duckdb_path.stat().st_mtime_ns
    built = featurestore(shop.root, "build", "--skip-checks", "--select", "raw_orders")
    assert built.exit_code == 0, built.stdout
    assert built.stderr == ("dbt build --select raw_orders\n"
                            + note.replace(str(copy), str(fresh)))
    assert query(fresh, "select count(*) from main.raw_orders") == [(8,)]
    assert shop.duckdb_path.stat().st_mtime_ns == stamp


def test_an_override_equal_to_the_profile_says_nothing(shop, monkeypatch):
    monkeypatch.setenv("FEATURESTORE_DUCKDB_PATH", str(shop.duckdb_path))
    checked = featurestore(shop.root, "validate")
    assert (checked.exit_code, checked.stdout, checked.stderr) == (0, OK, "")
