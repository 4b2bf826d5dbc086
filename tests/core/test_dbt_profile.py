"""The target featurestore connects to is the one dbt resolves from the profile.

No dbt run here: each test writes a profiles.yml and reads ``Project.dbt_target``, which
renders it through dbt's own profile loading. The figures expected are written out by
hand from dbt's documented rules, not computed by the code under test.
"""

from __future__ import annotations

import os
import stat
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from featurestore.dbt_profile import profiles_folder
from featurestore.dbt_runner import run_dbt, split_connection_args
from featurestore.errors import ProjectError
from featurestore.project import Project
from featurestore.settings import Settings
from tests.conftest import REPO_ROOT

VARIABLES = ("DBT_PROFILES_DIR", "DBT_PROFILE", "DBT_TARGET", "FEATURESTORE_TARGET",
             "FEATURESTORE_DUCKDB_PATH", "FEATURESTORE_DUCKDB_MEMORY_LIMIT",
             "FEATURESTORE_SPARK_DIR",
             "FEATURESTORE_SPARK_DRIVER_MEMORY", "SHOP_TARGET", "QA_PATH", "MY_PASSWORD",
             "SNOWFLAKE_ACCOUNT", "SNOWFLAKE_USER", "SNOWFLAKE_PASSWORD", "SNOWFLAKE_ROLE",
             "SNOWFLAKE_WAREHOUSE", "SNOWFLAKE_DATABASE", "SNOWFLAKE_SCHEMA")
PROFILES = """\
shop:
  target: "{{ env_var('SHOP_TARGET', 'dev') }}"
  outputs:
    dev: {type: duckdb, path: acme.duckdb, schema: main}
    qa: {type: duckdb, path: "{{ env_var('QA_PATH') }}", schema: qa}
    pg: {type: postgres, host: x, user: u, password: p, port: 5432, dbname: d, schema: s}
    memory: {type: duckdb, path: ":memory:"}
second:
  target: dev
  outputs:
    dev: {type: duckdb, path: second.duckdb, schema: main}
"""


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def _project(root: Path, profiles: str | None = PROFILES, profile: str = "shop") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "dbt_project.yml").write_text(f"name: shop\nprofile: {profile}\n")
    if profiles is not None:
        (root / "profiles.yml").write_text(textwrap.dedent(profiles))
    return root


def _target(root: Path, **options):
    return Project(root, **options).dbt_target


# -- where the profile is, which profile, which target --------------------------------------
def test_profiles_folder_follows_dbts_rule(tmp_path, monkeypatch):
    root = _project(tmp_path / "shop")
    elsewhere, variable = tmp_path / "elsewhere", tmp_path / "variable"
    assert profiles_folder(root, Settings.from_env(root), elsewhere) == elsewhere
    assert profiles_folder(root, Settings.from_env(root)) == root
    monkeypatch.setenv("DBT_PROFILES_DIR", str(variable))
    assert profiles_folder(root, Settings.from_env(root)) == variable
    assert profiles_folder(root, Settings.from_env(root), elsewhere) == elsewhere
    monkeypatch.delenv("DBT_PROFILES_DIR")
    (root / "profiles.yml").unlink()
    assert profiles_folder(root, Settings.from_env(root)) == tmp_path / "home" / ".dbt"


def test_target_from_the_profile_env_var_dbt_target_and_the_option(tmp_path, monkeypatch):
    root = _project(tmp_path / "shop")
    dev = _target(root)
    assert (dev.profile_name, dev.target_name, dev.type) == ("shop", "dev", "duckdb")
    assert (dev.duckdb_path, dev.schema, dev.notes) == (root / "acme.duckdb", "main", [])
    monkeypatch.setenv("SHOP_TARGET", "qa")  # the profile's own target: env_var()
    monkeypatch.setenv("QA_PATH", str(tmp_path / "qa" / "q.duckdb"))
    qa = _target(root)
    assert (qa.target_name, qa.duckdb_path, qa.schema) == ("qa", tmp_path / "qa" / "q.duckdb",
                                                           "qa")
    monkeypatch.setenv("DBT_TARGET", "dev")  # dbt's variable wins over the profile's
    assert _target(root).target_name == "dev"
    assert _target(root, target="qa").target_name == "qa"  # --target wins over both


