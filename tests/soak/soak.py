"""The soak: `featurestore run --once` cycle after cycle (a fresh process each time, as
cron runs it), with faults drawn at random from a seed, and the invariant checker after
every cycle. tests/soak/test_soak.py runs it for 20 cycles, bench/soak.py for as many as
asked.

Before a cycle the soak may: fix what an earlier fault broke, promote or roll back
user_profile v2 (lookups run all the time, from a background thread), land files (good
ones always; late, duplicate, clock-skewed, poison, growing, a profile update the
contract refuses), break a feature model, kill DynamoDB Local. During it: SIGKILL the
loop. After it: restart DynamoDB Local, finish the growing file, then check.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path

from tests.soak.checker import Checker
from tests.soak.landing import Lander
from tests.soak.lookups import Lookups
from tests.soak.record import COLUMNS, CycleRecord, LandedFile, SoakRecord
from tests.soak.world import SETTLE_SECONDS, TABLE, USERS, history_rows, make_world

# the faults placed once each in the first cycles of every run, so that 20 cycles see
# them all; the rest are drawn per cycle with these odds
EPISODES = ("bad_model", "gate_failure", "store_killed", "loop_killed", "growing",
            "promote", "rollback", "late", "duplicate", "poison", "clock_skew")
ODDS = {"late": 0.35, "duplicate": 0.3, "poison": 0.3, "clock_skew": 0.3, "growing": 0.15,
        "promote": 0.08, "bad_model": 0.04, "gate_failure": 0.04, "store_killed": 0.04,
        "loop_killed": 0.06}
KILL_AFTER = ("run: ingest:", "run: build: starting", "run: build:")
BROKEN = "fs_merchant__risk"


class Soak:
    def __init__(self, base: Path, seed: int, cycles: int,
                 say: Callable[[str], None] = lambda _line: None):
        self.seed, self.cycles, self.say = seed, cycles, say
        self.rng = random.Random(seed)
        self.record = SoakRecord(seed, SETTLE_SECONDS)
        self.world = make_world(base)
        self.record.versions = {"user_profile": {1, 2}}
        self.record.served = {"user_profile": [(0.0, 0.0, 1)]}
        for table, columns in COLUMNS.items():
            rows = history_rows(self.world, table, [name for name, _ in columns])
            self.record.land(LandedFile(table, "history.parquet", "history", rows,
                                        complete_at=0.0, loaded_in=-1))  # by make_world
        self.checker = Checker(self.record, self.world.landing, self.world.duckdb_path,
                               self.world.endpoint, TABLE)
        self.lander = Lander(self.record, self.world.landing, self.rng, USERS,
                             self.world.merchants)
        self.lookups = Lookups(self.record, self.world.serve_url, list(range(1, USERS + 1)),
                               seed)
        self.plan = self._plan()
        self.later: dict[int, list[Callable[[CycleRecord], None]]] = {}  # before cycle n
        self.broken = False
        self.gate_file: LandedFile | None = None
        self.promoted = False
        self.writers: list = []  # growing files, written on during the cycle

    def _plan(self) -> list[set[str]]:
        """What each cycle does besides landing a good file: each episode once at a
        random cycle of the first ones (the first cycle publishes the history, the last
        three leave time for fixes), then draws."""
        plan: list[set[str]] = [set() for _ in range(self.cycles)]
        room = list(range(1, max(2, min(self.cycles, 20) - 3)))
        for kind in EPISODES:
            plan[self.rng.choice(room)].add(kind)
        for number in range(1, self.cycles - 3):
            for kind, odds in ODDS.items():
                if self.rng.random() < odds:
                    plan[number].add(kind)
        return plan

    # -- the run --------------------------------------------------------------------------
    def run(self, until: float | None = None) -> dict:
        """The cycles, then the figures; ``until`` (a time.monotonic() value): start no
        cycle after it."""
        self.lookups.start()
        started = time.monotonic()
        for number in range(self.cycles):
            if until is not None and time.monotonic() >= until:
                break
            cycle = CycleRecord(number, 0.0)
            self.record.cycles.append(cycle)
            self.before(cycle, self.plan[number])
            self.run_cycle(cycle, "loop_killed" in self.plan[number] and number > 0)
            self.after(cycle)
            problems = self.checker.after_cycle(cycle)
            self.say(f"cycle {number}: exit {cycle.returncode} in {cycle.seconds:.1f}s; "
                     f"{', '.join(cycle.faults) or 'good file only'}"
                     + (f"; {len(problems)} violation(s): {problems}" if problems else ""))
        self.lookups.stop()  # the lookups since the last cycle's check are judged too
        final = self.checker.final()
        if final:
            self.say(f"after the last cycle: {len(final)} violation(s): {final}")
        figures = self.record.figures()
        figures["seconds"] = round(time.monotonic() - started, 1)
        return figures

    def close(self) -> None:
        self.lookups.stop()
        self.world.close()

    def before(self, cycle: CycleRecord, plan: set[str]) -> None:
        for action in self.later.pop(cycle.number, []):
            action(cycle)
        if plan & {"promote", "rollback"}:  # before a store kill: the change reaches it
            self.version_change(cycle)
        self.lander.good(self.rng.randint(3, 12))
        self.record.fault("good", cycle)
        if self.rng.random() < 0.5:
            self.lander.profile("profile")
        if "late" in plan:
            self.lander.late(self.rng.randint(2, 8))
            self.record.fault("late", cycle)
        if "duplicate" in plan and self.lander.duplicate() is not None:
            self.record.fault("duplicate", cycle)
        if "clock_skew" in plan:
            label, _ = self.lander.skewed(self.rng.randint(2, 6))
            self.record.fault("clock_skew", cycle)
            cycle.faults[-1] = f"clock_skew ({label})"
        if "poison" in plan:
            what, _ = self.lander.poison()
            self.record.fault("poison", cycle)
            cycle.faults[-1] = f"poison ({what})"
        if "growing" in plan:
            self.writers.append(self.lander.growing())  # started with the cycle
            self.record.fault("growing", cycle)
        if "gate_failure" in plan and self.gate_file is None:
            self.gate_file = self.lander.profile("gate", kyc=7)
            self.record.fault("gate_failure", cycle)
            self.fix_at(cycle.number + self.rng.randint(1, 2), self.fix_gate)
        if "bad_model" in plan and not self.broken:
            self.world.break_model(BROKEN)
            self.broken = True
            self.record.fault("bad_model", cycle)
            self.fix_at(cycle.number + self.rng.randint(1, 2), self.fix_model)
        cycle.model_broken = BROKEN if self.broken else None
        if "store_killed" in plan:
            self.world.kill_store()
            self.record.store_down.append([time.time(), 0.0])
            cycle.store_down = True
            self.record.fault("store_killed", cycle)

    def fix_at(self, number: int, action: Callable[[CycleRecord], None]) -> None:
        self.later.setdefault(number, []).append(action)

    def fix_gate(self, cycle: CycleRecord) -> None:
        """What the README tells the operator: unload the file, rebuild the model whole
        (once the file is loaded: it may have waited a cycle for its settle time)."""
        if self.gate_file.loaded_in is None:
            self.fix_at(cycle.number + 1, self.fix_gate)
            return
        self.world.must("ingest", "--unload", self.gate_file.name, "--table",
                        "demo.profile_updates")
        self.gate_file.unloaded = True
        self.world.must("build", "--quiet", "--full-refresh", "--select", "fs_user__profile")
        cycle.faults.append("gate fixed")
        self.gate_file = None

    def fix_model(self, cycle: CycleRecord) -> None:
        self.world.fix_model(BROKEN)
        self.broken = False
        cycle.faults.append("model fixed")

    def version_change(self, cycle: CycleRecord) -> None:
        began = time.time()
        if self.promoted:
            self.world.must("rollback", "user_profile", "--reason", "soak")
            version, what = 1, "rollback to v1"
        else:
            self.world.must("promote", "user_profile", "--version", "2", "--reason", "soak")
            version, what = 2, "promote v2"
        self.promoted = not self.promoted
        self.record.served["user_profile"].append((began, time.time(), version))
        self.record.fault("version_change", cycle)
        cycle.faults[-1] = f"version_change ({what})"

    def run_cycle(self, cycle: CycleRecord, kill: bool) -> None:
        cycle.started = time.time()
        for writer in self.writers:
            writer.start()
        if not kill:
            done = self.world.featurestore("run", "--once")
            cycle.returncode, cycle.stderr = done.returncode, done.stderr
        else:
            process = self.world.popen("run", "--once")
            trigger, lines = self.rng.choice(KILL_AFTER), []
            for line in process.stderr:
                lines.append(line)
                if line.startswith(trigger):
                    time.sleep(self.rng.uniform(0, 1.0))
                    break
            process.kill()
            cycle.returncode = process.wait()
            cycle.stderr = "".join(lines)
            cycle.killed = cycle.returncode == -9
            if cycle.killed:
                self.record.fault("loop_killed", cycle)
                cycle.faults[-1] = f"loop_killed (after {trigger!r})"
        cycle.finished = time.time()
        cycle.seconds = cycle.finished - cycle.started

    def after(self, cycle: CycleRecord) -> None:
        if cycle.store_down:
            self.world.restart_store()
            self.record.store_down[-1][1] = time.time()
        for writer in self.writers:
            writer.join()
        self.writers = []
