"""The built demo warehouse (dbt models over generated events) against its gates."""

from __future__ import annotations

import pytest

from tests.conftest import DEMO_END


@pytest.mark.slow
def test_clean_demo_data_passes_freshness_and_quality(demo_env):
    from click.testing import CliRunner

    from featurestore.cli import cli

    result = CliRunner().invoke(cli, ["--project-dir", str(demo_env.root), "gate",
                                      "--suite", "freshness", "--suite", "quality",
                                      "--as-of", DEMO_END], obj={}, catch_exceptions=False)
    checks = [line.split() for line in result.output.splitlines()
              if line.startswith(("freshness ", "quality "))]
    assert {c[1] for c in checks} == {"user_transactions", "merchant_risk", "user_profile",
                                      "device_seen_before"}
    assert len(checks) == 75
    assert [c for c in checks if c[-1] != "pass"] == []
    # the slowest view is the profile one: its newest change is 24 h 13 min old at the
    # demo's end, inside its 3 d freshness_slo
    profile = next(c for c in checks if c[:3] == ["freshness", "user_profile",
                                                   "freshness_lag_seconds"])
    assert profile[3:6] == ["87190", "<=", "259200"]
    assert result.exit_code == 0
