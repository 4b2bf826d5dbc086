"""The built demo warehouse (dbt models over generated events) against its gates."""

from __future__ import annotations

import pytest

from tests.conftest import DEMO_END


@pytest.mark.slow
def test_clean_demo_data_passes_freshness_and_quality(demo_env):
    from click.testing import CliRunner

    from featurestore.apps.cli import cli

    result = CliRunner().invoke(cli, ["--project-dir", str(demo_env.root), "gate",
                                      "--suite", "freshness", "--suite", "quality",
                                      "--as-of", DEMO_END], obj={}, catch_exceptions=False)
    checks = [line.split() for line in result.output.splitlines()
              if line.startswith(("freshness ", "quality "))]
    assert {c[1] for c in checks} == {"user_transactions", "merchant_risk", "user_profile",
                                      "device_seen_before"}
    assert len(checks) == 81  # 74, and non_finite() of the 7 float64 features
    assert [c for c in checks if c[-1] != "pass"] == []
    # user_profile has no freshness_slo (a profile unchanged for months is current), so
    # it has quality checks but no freshness check
    assert [c[1] for c in checks if c[0] == "freshness" and c[1] == "user_profile"] == []
    assert result.exit_code == 0