def test_dbt_profile_variable_picks_another_profile(tmp_path, monkeypatch):
    root = _project(tmp_path / "shop")
    monkeypatch.setenv("DBT_PROFILE", "second")
    target = _target(root)
    assert (target.profile_name, target.duckdb_path) == ("second", root / "second.duckdb")


def test_a_profile_outside_the_project(tmp_path, monkeypatch):
    root = _project(tmp_path / "shop", profiles=None)
    outside = tmp_path / "dbt_home"
    outside.mkdir()
    (outside / "profiles.yml").write_text(PROFILES)
    target = _target(root, profiles_dir_option=outside)
    assert target.profiles_path == outside / "profiles.yml"
    assert target.duckdb_path == root / "acme.duckdb"  # relative to the project folder
    (tmp_path / "home" / ".dbt").mkdir()
    (tmp_path / "home" / ".dbt" / "profiles.yml").write_text(PROFILES)
    assert _target(root).profiles_path == tmp_path / "home" / ".dbt" / "profiles.yml"


@pytest.mark.parametrize(("profiles", "profile", "target", "message"), [
    (PROFILES, "nobody", None,
     "{profiles}: no profile `nobody` (the profile {root}/dbt_project.yml names); it has "
     "`second`, `shop`. Add it, or point DBT_PROFILES_DIR or --profiles-dir at the folder "
     "of the profiles.yml that has it."),
    (PROFILES, "shop", "prod",
     "{profiles}: The profile 'shop' does not have a target named 'prod'. The valid target "
     "names for this profile are: - dev - qa - pg - memory"),
    (PROFILES, "shop", "pg",
     "{profiles}, target `pg` of profile `shop`: type `postgres`. featurestore runs on "
     "duckdb, snowflake, spark; pick one of those targets with --target or DBT_TARGET."),
    (PROFILES, "shop", "qa",
     "{profiles}: Env var required but not provided: 'QA_PATH'"),
    (PROFILES, "shop", "memory",
     "target `memory` of profile `shop` ({profiles}): path ':memory:'. featurestore reads "
     "the warehouse dbt built from another connection, so it must be a DuckDB file: set "
     "`path:` to one, e.g. `path: warehouse/featurestore.duckdb`."),
    ("shop: {target: dev}\n", "shop", None,
     "{profiles}, profile `shop`: no `outputs:` mapping of targets."),
])
def test_errors_name_the_file_and_the_fix(tmp_path, profiles, profile, target, message):
    root = _project(tmp_path / "shop", profiles, profile)
    with pytest.raises(ProjectError) as error:
        _target(root, target=target)
    assert str(error.value) == message.format(profiles=root / "profiles.yml", root=root)


def test_a_project_without_a_profile_setting(tmp_path):
    root = _project(tmp_path / "shop")
    (root / "dbt_project.yml").write_text("name: shop\n")
    with pytest.raises(ProjectError) as error:
        _target(root)
    assert str(error.value) == (
        f"{root}/dbt_project.yml: no `profile:`. dbt and featurestore connect through the "
        f"profile it names: add `profile: <name>` naming a profile of {root}/profiles.yml.")


def test_resolution_is_cached_per_process_until_something_changes(tmp_path, monkeypatch):
    root = _project(tmp_path / "shop")
    first = _target(root)
    assert _target(root) is first
    monkeypatch.setenv("SHOP_TARGET", "dev")  # the environment dbt renders with changed
    assert _target(root) is not first


# -- overrides ----------------------------------------------------------------------------
def test_an_override_the_profile_reads_agrees_and_says_nothing(tmp_path, monkeypatch):
    root = tmp_path / "demo"
    root.mkdir()
    for name in ("dbt_project.yml", "profiles.yml"):
        (root / name).write_text((REPO_ROOT / name).read_text())
    monkeypatch.setenv("FEATURESTORE_DUCKDB_PATH", str(tmp_path / "x.duckdb"))
    target = _target(root)
    assert (target.duckdb_path, target.notes, target.derived_profile) == (
        tmp_path / "x.duckdb", [], None)


def test_an_override_the_profile_ignores_is_said_and_reaches_dbt(tmp_path, monkeypatch):
    root = _project(tmp_path / "shop")
    wanted = tmp_path / "{{ odd }}" / "x.duckdb"  # a brace is no template
    monkeypatch.setenv("FEATURESTORE_DUCKDB_PATH", str(wanted))
    target = _target(root)
    assert target.duckdb_path == wanted
    assert target.notes == [
        f"FEATURESTORE_DUCKDB_PATH overrides `path: acme.duckdb` of target `dev` of profile "
        f"`shop` ({root}/profiles.yml); dbt and featurestore both use {wanted}."]
    with target.profiles_dir() as folder:
        written = folder / "profiles.yml"
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert stat.S_IMODE(written.stat().st_mode) == 0o600
        assert folder != root
    assert not folder.exists()


