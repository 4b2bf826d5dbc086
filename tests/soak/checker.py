"""The soak's invariant checker: after every cycle, the five promises of issue 17, judged
against the soak's own record (record.py) with its own reads. It shares no code with
featurestore (tests/soak/test_soak_checker_is_independent.py holds it to that): DuckDB SQL
over the warehouse file (opened read-only between cycles), its own boto3 Scan of the
DynamoDB table with the items decoded here, the lookups' HTTP answers as urllib got them.

1. every well-formed landed row is in raw exactly once, and every bad file is quarantined
   beside a reason that names it and the column;
2. each view equals the soak's own full-refresh SQL of it over raw (oracle_sql.py);
3. DynamoDB holds the latest rows of each view's last state that passes the contract's
   checks (judged here), never a refused state's;
4. no lookup answered a 5xx, an unknown or retired version, or the version the soak had
   moved away from; none degraded unless DynamoDB Local was down;
5. each cycle's exit code and its row of featurestore.loop_cycles match what happened.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from urllib.parse import quote

import duckdb

from tests.soak import oracle_sql
from tests.soak.record import COLUMNS, CycleRecord, LandedFile, SoakRecord

VERSION_REFRESH = 1.0  # seconds: FEATURESTORE_LOOKUP_VERSION_REFRESH_MS, the default
VERSION_MARGIN = 2.0  # how long after that the soak still tolerates the previous version
KYC_RANGE = (0, 3)  # the user_profile contract's min and max of kyc_level


class Checker:
    def __init__(self, record: SoakRecord, landing: Path, duckdb_path: Path, endpoint: str,
                 table: str):
        self.record, self.landing, self.duckdb_path = record, landing, duckdb_path
        self.endpoint, self.table = endpoint, table
        self.published: dict[str, dict] = {}  # view -> items of its last passing state
        self.lookups_seen = 0
        # transactions files a build may not have taken yet (a failed, killed or
        # store-down cycle's): the loop builds them again, broken model or not
        self.unbuilt_transactions = False

    # -- the entry point ------------------------------------------------------------------
    def after_cycle(self, cycle: CycleRecord) -> list[str]:
        found: list[str] = []
        with duckdb.connect() as con:
            con.execute(f"attach '{self.duckdb_path}' as w (read_only)")
            loaded, quarantined = self.raw_rows(con, cycle, found)
            ran_build = not cycle.killed
            views = self.views(con, cycle, found) if ran_build else {}
            refused = self.refused(con)
            if not cycle.killed and not cycle.store_down:
                self.items(views, refused, found)
            self.cycle_row(con, cycle, refused, loaded, quarantined, found)
        self.lookups(found)
        label = f"cycle {cycle.number} ({', '.join(cycle.faults) or 'no fault'})"
        found = [f"{label}: {problem}" for problem in found]
        self.record.violations.extend(found)
        return found

    def final(self) -> list[str]:
        """The lookups made after the last cycle's check."""
        found: list[str] = []
        self.lookups(found)
        found = [f"after the last cycle: {problem}" for problem in found]
        self.record.violations.extend(found)
        return found

    # -- 1. raw -----------------------------------------------------------------------------
    def due(self, landed: LandedFile, cycle: CycleRecord) -> str:
        """'yes', 'no' or 'maybe': whether ingest must have taken the file by the end of
        ``cycle`` (a file written last within the settle time before the cycle started
        may or may not be taken; one still growing must not be)."""
        if landed.complete_at is None:
            return "no"
        if landed.kind == "history" or cycle.started - landed.complete_at \
                >= self.record.settle_seconds + 2.0:
            return "yes"
        return "maybe"

    def raw_rows(self, con, cycle: CycleRecord, found: list[str]):
        loaded, quarantined = [], []
        for table, columns in COLUMNS.items():
            actual: dict[str, dict[tuple, int]] = {}
            rows = con.execute(
                f"select l.name, {', '.join('r.' + n for n, _ in columns)}, count(*) "
                f"from w.raw.{table} as r left join w.featurestore.ingested_files as l "
                f"on l.file_id = r._featurestore_file group by all").fetchall()
            for name, *values, count in rows:
                actual.setdefault(name, {})[tuple(values)] = count
            for landed in [f for f in self.record.files if f.table == table]:
                got = actual.pop(landed.name, {})
                state = self.due(landed, cycle)
                if landed.well_formed and not landed.unloaded:
                    want = _multiset(landed.rows)
                    if got == want:
                        if landed.loaded_in is None:
                            landed.loaded_in = cycle.number
                            loaded.append(landed)
                    elif got or state == "yes":
                        found.append(f"invariant 1: {table}/{landed.name}: raw holds "
                                     f"{_describe(got, want)} ({state})")
                elif got:
                    found.append(f"invariant 1: {table}/{landed.name} "
                                 f"({'unloaded' if landed.unloaded else 'bad'}) has "
                                 f"{sum(got.values())} row(s) in raw")
                if not landed.well_formed:
                    seen = self.quarantine(table, landed, state, found)
                    if seen and landed.quarantined_in is None:
                        landed.quarantined_in = cycle.number
                        quarantined.append(landed)
            for name, got in actual.items():
                found.append(f"invariant 1: raw.{table} holds {sum(got.values())} row(s) of "
                             f"{name!r}, a file the soak never landed whole")
        return loaded, quarantined

    def quarantine(self, table: str, landed: LandedFile, state: str, found) -> bool:
        folder = self.landing / "_quarantine" / table
        stem, suffix = os.path.splitext(landed.name)
        reasons = [p for p in folder.glob(f"{stem}*{suffix}.error.txt")] \
            if folder.exists() else []
        still_landed = (self.landing / table / landed.name).exists()
        if not reasons:
            if state == "yes" or (state == "maybe" and not still_landed):
                found.append(f"invariant 1: bad file {table}/{landed.name} is not in "
                             f"{folder} (still in the landing folder: {still_landed})")
            return False
        text = " ".join(p.read_text(errors="replace") for p in reasons)
        if landed.name not in text or f"`{landed.bad_column}`" not in text.replace(
                f"`{landed.bad_column.upper()}`", f"`{landed.bad_column}`"):
            found.append(f"invariant 1: the reason for {table}/{landed.name} names not the "
                         f"file and column `{landed.bad_column}`: {text[:300]!r}")
        if still_landed:
            found.append(f"invariant 1: {table}/{landed.name} is quarantined and still in "
                         "the landing folder")
        return True

    # -- 2. views ---------------------------------------------------------------------------
    def views(self, con, cycle: CycleRecord, found: list[str]) -> dict[str, list[tuple]]:
        """Each view's rows as built (for invariant 3); invariant 2 on each whose model
        the soak did not break."""
        built = {}
        for label, (relation, query, _keys, _slo) in oracle_sql.VIEWS.items():
            columns = [c[0] for c in con.execute(f"describe w.main.{relation}").fetchall()]
            built[label] = (columns, con.execute(f"select * from w.main.{relation}")
                            .fetchall())
            if cycle.model_broken == relation:
                continue
            listed = ", ".join(f'"{c}"' for c in columns)
            diff = con.execute(
                f"select 'built, not in a full refresh' as side, * from (select {listed} "
                f"from w.main.{relation} except all select {listed} from ({query})) union all "
                f"select 'in a full refresh, not built', * from (select {listed} from "
                f"({query}) except all select {listed} from w.main.{relation}) limit 6"
            ).fetchall()
            if diff:
                found.append(f"invariant 2: {label} ({relation}) differs from a full refresh "
                             f"over raw: {diff}")
        return built

    def refused(self, con) -> set[str]:
        """The views whose current state the contract's checks refuse, judged here:
        user_profile's kyc_level within [0, 3] and country never null."""
        low, high = KYC_RANGE
        refused = set()
        for label in ("user_profile", "user_profile@v2"):
            relation = oracle_sql.VIEWS[label][0]
            (bad,) = con.execute(f"select count(*) from w.main.{relation} where kyc_level "
                                 f"not between {low} and {high} or country is null").fetchone()
            if bad:
                refused.add(label)
        return refused

    # -- 3. DynamoDB ------------------------------------------------------------------------
    def items(self, views: dict, refused: set[str], found: list[str]) -> None:
        stored = self.scan()
        for label, (columns, rows) in views.items():
            _, _, keys, _ = oracle_sql.VIEWS[label]
            if label not in refused:
                self.published[label] = _latest(label, columns, rows, keys)
            expected = self.published.get(label, {})
            got = stored.get(_sk(label), {})
            wrong = [pk for pk in expected.keys() | got.keys()
                     if not _same(expected.get(pk), got.get(pk))]
            if wrong:
                sample = [(pk, expected.get(pk), got.get(pk)) for pk in sorted(wrong)[:3]]
                found.append(f"invariant 3: {label}: {len(wrong)} item(s) differ from the "
                             f"latest rows of its last passing state"
                             + (" (its current state is refused)" if label in refused else "")
                             + f", e.g. (pk, expected, stored): {sample}")

    def scan(self) -> dict[str, dict[str, dict]]:
        import boto3

        client = boto3.client("dynamodb", endpoint_url=self.endpoint, region_name="us-east-1",
                              aws_access_key_id="soak", aws_secret_access_key="soak")
        stored: dict[str, dict[str, dict]] = {}
        request = {"TableName": self.table, "ConsistentRead": True}
        while True:
            page = client.scan(**request)
            for item in page["Items"]:
                if item["pk"]["S"].startswith("_"):
                    continue  # the serving pointer and other bookkeeping
                stored.setdefault(item["sk"]["S"], {})[item["pk"]["S"]] = _decode(item)
            if "LastEvaluatedKey" not in page:
                return stored
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # -- 4. lookups -------------------------------------------------------------------------
    def lookups(self, found: list[str]) -> None:
        fresh = self.record.lookups[self.lookups_seen:]
        self.lookups_seen += len(fresh)
        for lookup in fresh:
            problem = self.lookup_problem(lookup)
            if problem:
                found.append(f"invariant 4: lookup of user {lookup.user_id} at "
                             f"{lookup.started:.1f}: {problem}")

    def lookup_problem(self, lookup) -> str | None:
        down = self.record.store_was_down(lookup.started, lookup.finished)
        if lookup.status != 200 or lookup.body is None:
            return f"HTTP {lookup.status}: {json.dumps(lookup.body)[:300]}"
        if lookup.body.get("degraded") and not down:
            return f"degraded while DynamoDB Local was up: {json.dumps(lookup.body)[:300]}"
        served = (lookup.body.get("versions") or {}).get("user_profile")
        declared = self.record.versions["user_profile"] - self.record.retired.get(
            "user_profile", set())
        if served not in declared:
            return f"served user_profile v{served}, not one of {sorted(declared)}"
        expected = self.expected_version("user_profile", lookup)
        if expected is not None and served != expected:
            return f"served user_profile v{served}; the soak had made v{expected} served"
        return None

    def expected_version(self, view: str, lookup) -> int | None:
        """The version a lookup must serve: the one the soak's last change made served,
        or None while a change may be in flight (begun before the lookup ended, returned
        less than the refresh interval and a margin before it started)."""
        current = None
        for began, returned, version in self.record.served[view]:
            known = returned  # when a lookup could first read the new pointer
            for down, up in self.record.store_down:
                if down <= returned + VERSION_REFRESH and (not up or up > returned):
                    known = max(known, up or lookup.finished)
            if began <= lookup.finished and known + VERSION_REFRESH + VERSION_MARGIN \
                    > lookup.started:
                return None
            if returned <= lookup.started:
                current = version
        return current

    # -- 5. the cycle's record --------------------------------------------------------------
    def cycle_row(self, con, cycle: CycleRecord, refused: set[str], loaded: list,
                  quarantined: list, found: list[str]) -> None:
        # the broken model fails the cycle only if the cycle builds it: it is built when
        # transactions land (a file still settling waits a cycle) or earlier ones wait
        new_transactions = any(f.table == "transactions" for f in loaded)
        builds_broken = {1} if new_transactions else (
            {0, 1} if self.unbuilt_transactions else {0})
        allowed = ({-9} if cycle.killed else {3} if cycle.store_down else {2} if refused
                   else builds_broken if cycle.model_broken else {0})
        if cycle.returncode not in allowed:
            found.append(f"invariant 5: exit code {cycle.returncode}, expected "
                         f"{' or '.join(map(str, sorted(allowed)))}; "
                         f"stderr: {cycle.stderr[-800:]}")
        expected = cycle.returncode if cycle.returncode in allowed else min(allowed)
        if expected == 0 and not cycle.model_broken:
            self.unbuilt_transactions = False  # every pending file was built
        elif new_transactions or cycle.killed:
            self.unbuilt_transactions = True
        rows = con.execute("select status, files, quarantined, refused, message from "
                           "w.featurestore.loop_cycles order by started_at").fetchall()
        if len(rows) != len(self.record.cycles):
            found.append(f"invariant 5: loop_cycles has {len(rows)} rows after "
                         f"{len(self.record.cycles)} cycles")
            return
        for earlier, row in zip(self.record.cycles[:-1], rows[:-1], strict=True):
            if earlier.killed and row[0] != "interrupted":
                found.append(f"invariant 5: killed cycle {earlier.number} is recorded "
                             f"{row[0]!r}, not 'interrupted'")
        status, files, quarantined_json, refused_json, message = rows[-1]
        want = "running" if cycle.killed else "ok" if expected == 0 else "failed"
        if status != want:
            found.append(f"invariant 5: recorded status {status!r}, expected {want!r} "
                         f"({message!r})")
        if cycle.killed and files == 0 and not json.loads(quarantined_json or "[]"):
            # killed between ingest's commit and the row's save: the files are the next
            # build's (its `built` lists them as from earlier runs)
            loaded, quarantined = [], []
        if files != len(loaded):
            found.append(f"invariant 5: recorded {files} file(s) ingested; the soak saw "
                         f"{len(loaded)} new in raw: {[f.name for f in loaded]}")
        named = sorted(q["file"] for q in json.loads(quarantined_json or "[]"))
        if named != sorted(f.name for f in quarantined):
            found.append(f"invariant 5: recorded quarantined {named}; the soak saw "
                         f"{sorted(f.name for f in quarantined)}")
        held = {name.split("@")[0] for name in json.loads(refused_json or "{}")}
        if not cycle.killed and not cycle.store_down and held != {
                label.split("@")[0] for label in refused}:
            found.append(f"invariant 5: recorded held back {sorted(held)}; the contract "
                         f"refuses {sorted(refused)}")


