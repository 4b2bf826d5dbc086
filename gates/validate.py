"""Run generated suites through Great Expectations on compact metrics frames.

One ephemeral GX context per gate run (nothing written under ``gx/``), analytics off,
and one filesystem Data Docs site under ``target/gates/data_docs`` so a failing CI job
leaves a page a human can open.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

from featurestore.gates.results import CheckResult
from featurestore.gates.suites import Check, build_suite

DOCS_SITE = "featurestore_gates"


def _frame(metrics: dict[str, object | list]):
    """Columns of unequal length padded with nulls (nulls are ignored by every check)."""
    import pandas as pd

    columns = {k: (v if isinstance(v, list) else [v]) for k, v in metrics.items()}
    length = max([len(v) for v in columns.values()] + [1])
    data = {}
    for name, values in columns.items():
        padded = list(values) + [None] * (length - len(values))
        if all(v is None or (isinstance(v, int | float) and not isinstance(v, bool))
               for v in padded):
            data[name] = pd.Series([math.nan if v is None else float(v) for v in padded],
                                   dtype="float64")
        else:
            data[name] = pd.Series(padded, dtype="object")
    return pd.DataFrame(data)


def _format(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "no values"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.6g}"
    return str(value)


def quiet_great_expectations() -> None:
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("great_expectations."):
            logging.getLogger(name).setLevel(logging.NOTSET)  # inherit WARNING


class Validator:
    """Holds the GX context of one run; ``validate`` one (suite, view) frame at a time."""

    def __init__(self, docs_dir: Path | None):
        from featurestore.gates.gx import great_expectations

        gx = great_expectations()

        self._gx = gx
        # GX narrates its own housekeeping at INFO (temporary docs folders and the like),
        # also while a context is made; our table already says what ran, so only its
        # warnings reach the user.
        quiet_great_expectations()
        self.context = gx.get_context(mode="ephemeral")
        quiet_great_expectations()
        self.context.variables.progress_bars = {"globally": False,
                                                "metric_calculations": False}
        self.docs_dir = docs_dir
        if docs_dir is not None:
            self.context.add_data_docs_site(site_name=DOCS_SITE, site_config={
                "class_name": "SiteBuilder",
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                                  "base_directory": str(docs_dir)},
            })
        self.source = self.context.data_sources.add_pandas("featurestore_metrics")
        self.ran = 0

    def validate(self, suite: str, view: str, checks: list[Check],
                 metrics: dict[str, object]) -> list[CheckResult]:
        """Validate ``metrics`` against ``checks``; a check without a metric is skipped."""
        checks = [c for c in checks if c.label in metrics]
        if not checks:
            return []
        name = f"{suite}.{view}"
        gx = self._gx
        batch = self.source.add_dataframe_asset(name=name).add_batch_definition_whole_dataframe(
            name)
        gx_suite = self.context.suites.add(build_suite(name, checks))
        definition = self.context.validation_definitions.add(
            gx.ValidationDefinition(name=name, data=batch, suite=gx_suite))
        checkpoint = self.context.checkpoints.add(gx.Checkpoint(
            name=name, validation_definitions=[definition], actions=[],
            result_format={"result_format": "COMPLETE"}))
        run = checkpoint.run(batch_parameters={"dataframe": _frame(metrics)})
        self.ran += 1
        by_label = {c.label: c for c in checks}
        results = []
        for validation in run.run_results.values():
            for item in validation.results:
                label = item.expectation_config.kwargs["column"]
                check = by_label[label]
                observed, number = self._observed(check, item.result, metrics[label])
                if item.exception_info and item.exception_info.get("raised_exception"):
                    observed = f"error: {item.exception_info.get('exception_message')}"
                results.append(CheckResult(suite, view, label, observed, check.threshold,
                                           bool(item.success), number))
        order = {c.label: i for i, c in enumerate(checks)}
        return sorted(results, key=lambda r: order[r.expectation])

    @staticmethod
    def _observed(check: Check, result: dict, metric: object) -> tuple[str, float | None]:
        if check.gx_type == "in_set":
            unexpected = result.get("unexpected_list") or []
            if unexpected:
                seen = list(dict.fromkeys(str(v) for v in unexpected))
                return ", ".join(seen[:10]), None
            values = metric if isinstance(metric, list) else [metric]
            shown = [str(v) for v in values if v is not None]
            return (", ".join(shown[:10]) if shown else "no values"), None
        value = result.get("observed_value")
        number = None if value is None else float(value)
        if number is not None and math.isnan(number):
            number = None
        return _format(number), number

    def build_docs(self) -> Path | None:
        """Write the Data Docs site; return its index.html (None when docs are off)."""
        if self.docs_dir is None or not self.ran:
            return None
        self.context.build_data_docs(site_names=[DOCS_SITE])
        return self.docs_dir / "index.html"