def test_a_memory_limit_reaches_dbt_and_featurestores_connection(tmp_path, monkeypatch):
    from featurestore.warehouse import Warehouse

    root = _project(tmp_path / "shop")
    monkeypatch.setenv("FEATURESTORE_DUCKDB_MEMORY_LIMIT", "1500MB")
    target = _target(root)
    assert target.notes == [
        "FEATURESTORE_DUCKDB_MEMORY_LIMIT overrides `memory_limit: unset` of target `dev` of "
        f"profile `shop` ({root}/profiles.yml); dbt and featurestore both use 1500MB."]
    derived = yaml_load(target.derived_profile)["shop"]["outputs"]["dev"]
    assert derived["settings"] == {"memory_limit": "1500MB",
                                   "preserve_insertion_order": "false"}
    with Warehouse(Project(root)) as warehouse:
        assert warehouse.fetch_all(
            "select current_setting('memory_limit'), "
            "current_setting('preserve_insertion_order')") == [("1.3 GiB", False)]


def test_a_memory_limit_the_profile_sets_stands_unless_overridden(tmp_path, monkeypatch):
    root = _project(tmp_path / "shop", PROFILES.replace(
        "dev: {type: duckdb, path: acme.duckdb, schema: main}",
        "dev: {type: duckdb, path: acme.duckdb, schema: main, settings: "
        "{memory_limit: 2GB, preserve_insertion_order: true}}"))
    monkeypatch.setenv("FEATURESTORE_DUCKDB_MEMORY_LIMIT", "2GB")
    assert (_target(root).notes, _target(root).derived_profile) == ([], None)
    monkeypatch.setenv("FEATURESTORE_DUCKDB_MEMORY_LIMIT", "1GB")
    target = _target(root)
    derived = yaml_load(target.derived_profile)["shop"]["outputs"]["dev"]
    # the profile's own preserve_insertion_order stands; only the limit is overridden
    assert derived["settings"] == {"memory_limit": "1GB", "preserve_insertion_order": True}


def test_a_capped_training_join_hands_freed_pages_back_then_restores_the_threshold(tmp_path):
    """Under FEATURESTORE_DUCKDB_MEMORY_LIMIT a training set's join returns a freed page
    run of 1 MiB or more to the OS (docs/scale.md "Training sets at the floor"); after
    it, failed or not, the instance has its own threshold back: a notebook's connection
    to the same file shares the instance, and keeps its settings. Without a cap, DuckDB's
    own threshold stands (handing pages back costs time)."""
    from featurestore.errors import WarehouseError
    from featurestore.warehouse import Warehouse

    root = _project(tmp_path / "shop")
    threshold = "select current_setting('allocator_bulk_deallocation_flush_threshold')"
    with Warehouse(Project(root)) as warehouse:
        join_memory = warehouse.dialect.join_memory
        with join_memory(warehouse, None):
            assert warehouse.fetch_all(threshold) == [("512.0 MiB",)]
        with join_memory(warehouse, "1GB"):
            assert warehouse.fetch_all(threshold) == [("1.0 MiB",)]
        assert warehouse.fetch_all(threshold) == [("512.0 MiB",)]
        warehouse.execute("set allocator_bulk_deallocation_flush_threshold = '64MB'")
        with pytest.raises(WarehouseError), join_memory(warehouse, "1GB"):
            assert warehouse.fetch_all(threshold) == [("1.0 MiB",)]
            warehouse.fetch_all("select * from no_such_table")
        assert warehouse.fetch_all(threshold) == [("61.0 MiB",)]


