"""Great Expectations suites generated from the contracts, never copied by hand.

Each check is an expectation on one column of a *compact metrics frame*: the warehouse
computes the aggregates (null counts, min/max, duplicate keys, newest ``feature_ts``,
distinct values) in SQL, and Great Expectations validates that frame on pandas. Why:
GX 1.x has no DuckDB SQL dialect (every metric fails unless it is registered by hand),
a pandas scan of millions of rows in chunks cannot check key uniqueness across chunks,
and the same aggregate SQL runs unchanged on Snowflake. The frame's column names are the
expectation labels a user reads in the gate table and in Data Docs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from featurestore.contracts import FeatureView
from featurestore.dtypes import DTYPES

SUITES = ("freshness", "quality", "parity", "skew")


@dataclass(frozen=True)
class Check:
    """One expectation: a GX expectation on the metrics-frame column ``label``."""

    suite: str
    label: str
    gx_type: str  # "max" | "min" | "in_set"
    bound: object
    threshold: str
    meta: dict = field(default_factory=dict, compare=False, hash=False)

    def expectation(self):
        from featurestore.gates.gx import great_expectations

        gx = great_expectations()

        meta = {"featurestore_label": self.label, "threshold": self.threshold, **self.meta}
        if self.gx_type == "max":
            return gx.expectations.ExpectColumnMaxToBeBetween(
                column=self.label, max_value=self.bound, meta=meta)
        if self.gx_type == "min":
            return gx.expectations.ExpectColumnMinToBeBetween(
                column=self.label, min_value=self.bound, meta=meta)
        return gx.expectations.ExpectColumnValuesToBeInSet(
            column=self.label, value_set=list(self.bound), meta=meta)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def freshness_checks(view: FeatureView) -> list[Check]:
    """Newest ``feature_ts`` within the view's freshness SLO (none without an SLO)."""
    if not view.freshness_slo_seconds:
        return []
    return [Check("freshness", "freshness_lag_seconds", "max", view.freshness_slo_seconds,
                  f"<= {view.freshness_slo_seconds} s (freshness_slo)")]


def key_columns(view: FeatureView) -> list[str]:
    return [*view.keys, view.timestamp]


def column_dtypes(view: FeatureView) -> dict[str, str]:
    """Every column the contract promises, with its dtype."""
    dtypes = {k.name: k.dtype for k in view.entity.join_keys}
    dtypes[view.timestamp] = "timestamp"
    if view.created_timestamp:
        dtypes[view.created_timestamp] = "timestamp"
    dtypes.update({f.name: f.dtype for f in view.features})
    return dtypes


def quality_checks(view: FeatureView) -> list[Check]:
    """Rows present, unique keys, dtypes, completeness, finite floats, ranges and allowed
    values."""
    checks = [
        Check("quality", "row_count", "min", 1, ">= 1"),
        Check("quality", f"duplicates({', '.join(key_columns(view))})", "max", 0, "<= 0"),
    ]
    for column, dtype in column_dtypes(view).items():
        accepted = sorted(DTYPES[dtype].accepts)
        checks.append(Check("quality", f"dtype({column})", "in_set", accepted,
                            f"a {dtype} column type"))
    for column in key_columns(view):
        checks.append(Check("quality", f"null_rate({column})", "max", 0.0, "<= 0"))
    for feature in view.features:
        if feature.max_null_rate is not None:
            checks.append(Check("quality", f"null_rate({feature.name})", "max",
                                feature.max_null_rate,
                                f"<= {_number(feature.max_null_rate)} (max_null_rate)"))
        if feature.dtype == "float64":
            checks.append(Check("quality", f"non_finite({feature.name})", "max", 0,
                                "<= 0 (NaN or infinity)"))
        if feature.min is not None:
            checks.append(Check("quality", f"min({feature.name})", "min", feature.min,
                                f">= {_number(feature.min)} (min)"))
        if feature.max is not None:
            checks.append(Check("quality", f"max({feature.name})", "max", feature.max,
                                f"<= {_number(feature.max)} (max)"))
        if feature.allowed_values:
            values = list(feature.allowed_values)
            checks.append(Check("quality", f"values({feature.name})", "in_set", values,
                                "in " + ", ".join(str(v) for v in values)))
    return checks


def parity_checks(view: FeatureView) -> list[Check]:
    return [
        Check("parity", "missing_items", "max", 0, "<= 0"),
        Check("parity", "mismatched_values", "max", 0, "<= 0"),
    ]


def skew_checks(view: FeatureView) -> list[Check]:
    checks = []
    for feature in view.features:
        checks.append(Check("skew", f"psi({feature.name})", "max", feature.max_psi,
                            f"<= {_number(feature.max_psi)} (max_psi)"))
        checks.append(Check("skew", f"null_rate_diff({feature.name})", "max",
                            feature.max_null_rate_diff,
                            f"<= {_number(feature.max_null_rate_diff)} (max_null_rate_diff)"))
    return checks


def build_suite(name: str, checks: list[Check]):
    """A GX ExpectationSuite holding ``checks`` (for a context to register)."""
    from featurestore.gates.gx import great_expectations

    gx = great_expectations()

    suite = gx.ExpectationSuite(name=name)
    for check in checks:
        suite.add_expectation(check.expectation())
    return suite
