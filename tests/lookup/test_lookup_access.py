"""Who may read: no key is no access when deployed, `featurestore keys create`, and a
catalog that shows each key only what it may read."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from featurestore.apps.cli import cli
from featurestore.lookup.access import AccessPolicy, hash_key
from featurestore.lookup.handler import LookupApp
from featurestore.settings import Settings
from tests.lookup.lookup_testkit import REPO_ROOT
from tests.lookup.test_openapi import handle

F = "user_transactions:txn_count_7d"
KEYS = json.dumps({"keys": [
    {"name": "fraud-model", "sha256": hash_key("s3cret-fraud"),
     "sensitivities": ["public", "internal"], "views": ["*"]},
    {"name": "growth-dash", "sha256": hash_key("s3cret-growth"),
     "sensitivities": ["public", "internal", "pii"], "views": ["user_profile"]},
]})
LAMBDA = {"AWS_LAMBDA_FUNCTION_NAME": "featurestore-lookup"}


def app_of(catalog, environ: dict, store=None) -> LookupApp:
    """The app as the handler builds it at a cold start, from these variables only
    (``store``: a DynamoDB Local table instead of AWS, for what reads it)."""
    return LookupApp.from_settings(Settings.from_env(environ=environ), catalog=catalog,
                                   serving_log=None, store=store)


def status(app, target: str, key: str | None = None) -> int:
    return handle(app, "GET", target, headers={"x-api-key": key} if key else {})["statusCode"]


# -- deployed: fail closed ---------------------------------------------------------------
def test_deployed_without_keys_refuses_every_feature_request(catalog, caplog, online_store):
    app = app_of(catalog, LAMBDA, online_store)
    assert "every feature request is refused with 401" in caplog.text
    answer = handle(app, "GET", f"/v1/features/user/1?features={F}")
    assert (answer["statusCode"], json.loads(answer["body"])) == (401, {
        "error": "unauthorized",
        "message": "missing API key: send it in the `x-api-key` header"})
    assert status(app, "/v1/feature-views") == 401
    assert status(app, f"/v1/features/user/1?features={F}", key="anything") == 401
    assert status(app, "/openapi.json") == 200 and status(app, "/healthz") == 200


def test_the_handler_outside_lambda_is_closed_too_without_keys(catalog):
    assert status(app_of(catalog, {}), f"/v1/features/user/1?features={F}") == 401


@pytest.mark.parametrize("value", ["true", "1", "on"])
def test_anonymous_access_is_turned_on_by_name(catalog, value, online_store):
    app = app_of(catalog, {**LAMBDA, "FEATURESTORE_ALLOW_ANONYMOUS": value}, online_store)
    assert status(app, f"/v1/features/user/1?features={F}") == 200
    assert status(app, "/v1/features/user/1?features=user_profile:email_domain") == 403


def test_with_keys_and_anonymous_on_a_missing_key_is_anonymous_a_wrong_one_is_not(
        catalog, online_store):
    app = app_of(catalog, {**LAMBDA, "FEATURESTORE_API_KEYS": KEYS,
                           "FEATURESTORE_ALLOW_ANONYMOUS": "true"}, online_store)
    assert status(app, f"/v1/features/user/1?features={F}") == 200
    assert status(app, f"/v1/features/user/1?features={F}", key="guess") == 401
    assert status(app, "/v1/features/user/1?features=user_profile:email_domain",
                  key="s3cret-growth") == 200
    app = app_of(catalog, {**LAMBDA, "FEATURESTORE_API_KEYS": KEYS})
    assert status(app, f"/v1/features/user/1?features={F}") == 401


def test_the_template_defaults_to_no_anonymous_access():
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, tag, node: None)
    template = yaml.load((REPO_ROOT / "deploy" / "template.yaml").read_text(), Loader=Loader)
    assert template["Parameters"]["AllowAnonymous"]["Default"] == "false"
    assert template["Parameters"]["ApiKeys"]["Default"] == ""
    variables = template["Resources"]["LookupFunction"]["Properties"]["Environment"][
        "Variables"]
    assert {"FEATURESTORE_API_KEYS", "FEATURESTORE_ALLOW_ANONYMOUS",
            "FEATURESTORE_SERVING_LOG_HMAC_KEY"} <= set(variables)
    assert template["Parameters"]["ServingLogHmacKey"]["NoEcho"] is True


# -- featurestore serve: anonymous on loopback only ----------------------------------------
@pytest.fixture
def project_dir(tmp_path):
    """A copy of the project's contracts: a keys file written here stays here."""
    shutil.copytree(REPO_ROOT / "feature_defs", tmp_path / "feature_defs")
    shutil.copy(REPO_ROOT / "dbt_project.yml", tmp_path)
    return tmp_path