@pytest.mark.parametrize(("limit", "threads"), [(None, 2), ("1500MB", 1)])
def test_the_demo_profile_builds_one_model_at_a_time_under_a_memory_limit(monkeypatch,
                                                                           limit, threads):
    """dbt's threads of the demo's DuckDB target: two models at once, but one under
    FEATURESTORE_DUCKDB_MEMORY_LIMIT, whose one cap two models would share."""
    import contextvars

    from dbt.config.profile import Profile, read_profile
    from dbt.config.renderer import ProfileRenderer
    from dbt_common.context import set_invocation_context

    if limit:
        monkeypatch.setenv("FEATURESTORE_DUCKDB_MEMORY_LIMIT", limit)

    def render():
        set_invocation_context(dict(os.environ))
        raw = read_profile(str(REPO_ROOT))
        return Profile.render_profile(raw["featurestore_demo"], "featurestore_demo",
                                      "duckdb", ProfileRenderer({}))[1]

    assert contextvars.copy_context().run(render)["threads"] == threads


def yaml_load(text: str) -> dict:
    import yaml

    return yaml.safe_load(text)


@pytest.mark.parametrize("limit", ["lots", "1.5", "GB", "2 GB; drop table x", "80%"])
def test_a_memory_limit_duckdb_cannot_read_is_refused_with_the_fix(tmp_path, monkeypatch,
                                                                    limit):
    root = _project(tmp_path / "shop")
    monkeypatch.setenv("FEATURESTORE_DUCKDB_MEMORY_LIMIT", limit)
    with pytest.raises(ProjectError) as raised:
        _target(root)
    assert str(raised.value) == (
        f"FEATURESTORE_DUCKDB_MEMORY_LIMIT={limit!r} is not a size DuckDB reads: write a "
        "number and a unit, e.g. FEATURESTORE_DUCKDB_MEMORY_LIMIT=1500MB or 2GB.")


SNOWFLAKE = """\
shop:
  target: prod
  outputs:
    prod:
      type: snowflake
      account: acme-eu
      user: loader
      password: "{{ env_var('MY_PASSWORD') }}"
      database: ANALYTICS
      schema: FEATURES
"""


def test_snowflake_overrides_go_through_env_var_and_hide_secrets(tmp_path, monkeypatch):
    pytest.importorskip("dbt.adapters.snowflake")
    root = _project(tmp_path / "shop", SNOWFLAKE)
    monkeypatch.setenv("MY_PASSWORD", "first-secret")
    assert _target(root).credentials.password == "first-secret"
    monkeypatch.setenv("SNOWFLAKE_ACCOUNT", "acme-us")
    monkeypatch.setenv("SNOWFLAKE_PASSWORD", "second-secret")
    monkeypatch.setenv("SNOWFLAKE_SCHEMA", "FEATURES")  # agrees: no change
    target = _target(root)
    where = f"target `prod` of profile `shop` ({root}/profiles.yml)"
    assert target.notes == [
        f"SNOWFLAKE_ACCOUNT overrides `account: acme-eu` of {where}; dbt and featurestore "
        "both use acme-us.",
        f"SNOWFLAKE_PASSWORD overrides `password` of {where} (values not shown); dbt and "
        "featurestore both use SNOWFLAKE_PASSWORD."]
    credentials = target.credentials
    assert (credentials.account, credentials.password, credentials.schema) == (
        "acme-us", "second-secret", "FEATURES")
    import yaml

    output = yaml.safe_load(target.derived_profile)["shop"]["outputs"]["prod"]
    assert (output["account"], output["password"]) == (
        '{{ env_var("SNOWFLAKE_ACCOUNT") }}', '{{ env_var("SNOWFLAKE_PASSWORD") }}')
    assert "secret" not in target.derived_profile


# -- Spark ----------------------------------------------------------------------------------
MINIMAL_SPARK = """\
shop:
  target: spark
  outputs:
    spark:
      type: spark
      method: session
      host: NA
      schema: main
      server_side_parameters:
        spark.sql.warehouse.dir: lake/tables
"""


def test_a_minimal_spark_profile_gets_the_session_featurestore_needs(tmp_path):
    pytest.importorskip("dbt.adapters.spark")
    root = _project(tmp_path / "shop", MINIMAL_SPARK)
    target = _target(root)
    lake = root / "lake"
    assert target.credentials.server_side_parameters == {
        "spark.master": "local[2]",
        "spark.app.name": "featurestore",
        "spark.driver.memory": "2g",
        "spark.sql.shuffle.partitions": "4",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.warehouse.dir": f"{lake}/tables",
        "spark.hadoop.javax.jdo.option.ConnectionURL":
            f"jdbc:derby:;databaseName={lake}/metastore_db;create=true",
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={lake}",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.timestampType": "TIMESTAMP_NTZ",
        "spark.sql.ansi.enabled": "false",
        "spark.sql.variable.substitute": "false",
    }
    assert target.notes == []
    assert target.dialect.describe(target) == (
        f"Spark (local session) with its tables under {lake}/tables")


