"""One feature of a contract: its name, dtype, sensitivity, default and thresholds.

Shared by a view's `features:` and by a version's `add:` and `replace:`, which list
features in the same form.
"""

from __future__ import annotations

import datetime as dt

from featurestore.contracts.model import Feature
from featurestore.contracts.reader import FieldReader
from featurestore.contracts.rules import (
    DEFAULT_MAX_NULL_RATE_DIFF,
    DEFAULT_MAX_PSI,
    DEFAULT_SKEW_MIN_SAMPLE,
    FEATURE_FIELDS,
    IDENTIFIER,
    SENSITIVITIES,
    SKEW_FIELDS,
    suggest,
)
from featurestore.dtypes import DTYPES, check_value
from featurestore.errors import ContractError


def _parse_default(reader: FieldReader, dtype: str, prefix: str) -> object:
    value = reader.get("default")
    if dtype == "timestamp" and isinstance(value, str | dt.date):
        try:
            value = (value if isinstance(value, dt.datetime)
                     else dt.datetime.fromisoformat(str(value)))
        except ValueError:
            raise ContractError(reader.path, f"default {value!r} is not an ISO timestamp",
                                line=reader.line("default"), field=f"{prefix}default") from None
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
    if dtype == "float64" and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    problem = check_value(dtype, value)
    if problem:
        raise ContractError(reader.path, f"default {problem}; give a {dtype} or leave it out",
                            line=reader.line("default"), field=f"{prefix}default")
    if isinstance(value, str):
        reader.clean(value, "default", prefix)
    return value


def load_feature(display: str, raw: object, line: int | None, index: int,
                  base: str = "features") -> Feature:
    reader = FieldReader(display, raw, "a feature", line=line)
    name = raw.get("name") if isinstance(raw, dict) else None
    named = isinstance(name, str) and IDENTIFIER.fullmatch(name)
    prefix = f"{base}.{name}." if named else f"{base}[{index}]."
    reader.check_fields(FEATURE_FIELDS, prefix=prefix)
    name = reader.identifier("name", prefix=prefix)
    dtype = reader.get("dtype")
    if dtype not in DTYPES:
        raise ContractError(display, f"unknown dtype {dtype!r}{suggest(dtype, DTYPES)}; "
                            f"use one of {', '.join(DTYPES)}", line=reader.line("dtype"),
                            field=f"{prefix}dtype")
    sensitivity = reader.get("sensitivity")
    if sensitivity not in SENSITIVITIES:
        raise ContractError(display, f"sensitivity {sensitivity!r} is not one of "
                            f"{', '.join(SENSITIVITIES)}", line=reader.line("sensitivity"),
                            field=f"{prefix}sensitivity")
    low = reader.number("min", prefix)
    high = reader.number("max", prefix)
    if (low is not None or high is not None) and dtype not in ("int64", "float64"):
        raise ContractError(display, f"min/max apply to numeric features, not {dtype}",
                            line=reader.line("min" if low is not None else "max"),
                            field=f"{prefix}{'min' if low is not None else 'max'}")
    if low is not None and high is not None and low > high:
        raise ContractError(display, f"min {low} is greater than max {high}",
                            line=reader.line("min"), field=f"{prefix}min")
    allowed = reader.get("allowed_values")
    if allowed is not None:
        if not isinstance(allowed, list) or not allowed:
            raise ContractError(display, "expected a non-empty list of values",
                                line=reader.line("allowed_values"),
                                field=f"{prefix}allowed_values")
        for value in allowed:
            problem = check_value(dtype, value)
            if value is None:
                problem = "null is not a value: nulls are checked by `max_null_rate`; remove it"
            if problem:
                raise ContractError(display, f"allowed value {problem}",
                                    line=reader.line("allowed_values"),
                                    field=f"{prefix}allowed_values")
            if isinstance(value, str):
                reader.clean(value, "allowed_values", prefix)
        allowed = tuple(allowed)
    skew = reader.get("skew") or {}
    skew_reader = FieldReader(display, skew, "a skew threshold", line=reader.line("skew"))
    skew_reader.check_fields(SKEW_FIELDS, prefix=f"{prefix}skew.")
    max_psi = skew_reader.number("max_psi", f"{prefix}skew.", 0, None)
    max_diff = skew_reader.number("max_null_rate_diff", f"{prefix}skew.", 0, 1)
    min_sample = skew_reader.number("min_sample", f"{prefix}skew.", 1, 10**9)
    if min_sample is not None and not min_sample.is_integer():
        raise ContractError(display, f"expected a whole number of values, got {min_sample:g}",
                            line=skew_reader.line("min_sample"),
                            field=f"{prefix}skew.min_sample")
    return Feature(
        name=name,
        dtype=dtype,
        sensitivity=sensitivity,
        description=reader.text("description", prefix, multiline=True),
        default=_parse_default(reader, dtype, prefix),
        max_null_rate=reader.number("max_null_rate", prefix, 0, 1),
        min=low,
        max=high,
        allowed_values=allowed,
        max_psi=DEFAULT_MAX_PSI if max_psi is None else max_psi,
        max_null_rate_diff=DEFAULT_MAX_NULL_RATE_DIFF if max_diff is None else max_diff,
        skew_min_sample=DEFAULT_SKEW_MIN_SAMPLE if min_sample is None else int(min_sample),
    )