def test_local_app_is_anonymous_on_loopback_without_keys_only(project_dir):
    from featurestore.lookup.local import local_app
    from featurestore.project import Project

    project = Project(project_dir)
    assert local_app(project, log_serving=False).access.anonymous is True
    assert local_app(project, log_serving=False, anonymous_without_keys=False).access.locked
    (project_dir / "api_keys.json").write_text(KEYS)
    access = local_app(project, log_serving=False).access
    assert (access.anonymous, sorted(g.name for g in access.grants.values())) == (
        False, ["fraud-model", "growth-dash"])


def test_serve_on_another_address_without_keys_refuses_to_start(project_dir):
    # a process of its own, with a time limit: a server that does start never returns
    done = subprocess.run(
        [str(Path(sys.executable).parent / "featurestore"), "--project-dir", str(project_dir),
         "serve", "--host", "0.0.0.0", "--port", "0"], capture_output=True, text=True,
        timeout=60, env={**os.environ, "FEATURESTORE_DYNAMODB_ENDPOINT": "http://127.0.0.1:9"})
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == (
        "Error: --host 0.0.0.0: other machines could call this server, and no API key is "
        "configured. Create one (`featurestore keys create --name NAME --grant "
        "public,internal`), or serve anonymously on purpose with --allow-anonymous.")


# -- featurestore keys create ------------------------------------------------------------
def create(project_dir, *args):
    return CliRunner().invoke(cli, ["--project-dir", str(project_dir), "keys", "create",
                                    *args], obj={})


