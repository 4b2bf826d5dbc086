"""The soak's world: a copy of the demo project (user_profile with a version 2 beside v1),
a small generated history, its own DuckDB file, landing folder and dbt target, its own
DynamoDB Local on disk (so that killing it loses nothing written), and a `featurestore
serve` answering lookups. Everything featurestore does here is a CLI subprocess, as an
operator (or cron) runs it.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from tests.conftest import REPO_ROOT
from tests.online.loop_world import SCRIPT, copy_project, environment

USERS, DAYS = 80, 2
SETTLE_SECONDS = 5.0  # FEATURESTORE_INGEST_SETTLE for the soak's loop (the default)
TABLE = "fs_soak"
PROFILE_V2 = """
versions:
  - version: 1
    changes: The first version.
  - version: 2
    changes: A flag for the fullest identity check.
    add:
      - {name: is_fully_verified, dtype: bool, default: false, sensitivity: internal,
         description: Whether kyc_level is 3.}
"""


def _deadline(what: str, done, timeout: float = 180.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if done():
            return
        time.sleep(0.1)
    raise AssertionError(f"soak: {what} within {timeout:.0f} s")


@dataclass
class SoakWorld:
    base: Path
    root: Path
    env: dict[str, str]
    store: object  # featurestore.online.local.LocalDynamoDB
    serve: subprocess.Popen | None = None
    serve_url: str = ""
    serve_log: object = None
    merchants: list[int] = field(default_factory=list)

    @property
    def landing(self) -> Path:
        return self.base / "landing"

    @property
    def duckdb_path(self) -> Path:
        return self.base / "warehouse" / "demo.duckdb"

    @property
    def endpoint(self) -> str:
        return self.store.endpoint

    def featurestore(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run([*SCRIPT, "--project-dir", str(self.root), *args], env=self.env,
                              capture_output=True, text=True, timeout=timeout)

    def must(self, *args: str) -> subprocess.CompletedProcess:
        done = self.featurestore(*args)
        assert done.returncode == 0, f"featurestore {' '.join(args)}: {done.stderr[-3000:]}"
        return done

    def popen(self, *args: str, stderr=subprocess.PIPE) -> subprocess.Popen:
        return subprocess.Popen([*SCRIPT, "--project-dir", str(self.root), *args],
                                env=self.env, stderr=stderr, stdout=subprocess.DEVNULL,
                                text=True)

    # -- DynamoDB Local -------------------------------------------------------------------
    def kill_store(self) -> None:
        self.store.kill()

    def restart_store(self) -> None:
        self.store.start()  # the same port (chosen at creation) and the same folder

    # -- the lookup server ----------------------------------------------------------------
    def start_serve(self) -> None:
        from featurestore.online.local import free_port

        port = free_port()
        # a deadline far above the machine's worst stall: the soak judges what is served,
        # not latency (a killed store refuses connections, and degrades at once)
        # its stderr to a file: a pipe nobody reads fills up, and then the server blocks
        self.serve_log = open(self.base / "serve.log", "w")  # noqa: SIM115
        self.serve = self.popen("serve", "--port", str(port), "--log-sample", "0",
                                "--deadline-ms", "10000", stderr=self.serve_log)
        self.serve_url = f"http://127.0.0.1:{port}"

        def answers() -> bool:
            assert self.serve.poll() is None, (self.base / "serve.log").read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"{self.serve_url}/healthz", timeout=2) as r:
                    return r.status == 200
            except OSError:
                return False

        _deadline("`featurestore serve` answers /healthz", answers)

    def close(self) -> None:
        if self.serve is not None and self.serve.poll() is None:
            self.serve.terminate()
            try:
                self.serve.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.serve.kill()
                self.serve.wait()
            self.serve_log.close()
        self.store.stop()

    def break_model(self, relation: str) -> Path:
        model = self.root / "models" / "features" / "merchant" / f"{relation}.sql"
        good = model.read_text()
        (self.base / f"{relation}.sql.good").write_text(good)
        model.write_text(good.replace("select * from final",
                                      "select *, no_such_column from final"))
        return model

    def fix_model(self, relation: str) -> None:
        model = self.root / "models" / "features" / "merchant" / f"{relation}.sql"
        model.write_text((self.base / f"{relation}.sql.good").read_text())


def make_world(base: Path) -> SoakWorld:
    """The project copied and given user_profile v2, the history generated, ingested and
    built, v2 applied; DynamoDB Local started with an empty table; `serve` running. The
    soak's first cycle publishes everything."""
    from featurestore.demo_data import generate
    from featurestore.online.client import ensure_table
    from featurestore.online.config import OnlineConfig
    from featurestore.online.local import LocalDynamoDB

    base.mkdir(parents=True, exist_ok=True)
    root = copy_project(base / "project")
    contract = root / "feature_defs" / "user_profile.yml"
    contract.write_text(contract.read_text() + PROFILE_V2)
    model = root / "models" / "features" / "user" / "fs_user__profile.sql"
    (model.parent / "fs_user__profile_v2.sql").write_text(model.read_text().replace(
        "        cast(users.email_domain as {{ dbt.type_string() }}) as email_domain\n",
        "        cast(users.email_domain as {{ dbt.type_string() }}) as email_domain,\n"
        "        cast(profile_updates.kyc_level = 3 as boolean) as is_fully_verified\n"))
    store = LocalDynamoDB(REPO_ROOT, data_dir=base / "dynamodb")
    store.start()
    env = {**environment(base, store.endpoint, TABLE),
           "FEATURESTORE_INGEST_SETTLE": str(SETTLE_SECONDS)}
    world = SoakWorld(base, root, env, store)
    try:
        ensure_table(OnlineConfig(endpoint=store.endpoint).client(), TABLE, ttl=False)
        end = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0) \
            - dt.timedelta(minutes=2)
        generate(world.landing, users=USERS, days=DAYS, seed=11, end=end)
        world.must("ingest")
        world.must("build", "--quiet")
        world.must("apply")
        with duckdb.connect(str(world.duckdb_path), read_only=True) as con:
            world.merchants = [m for (m,) in con.execute(
                "select merchant_id from raw.merchants order by 1").fetchall()]
        world.start_serve()
    except BaseException:
        world.close()
        raise
    return world


def history_rows(world: SoakWorld, table: str, columns: list[str]) -> list[tuple]:
    """The generator's history file of ``table``, read by the soak with DuckDB."""
    path = world.landing / table / "history.parquet"
    with duckdb.connect() as con:
        return con.execute(f"select {', '.join(columns)} from read_parquet('{path}')"
                           ).fetchall()


def summary(figures: dict) -> str:
    return json.dumps(figures, indent=1, sort_keys=False)
