"""Every mistake a user can make through the SDK is a FeatureStoreError naming the problem
and the fix: no pandas, pyarrow or DuckDB exception reaches the caller.

One small project (one view, `history`, on DuckDB) serves every case; each case is a
spine, or an argument, and the exact message it must give.
"""

from __future__ import annotations

import datetime as dt
import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from featurestore.apps.sdk import FeatureStore
from featurestore.errors import FeatureStoreError, RequestError, SpineError
from tests.offline.one_view import one_view_project

T = pd.Timestamp("2026-01-02")
NO_TYPE = (" The column holds no values to tell its type from (an empty or all-null "
           "column): give it one, e.g. pandas `astype('datetime64[us]')`.")


@pytest.fixture
def fs(tmp_path, monkeypatch) -> FeatureStore:
    return FeatureStore(one_view_project(
        tmp_path, monkeypatch, "sdk_errors", "select i % 5 + 1 as user_id, timestamp "
        "'2026-01-01' + to_minutes(i) as feature_ts, i as f1 from range(20) r(i)"))


def _mixed() -> pd.DataFrame:
    return pd.DataFrame({"user_id": ["a", 1], "event_ts": [T, T]})


SPINES = {
    "no columns": (
        pd.DataFrame,
        "<pandas.DataFrame>: has no columns; a spine needs the views' key columns and the "
        "event time column (event_ts)"),
    "no columns (arrow)": (
        lambda: pa.table({}),
        "<pyarrow.Table>: has no columns; a spine needs the views' key columns and the "
        "event time column (event_ts)"),
    "a name twice": (
        lambda: pd.DataFrame([[1, T, 2]], columns=["user_id", "event_ts", "user_id"]),
        "<pandas.DataFrame>: column `user_id` appears twice; rename or drop one of them"),
    "a name twice (arrow)": (
        lambda: pa.table([pa.array([1]), pa.array([T]), pa.array([1])],
                         names=["user_id", "event_ts", "user_id"]),
        "<pyarrow.Table>: column `user_id` appears twice; rename or drop one of them"),
    "names differing in case": (
        lambda: pd.DataFrame([[1, T, 2]], columns=["user_id", "event_ts", "USER_ID"]),
        "<pandas.DataFrame>: columns `user_id` and `USER_ID` differ only in case, which the "
        "warehouse does not tell apart; rename or drop one of them"),
    "an empty name": (
        lambda: pa.table({"user_id": [1], "event_ts": pa.array([T]), "": [3]}),
        "<pyarrow.Table>: column 3 has an empty name; name every column"),
    "a name of the join's own": (
        lambda: pd.DataFrame({"user_id": [1], "event_ts": [T], "_fs_spine": [0]}),
        "<pandas.DataFrame>: column `_fs_spine` starts with `_fs_`, which the training "
        "set's SQL keeps for its own columns; rename it"),
    "mixed types in a column": (
        _mixed,
        "<pandas.DataFrame>: column `user_id` holds values of more than one type, or Python "
        "objects Arrow cannot store (Expected bytes, got a 'int' object). Give the column "
        "one type: numbers, text or timestamps."),
    "an empty frame without dtypes": (
        lambda: pd.DataFrame(columns=["user_id", "event_ts"]),
        '<pandas.DataFrame>: column `event_ts` has type "NULL", not a timestamp. Store it as '
        "a timestamp (Parquet, a DataFrame) or as ISO-8601 text like 2026-05-01 12:00:00 in "
        "every row (CSV)." + NO_TYPE),
    "an all-null key": (
        lambda: pa.table({"user_id": pa.array([None]), "event_ts": pa.array([T])}),
        '<pyarrow.Table>: column `user_id` has type "NULL" but entity `user` has int64 keys. '
        "Store it as an integer (BIGINT) in the spine." + NO_TYPE),
    "a missing key": (
        lambda: pd.DataFrame({"event_ts": [T]}),
        "<pandas.DataFrame>: column `user_id` is missing; view `history` joins on entity "
        "`user` by user_id. Add `user_id` (int64) to the spine."),
    "a key of the wrong type": (
        lambda: pd.DataFrame({"user_id": [1.5], "event_ts": [T]}),
        "<pandas.DataFrame>: column `user_id` has type DOUBLE but entity `user` has int64 "
        "keys. Store it as an integer (BIGINT) in the spine."),
    "not a frame": (
        lambda: {"user_id": [1], "event_ts": [T]},
        "<dict>: a spine is a path (.parquet or .csv), a pandas or polars DataFrame, or a "
        "pyarrow Table"),
}