def test_spark_settings_featurestore_needs_win_and_are_said(tmp_path, monkeypatch):
    pytest.importorskip("dbt.adapters.spark")
    root = _project(tmp_path / "shop", MINIMAL_SPARK + textwrap.indent(textwrap.dedent("""\
        spark.sql.session.timeZone: Europe/Paris
        spark.sql.variable.substitute: "true"
        spark.sql.ansi.enabled: "FALSE"
        spark.driver.memory: 4g
    """), " " * 8))
    monkeypatch.setenv("FEATURESTORE_SPARK_DIR", str(tmp_path / "fs_spark"))
    monkeypatch.setenv("FEATURESTORE_SPARK_DRIVER_MEMORY", "1g")
    target = _target(root)
    where = f"target `spark` of profile `shop` ({root}/profiles.yml)"
    assert target.notes == [
        f"FEATURESTORE_SPARK_DRIVER_MEMORY overrides `spark.driver.memory: 4g` of {where}; "
        "dbt and featurestore both use 1g.",
        f"FEATURESTORE_SPARK_DIR overrides `spark.sql.warehouse.dir: {root}/lake/tables` of "
        f"{where}; dbt and featurestore both use {tmp_path}/fs_spark/tables.",
        f"{where} sets `spark.sql.session.timeZone: Europe/Paris`; featurestore needs UTC "
        "(the point-in-time rules compare instants in UTC, whatever the machine's zone), so "
        "dbt and featurestore both run with UTC.",
        f"{where} sets `spark.sql.variable.substitute: true`; featurestore needs false "
        "(contract text is data: a ${env:NAME} in it must stay as written), so dbt and "
        "featurestore both run with false.",
    ]
    parameters = target.credentials.server_side_parameters
    assert parameters["spark.hadoop.javax.jdo.option.ConnectionURL"] == (
        f"jdbc:derby:;databaseName={tmp_path}/fs_spark/metastore_db;create=true")
    assert parameters["spark.sql.ansi.enabled"] == "false"


# -- dbt's options and the changed profile's text ------------------------------------------
@pytest.mark.parametrize(("args", "chosen", "rest"), [
    (["--select", "x", "--target", "prod"], {"target": "prod"}, ["--select", "x"]),
    (["-t", "prod", "--full-refresh"], {"target": "prod"}, ["--full-refresh"]),
    (["--target=prod", "--profiles-dir=/p"], {"target": "prod", "profiles_dir": "/p"}, []),
    (["--profiles-dir", "/p", "-s", "t"], {"profiles_dir": "/p"}, ["-s", "t"]),
    (["--select", "tag:target"], {}, ["--select", "tag:target"]),
])
def test_split_connection_args(args, chosen, rest):
    assert split_connection_args(args) == (chosen, rest)


def test_a_connection_option_without_its_value():
    with pytest.raises(ProjectError, match=r"^--target needs a value, e.g. `--target prod`.$"):
        split_connection_args(["--target", "--select", "x"])


def test_run_dbt_leaves_the_target_to_featurestore(tmp_path):
    root = _project(tmp_path / "shop")
    with pytest.raises(ProjectError) as error:
        run_dbt(Project(root), ["build", "--target", "qa"])
    assert str(error.value) == ("--target: featurestore passes dbt the target it connects to "
                                "itself; choose it with `featurestore --target prod ...`, "
                                "--profiles-dir or DBT_PROFILE.")


@settings(max_examples=100, deadline=None)
@given(st.one_of(st.text(min_size=1, max_size=40),
                 st.text(alphabet="{}%#'\\ \r\n\tab", min_size=1, max_size=12))
       .filter(lambda t: "\x00" not in t))
def test_a_value_featurestore_writes_renders_as_itself(text):
    """Written into the changed profile, any path or setting comes back from dbt's
    rendering unchanged: a brace in it is never a template."""
    import contextvars

    from dbt.config.renderer import ProfileRenderer
    from dbt_common.context import set_invocation_context

    from featurestore.dialects.base import jinja_literal

    def render():
        set_invocation_context({})
        return ProfileRenderer({}).render_value(jinja_literal(text))

    rendered = contextvars.copy_context().run(render)
    assert rendered == text