def test_keys_create_prints_the_key_once_and_keeps_only_its_digest(project_dir, catalog,
                                                                   online_store):
    result = create(project_dir, "--name", "fraud-model", "--grant", "public,internal")
    assert result.exit_code == 0, result.output
    key = result.stdout.strip()
    assert len(key) >= 40 and "\n" not in key
    path = project_dir / "api_keys.json"
    assert result.stderr == (
        "created API key `fraud-model` (public, internal; views: all); its SHA-256 is in "
        f"{path}. The key is shown this once: store it now.\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert key not in text
    assert json.loads(text) == {"keys": [{"name": "fraud-model", "sha256": hash_key(key),
                                          "sensitivities": ["public", "internal"],
                                          "views": ["*"]}]}
    second = create(project_dir, "--name", "growth", "--grant", "pii,public",
                    "--view", "user_profile", "--view", "user_transactions")
    assert second.exit_code == 0, second.output
    policy = AccessPolicy.from_config(path.read_text(), str(path))
    assert policy.authenticate(key, "r", "/").name == "fraud-model"
    growth = policy.authenticate(second.stdout.strip(), "r", "/")
    assert (growth.name, growth.sensitivities, growth.views) == (
        "growth", {"public", "pii"}, {"user_profile", "user_transactions"})
    # what serve reads: the key works there
    app = LookupApp(catalog, online_store, access=AccessPolicy.from_settings(
        Settings.from_env(project_dir, environ={}).lookup, path))
    assert status(app, f"/v1/features/user/1?features={F}", key=key) == 200
    assert status(app, f"/v1/features/user/1?features={F}") == 401


@pytest.mark.parametrize(("args", "message"), [
    (["--name", "a", "--grant", "secret"],
     "Error: --grant: 'secret' is not a sensitivity; grant some of public, internal, pii "
     "(comma-separated)"),
    (["--name", "a", "--grant", "public", "--view", "user_profil"],
     "Error: --view: unknown feature view `user_profil` (did you mean `user_profile`?); known "
     "views: device_seen_before, merchant_risk, txn_context, user_profile, "
     "user_transactions"),
])
def test_keys_create_refuses_what_it_cannot_grant(project_dir, args, message):
    result = create(project_dir, *args)
    assert (result.exit_code, result.stderr.splitlines()[-1]) == (1, message)
    assert not (project_dir / "api_keys.json").exists()


def test_keys_create_never_replaces_a_key(project_dir):
    assert create(project_dir, "--name", "a", "--grant", "public").exit_code == 0
    before = (project_dir / "api_keys.json").read_text()
    again = create(project_dir, "--name", "a", "--grant", "pii")
    assert again.exit_code == 1
    assert "a key named `a` exists already" in again.stderr
    assert (project_dir / "api_keys.json").read_text() == before


def test_the_keys_file_is_ignored_by_git():
    ignored = (REPO_ROOT / ".gitignore").read_text().splitlines()
    assert "api_keys.json" in ignored


# -- GET /v1/feature-views lists what the key may read (item 10b) --------------------------
def catalog_seen(app, key: str | None) -> dict[str, list[str]]:
    answer = handle(app, "GET", "/v1/feature-views", headers={"x-api-key": key} if key else {})
    assert answer["statusCode"] == 200
    return {v["name"]: [f["name"] for f in v["features"]]
            for v in json.loads(answer["body"])["feature_views"]}


def test_the_catalog_lists_only_what_the_key_is_granted(catalog, online_store):
    locked = LookupApp(catalog, online_store, access=AccessPolicy.from_config(KEYS, "keys"))
    growth = catalog_seen(locked, "s3cret-growth")
    assert list(growth) == ["user_profile"]
    assert "email_domain" in growth["user_profile"]
    fraud = catalog_seen(locked, "s3cret-fraud")
    assert list(fraud) == ["device_seen_before", "merchant_risk", "user_profile",
                           "user_transactions"]
    assert "email_domain" not in fraud["user_profile"]
    assert fraud["user_profile"] == [f.name for f in catalog.views["user_profile"].features
                                     if f.sensitivity != "pii"]
    anonymous = catalog_seen(LookupApp(catalog, online_store), None)
    assert anonymous == fraud
    assert catalog_seen(locked, "s3cret-growth") == growth  # kept per key, same answer


def on_demand_seen(app, key: str | None) -> dict[str, list[str]]:
    answer = handle(app, "GET", "/v1/feature-views", headers={"x-api-key": key} if key else {})
    return {v["name"]: [f["name"] for f in v["features"]]
            for v in json.loads(answer["body"])["on_demand_views"]}


def test_the_catalog_lists_the_on_demand_features_the_key_may_read(catalog, online_store):
    """An on-demand feature is listed, with its view's request fields, when the key may
    read it and every stored feature its expression reads (what a lookup checks)."""
    keys = json.dumps({"keys": [
        {"name": "ctx", "sha256": hash_key("ctx"), "sensitivities": ["public", "internal"],
         "views": ["txn_context", "user_profile"]}]})
    locked = LookupApp(catalog, online_store, access=AccessPolicy.from_config(KEYS, "keys"))
    everything = ["amount_over_avg_30d", "amount_minus_avg_7d", "local_hour", "is_foreign"]
    assert on_demand_seen(locked, "s3cret-fraud") == {"txn_context": everything}
    assert on_demand_seen(LookupApp(catalog, online_store), None) == {
        "txn_context": everything}
    assert on_demand_seen(locked, "s3cret-growth") == {}  # txn_context is not granted
    narrow = LookupApp(catalog, online_store, access=AccessPolicy.from_config(keys, "k"))
    # user_transactions is not granted: only what reads the request and user_profile
    assert on_demand_seen(narrow, "ctx") == {"txn_context": ["local_hour", "is_foreign"]}
    body = json.loads(handle(narrow, "GET", "/v1/feature-views",
                             headers={"x-api-key": "ctx"})["body"])
    (view,) = body["on_demand_views"]
    assert view["kind"] == "on_demand" and view["entity"] == "user"
    assert view["request"][0] == {"name": "amount", "dtype": "float64", "nullable": False,
                                  "description": "The amount being paid."}
    assert view["inputs"][2] == {"name": "home_country", "feature": "user_profile:country",
                                 "dtype": "string"}
    assert view["features"][1]["sql"] == "merchant_country <> home_country"


def test_a_view_with_nothing_the_key_may_read_is_left_out(catalog, online_store):
    only_public = json.dumps({"keys": [{"name": "p", "sha256": hash_key("p"),
                                        "sensitivities": ["public"], "views": ["*"]}]})
    app = LookupApp(catalog, online_store, access=AccessPolicy.from_config(only_public, "k"))
    seen = catalog_seen(app, "p")
    public = {name: [f.name for f in view.features if f.sensitivity == "public"]
              for name, view in catalog.views.items()}
    assert seen == {name: names for name, names in sorted(public.items()) if names}
