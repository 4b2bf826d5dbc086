"""The CLI shell: every command has help with an example; errors are one clean line."""

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from featurestore.apps.cli import COMMANDS, cli
from tests.conftest import REPO_ROOT


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_help_with_an_example(name):
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output, f"`featurestore {name} --help` shows no example"


def test_help_is_fast_and_imports_no_heavy_library():
    code = ("import sys; from featurestore.apps.cli import cli; "
            "sys.argv=['featurestore','--help']\n"
            "try: cli()\nexcept SystemExit: pass\n"
            "heavy=[m for m in ('dbt', 'boto3', 'great_expectations', 'pandas', 'botocore') "
            "if m in sys.modules]\nprint('HEAVY', heavy)")
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout
    assert output.strip().endswith("HEAVY []")
    for name in COMMANDS:
        assert name in output


def test_project_errors_are_one_line(tmp_path):
    result = CliRunner().invoke(cli, ["--project-dir", str(tmp_path), "list"])
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {tmp_path}: no dbt_project.yml here; a featurestore project is a dbt "
        "project\n")
    (tmp_path / "dbt_project.yml").write_text("name: x\n")
    result = CliRunner().invoke(cli, ["--project-dir", str(tmp_path), "list"])
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {tmp_path}: no feature_defs/ folder beside dbt_project.yml; create it with "
        "an entities.yml (see the README's tutorial)\n")


def test_the_project_is_found_upward_from_the_working_directory(project, monkeypatch):
    deeper = project.root / "models" / "features"
    monkeypatch.chdir(deeper)
    monkeypatch.delenv("FEATURESTORE_PROJECT_DIR", raising=False)
    result = CliRunner().invoke(cli, ["list", "--json"])
    assert result.exit_code == 0, result.output
    assert [v["name"] for v in json.loads(result.output)["views"]] == [
        "device_seen_before", "merchant_risk", "user_profile", "user_transactions"]
    monkeypatch.setenv("FEATURESTORE_PROJECT_DIR", str(project.root))
    monkeypatch.chdir("/")
    assert CliRunner().invoke(cli, ["list"]).exit_code == 0


def test_list_shows_every_view(project):
    result = CliRunner().invoke(cli, ["--project-dir", str(project.root), "list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["VIEW", "VER", "ENTITY", "KEYS", "FEATURES", "TTL", "SLO",
                                "ONLINE", "OWNER"]
    assert lines[1].split() == ["device_seen_before", "1", "user_device", "user_id,device_id",
                                "2", "365d", "1d", "yes", "risk-ml"]
    assert len(lines) == 5


def test_new_scaffolds_a_contract_and_model_that_validate(project):
    runner = CliRunner()
    result = runner.invoke(cli, ["--project-dir", str(project.root), "new", "user_refunds",
                                 "--entity", "user", "--owner", "payments"])
    assert result.exit_code == 0, result.output
    assert "created feature_defs/user_refunds.yml" in result.output
    assert "created models/features/user/fs_user__user_refunds.sql" in result.output
    view = project.catalog().views["user_refunds"]
    assert (view.source, view.keys, view.owner) == ("fs_user__user_refunds", ["user_id"],
                                                     "payments")
    model = (project.root / "models/features/user/fs_user__user_refunds.sql").read_text()
    assert "cast(null as bigint) as user_id" in model
    # generated files were refreshed, so validate only lacks the other views' models
    validate = runner.invoke(cli, ["--project-dir", str(project.root), "validate"])
    assert "out of date" not in validate.output
    assert "fs_user__user_refunds" not in validate.output
    again = runner.invoke(cli, ["--project-dir", str(project.root), "new", "user_refunds",
                                "--entity", "user"])
    assert again.exit_code == 1
    assert "feature_defs/user_refunds.yml already exists" in again.output


def test_new_refuses_an_unknown_entity(project):
    result = CliRunner().invoke(cli, ["--project-dir", str(project.root), "new", "x",
                                      "--entity", "shop"])
    assert result.exit_code == 1
    assert result.output == ("Error: feature_defs/entities.yml: no entity `shop`; declared: "
                             "user, merchant, user_device. Add it there first.\n")


def test_validate_reports_stale_generated_files_and_missing_models(project):
    (project.feature_defs / "merchant_risk.yml").write_text(
        (project.feature_defs / "merchant_risk.yml").read_text().replace(
            "owner: risk-ml", "owner: merchants"))
    result = CliRunner().invoke(cli, ["--project-dir", str(project.root), "validate"])
    assert result.exit_code == 2
    assert ("models/features/_featurestore__contracts.yml: out of date with feature_defs/. "
            "Run `featurestore generate`") in result.output
    assert ("feature_defs/merchant_risk.yml:4, field `source`: no dbt model `fs_merchant__risk`"
            " under models/") in result.output


def test_console_script_keeps_messages_and_exit_codes(tmp_path):
    """main() leaves without interpreter teardown: nothing printed may be lost."""
    script = [sys.executable, "-c", "from featurestore.apps.cli import main; main()"]
    missing = subprocess.run([*script, "--project-dir", str(tmp_path), "list"],
                             capture_output=True, text=True)
    assert missing.returncode == 1
    assert missing.stderr.startswith(f"Error: {tmp_path}: no dbt_project.yml here")
    listed = subprocess.run([*script, "list"], capture_output=True, text=True,
                            cwd=REPO_ROOT)
    assert listed.returncode == 0
    assert listed.stdout.splitlines()[0].split()[0] == "VIEW"
    assert len(listed.stdout.splitlines()) == 5
    usage = subprocess.run([*script, "list", "--bogus"], capture_output=True, text=True,
                           cwd=REPO_ROOT)
    assert usage.returncode == 1
    assert usage.stderr.endswith("Error: No such option '--bogus'.\n")
