"""The skew gate and the live compare read the serving log as the catalog does
(featurestore/serving_log_reader.py): nested folders included, and a line that is not a
serving-log line skipped, counted and named, never the end of the read."""

from __future__ import annotations

import datetime as dt
import json
import logging

from featurestore.gates.skew import serving_records
from tests.gates.conftest import AS_OF
from tests.gates.test_parity_skew import _serving_log, _training_set


def test_the_skew_gate_skips_bad_lines_and_reads_nested_folders(gate_project, tmp_path):
    training = tmp_path / "train.parquet"
    _training_set(training, [i % 4 for i in range(4000)])
    _serving_log(tmp_path / "log" / "2026" / "05", [i % 4 for i in range(1200)])
    nested = tmp_path / "log" / "2026" / "05" / "2026-05-01.jsonl"
    with nested.open("a") as out:
        out.write("{torn line\n")
        out.write(json.dumps({"ts": "yesterday", "features": {}}) + "\n")
    result = gate_project.gate("--suite", "skew", "--view", "user_profile", "--training-set",
                               str(training), "--serving-log", str(tmp_path / "log"),
                               "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split()[-1] for line in lines if line.startswith("skew ")] == ["pass"] * 4
    assert any(line.strip().startswith("skew: 1200 serving log lines from") for line in lines)
    assert (f"serving log: 2 line(s) are not serving-log lines (JSON with an ISO-8601 `ts` "
            f"and `features`) and were skipped: {nested}:1202, {nested}:1203."
            in [line.strip() for line in lines])


def test_the_live_compare_skips_bad_lines_with_a_warning(tmp_path, caplog):
    log = tmp_path / "log"
    log.mkdir()
    good = {"ts": "2026-05-01T10:00:00Z", "features": {}, "shadow": {}}
    (log / "serving-20260501.jsonl").write_text(
        '{"shadow": torn\n' + json.dumps(good) + "\n")
    with caplog.at_level(logging.WARNING, logger="featurestore.gates"):
        records = list(serving_records(log, dt.datetime(2026, 5, 1), dt.datetime(2026, 5, 2),
                                       containing='"shadow"'))
    assert records == [good]
    assert caplog.messages == [
        "serving log: 1 line(s) are not serving-log lines (JSON with an ISO-8601 `ts` and "
        f"`features`) and were skipped: {log / 'serving-20260501.jsonl'}:1."]