@pytest.mark.parametrize("case", sorted(SPINES))
def test_a_bad_spine_is_a_spine_error_naming_the_problem_and_the_fix(fs, case):
    make, message = SPINES[case]
    with pytest.raises(SpineError) as caught:
        fs.training_set(make(), "history")
    assert str(caught.value) == message


def test_an_event_time_column_not_in_the_spine_names_the_spine_columns(fs):
    spine = pd.DataFrame({"user_id": [1], "when": [T], "line\nbreak": [0]})
    with pytest.raises(SpineError) as caught:
        fs.training_set(spine, "history", event_ts="event-ts")
    assert str(caught.value) == (
        "<pandas.DataFrame>: column `event-ts` is missing: the spine needs the time each "
        "row is scored at. Name your time column `event-ts`, or pass its name as the event "
        "time column (--event-ts, or event_ts= in the SDK). The spine's columns: "
        "`user_id`, `when`, 'line\\nbreak'.")


def test_a_file_the_warehouse_cannot_read_is_named_with_the_reason(fs, tmp_path):
    path = tmp_path / "spine.parquet"
    path.write_bytes(b"PAR1 not a parquet file")
    with pytest.raises(SpineError) as caught:
        fs.training_set(path, "history")
    assert str(caught.value) == (
        f"{path}: cannot be read as parquet (Invalid Input Error: No magic bytes found at "
        f"end of file '{path}'); write the spine again, or give another file")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_an_unreadable_file_says_so(fs, tmp_path):
    path = tmp_path / "spine.parquet"
    pd.DataFrame({"user_id": [1], "event_ts": [T]}).to_parquet(path)
    path.chmod(0)
    with pytest.raises(SpineError) as caught:
        fs.training_set(path, "history")
    assert str(caught.value) == (
        f"{path}: cannot be read (Permission denied); check the file's permissions, or copy "
        "it somewhere this process can read")


def test_an_empty_spine_with_types_is_an_empty_training_set(fs):
    spine = pd.DataFrame({"user_id": pd.Series([], dtype="int64"),
                          "event_ts": pd.Series([], dtype="datetime64[us]")})
    table = fs.training_set(spine, "history")
    assert table.num_rows == 0
    assert table.column_names == ["user_id", "event_ts", "history__f1", "history__feature_ts"]


@pytest.mark.parametrize(("call", "message"), [
    (lambda fs, tmp: FeatureStore(5),
     "project_dir must be the path of a featurestore project (a str or pathlib.Path), got "
     "int 5"),
    (lambda fs, tmp: fs.training_set(pd.DataFrame({"user_id": [1], "event_ts": [T]}),
                                     "history", out=5),
     "out must be the path of the Parquet file to write (a str or pathlib.Path), got int 5"),
    (lambda fs, tmp: fs.training_set(pd.DataFrame({"user_id": [1], "event_ts": [T]}),
                                     "history", out=tmp),
     "--out {tmp} is a folder; name the Parquet file to write, e.g. "
     "{tmp}/training.parquet"),
    (lambda fs, tmp: fs.training_set(pd.DataFrame({"user_id": [1], "event_ts": [T]}),
                                     "history", event_ts=None),
     "event_ts must name the spine's event time column, got None"),
])
def test_a_bad_argument_is_a_request_error(fs, tmp_path, call, message):
    with pytest.raises(RequestError) as caught:
        call(fs, tmp_path)
    assert str(caught.value) == message.format(tmp=tmp_path)


def test_no_library_exception_leaks_from_any_bad_spine(fs):
    """The cases above, as a user meets them: every one is a FeatureStoreError."""
    for make, _message in SPINES.values():
        with pytest.raises(FeatureStoreError):
            fs.training_set(make(), "history")


def test_keys_taken_from_a_dataframe_are_looked_up(fs, dynamodb_local, dynamodb_table,
                                                    monkeypatch):
    """numpy integers (a DataFrame's values), an array or a Series of them, are keys."""
    _client, table = dynamodb_table
    monkeypatch.setenv("FEATURESTORE_DYNAMODB_ENDPOINT", dynamodb_local)
    monkeypatch.setenv("FEATURESTORE_ONLINE_TABLE", table)
    fs = FeatureStore(fs.project.root)
    frame = pd.DataFrame({"user_id": [3, 4]})
    now = dt.datetime(2026, 1, 2)
    for keys, expected in [(frame["user_id"].iloc[0], [3]), (frame["user_id"], [3, 4]),
                           (frame["user_id"].to_numpy(), [3, 4]),
                           ({"user_id": np.int64(4)}, [4])]:
        answer = fs.online("user", keys, "history", at=now)
        assert [r["key"] for r in answer["results"]] == [{"user_id": k} for k in expected]
