"""The soak's checker can fail: a row loaded twice, a poison file loaded, a lookup of the
version the soak moved away from, a degraded or 5xx answer are each reported. (A checker
that never fails proves nothing.)"""

from __future__ import annotations

import datetime as dt

import duckdb

from tests.soak.checker import Checker
from tests.soak.record import COLUMNS, CycleRecord, LandedFile, Lookup, SoakRecord

ROW = (1, 7, 3, "d-1", 12.5, "EUR", dt.datetime(2026, 12, 1, 10, 0))


def _warehouse(path, copies: int) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("create schema raw; create schema featurestore")
        for table, columns in COLUMNS.items():
            con.execute(f"create table raw.{table} ({', '.join(f'{n} {t}' for n, t in columns)}"
                        ", _featurestore_file varchar)")
        con.execute("create table featurestore.ingested_files (name varchar, file_id varchar)")
        con.execute("insert into featurestore.ingested_files values ('a.csv', 'f1'), "
                    "('bad.csv', 'f2')")
        for _ in range(copies):
            con.execute("insert into raw.transactions values (?, ?, ?, ?, ?, ?, ?, 'f1')", ROW)
        con.execute("insert into raw.transactions values (2, 7, 3, 'd', 1.0, 'EUR', "
                    "'2026-12-01 10:00', 'f2')")


def test_the_checker_reports_a_row_loaded_twice_and_a_poison_file_loaded(tmp_path):
    _warehouse(tmp_path / "w.duckdb", copies=2)
    record = SoakRecord(seed=1, settle_seconds=3)
    record.land(LandedFile("transactions", "a.csv", "good", [ROW], complete_at=0.0))
    record.land(LandedFile("transactions", "bad.csv", "poison", [], "amount",
                           complete_at=0.0))
    checker = Checker(record, tmp_path / "landing", tmp_path / "w.duckdb", "", "t")
    found: list[str] = []
    with duckdb.connect() as con:
        con.execute(f"attach '{tmp_path / 'w.duckdb'}' as w (read_only)")
        checker.raw_rows(con, CycleRecord(1, started=100.0), found)
    assert found[0].startswith("invariant 1: transactions/a.csv: raw holds 2 row(s) for 1 "
                               "landed; extra [")
    assert found[1] == "invariant 1: transactions/bad.csv (bad) has 1 row(s) in raw"
    assert found[2].startswith("invariant 1: bad file transactions/bad.csv is not in ")


def test_the_checker_reports_an_old_version_a_degraded_answer_and_a_5xx():
    record = SoakRecord(seed=1, settle_seconds=3)
    record.versions = {"user_profile": {1, 2}}
    record.served = {"user_profile": [(0.0, 0.0, 1), (100.0, 101.0, 2)]}
    checker = Checker(record, None, None, "", "t")

    def answer(at: float, version: int, degraded: bool = False, status: int = 200):
        body = {"versions": {"user_profile": version}, "degraded": degraded}
        return checker.lookup_problem(Lookup(at, at + 0.1, status, body, 7))

    assert answer(50.0, 1) is None
    assert answer(102.0, 1) is None  # within the refresh interval and the margin
    assert answer(105.0, 1) == "served user_profile v1; the soak had made v2 served"
    assert answer(105.0, 3) == "served user_profile v3, not one of [1, 2]"
    assert answer(105.0, 2, degraded=True).startswith("degraded while DynamoDB Local was up")
    record.store_down.append([104.0, 110.0])
    assert answer(105.0, 2, degraded=True) is None
    assert answer(120.0, 2, status=503).startswith("HTTP 503: ")


def _cycles(path, statuses: list[str], files: int) -> None:
    """loop_cycles with a row per status; the last one recorded ``files`` ingested."""
    with duckdb.connect(str(path)) as con:
        con.execute("create schema if not exists featurestore")
        con.execute("create or replace table featurestore.loop_cycles (started_at integer, "
                    "status varchar, files integer, quarantined varchar, refused varchar, "
                    "message varchar)")
        for n, status in enumerate(statuses):
            con.execute("insert into featurestore.loop_cycles values (?, ?, ?, '[]', '{}', '')",
                        [n, status, files if n == len(statuses) - 1 else 0])


def test_a_broken_model_fails_the_cycle_only_when_the_cycle_builds_it(tmp_path):
    """The 500-cycle bench's cycle 70: the model was broken, but its only transactions
    file was still settling, so nothing was built and the loop rightly said 0."""
    record = SoakRecord(seed=1, settle_seconds=3)
    checker = Checker(record, None, tmp_path / "w.duckdb", "", "t")
    landed = LandedFile("transactions", "a.csv", "good", [ROW], complete_at=0.0)

    def problems(returncode: int, loaded: list) -> list[str]:
        cycle = CycleRecord(len(record.cycles) + 1, started=100.0)
        cycle.model_broken, cycle.returncode = "fs_merchant__risk", returncode
        record.cycles.append(cycle)
        _cycles(tmp_path / "w.duckdb", ["failed" if returncode else "ok"] * len(record.cycles),
                len(loaded))
        found: list[str] = []
        with duckdb.connect() as con:
            con.execute(f"attach '{tmp_path / 'w.duckdb'}' as w (read_only)")
            checker.cycle_row(con, cycle, set(), loaded, [], found)
        return found

    assert problems(0, []) == []  # nothing landed to build: nothing failed
    assert problems(0, [landed])[0].startswith("invariant 5: exit code 0, expected 1; ")
    assert problems(1, []) == []  # the failed cycle's file is built again