# -- helpers ------------------------------------------------------------------------------
def _multiset(rows: list[tuple]) -> dict[tuple, int]:
    counts: dict[tuple, int] = {}
    for row in rows:
        counts[row] = counts.get(row, 0) + 1
    return counts


def _describe(got: dict, want: dict) -> str:
    extra = {row: n for row, n in got.items() if n > want.get(row, 0)}
    missing = {row: n for row, n in want.items() if n > got.get(row, 0)}
    return (f"{sum(got.values())} row(s) for {sum(want.values())} landed; extra "
            f"{list(extra.items())[:2]}, missing {list(missing.items())[:2]}")


def _sk(label: str) -> str:
    view, _, version = label.partition("@v")
    return f"{view}#v{version or 1}"


def _epoch_us(ts) -> int:
    import datetime as dt

    delta = ts - dt.datetime(1970, 1, 1)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _latest(label: str, columns: list[str], rows: list[tuple], keys) -> dict[str, tuple]:
    """pk -> (feature_ts in µs, {feature: value}) of each entity's newest row (by
    feature_ts, then loaded_at), encoded as the soak reads items."""
    import datetime as dt

    entity = oracle_sql.ENTITY[label]
    features = [c for c in columns if c not in (*keys, "feature_ts", "loaded_at")]
    best: dict[str, tuple] = {}
    for row in rows:
        record = dict(zip(columns, row, strict=True))
        pk = f"{entity}#" + "|".join(quote(str(record[k]), safe="") for k in keys)
        order = (record["feature_ts"], record["loaded_at"] or dt.datetime.min)
        if pk not in best or order > best[pk][0]:
            best[pk] = (order, record)
    return {pk: (_epoch_us(record["feature_ts"]),
                 {f: _epoch_us(record[f]) if isinstance(record[f], dt.datetime)
                  else record[f] for f in features})
            for pk, (_, record) in best.items()}


def _decode(item: dict) -> tuple[int, dict]:
    values = {}
    for name, attribute in item.items():
        if name in ("pk", "sk", "feature_ts", "written_at", "expires_at"):
            continue
        (kind, raw), = attribute.items()
        values[name] = (None if kind == "NULL" else raw if kind in ("S", "BOOL")
                        else float(raw) if any(c in raw for c in ".eE") else int(raw))
    return int(item["feature_ts"]["N"]), values


def _same(expected, stored) -> bool:
    if expected is None or stored is None:
        return expected is stored
    if expected[0] != stored[0] or expected[1].keys() != stored[1].keys():
        return False
    for name, value in expected[1].items():
        other = stored[1][name]
        if isinstance(value, float) or isinstance(other, float):
            if value is None or other is None or not math.isclose(
                    float(value), float(other), rel_tol=1e-12, abs_tol=1e-12):
                return False
        elif value != other:
            return False
    return True
