"""Every setting featurestore runs with, read from the environment once.

The CLI, the SDK and the Lambda handler each build one ``Settings`` at start and hand
its parts down (the warehouse target, the ``OnlineConfig``, the lookup's budgets); no
module below reads ``os.environ`` for itself. Defaults make the DuckDB demo work with no
configuration at all. Relative paths are resolved against the project root (or the
working directory in Lambda, where there is no project).

The warehouse is not described here: it is the dbt profile's target
(featurestore/dbt_profile.py). The warehouse variables read here
(FEATURESTORE_DUCKDB_PATH, FEATURESTORE_SPARK_DIR, FEATURESTORE_SPARK_DRIVER_MEMORY,
SNOWFLAKE_*) are overrides of that target, None or empty when unset.

A bad value stops here with the variable's name and the fix, not as a stack trace from
deep inside a run.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from featurestore.errors import ProjectError
from featurestore.online.config import DEFAULT_REGION, DEFAULT_TABLE, OnlineConfig, is_loopback

SNOWFLAKE_VARIABLES = ("SNOWFLAKE_ACCOUNT", "SNOWFLAKE_USER", "SNOWFLAKE_PASSWORD",
                       "SNOWFLAKE_ROLE", "SNOWFLAKE_WAREHOUSE", "SNOWFLAKE_DATABASE",
                       "SNOWFLAKE_SCHEMA")


@dataclass(frozen=True)
class LookupSettings:
    """The lookup endpoint's budgets (FEATURESTORE_LOOKUP_*, FEATURESTORE_SERVING_LOG_*)."""

    deadline_ms: float = 250.0
    consistent_read: bool = False
    cache: bool = True
    cache_size: int = 100_000
    cache_ttl_ms: float = 1000.0
    # how often the serving pointers of views with several versions are read again: the
    # bound on how late a promotion or rollback reaches a lookup
    version_refresh_ms: float = 1000.0
    serving_log_sample: float = 1.0
    registry: Path | None = None  # a registry snapshot; None: the one bundled in the zip
    api_keys: str | None = None  # the JSON of FEATURESTORE_API_KEYS
    api_keys_file: Path | None = None
    # requests without an API key read public and internal features; off by default, so a
    # deployment without keys refuses instead of serving anyone (FEATURESTORE_ALLOW_ANONYMOUS)
    allow_anonymous: bool = False
    # the secret of the HMAC that stands for pii values in the serving log; None: pii
    # values are left out of it (FEATURESTORE_SERVING_LOG_HMAC_KEY)
    serving_log_hmac_key: str | None = None


@dataclass(frozen=True)
class Settings:
    # overrides of the dbt profile's target (None: the profile's value stands)
    duckdb_path: Path | None = None  # FEATURESTORE_DUCKDB_PATH
    spark_dir: Path | None = None  # FEATURESTORE_SPARK_DIR: Spark's catalog and tables
    spark_driver_memory: str | None = None  # FEATURESTORE_SPARK_DRIVER_MEMORY
    duckdb_memory_limit: str | None = None
    landing_dir: Path = Path("warehouse/landing")  # where raw event files land
    # seconds a landed CSV or JSON lines file must stay unchanged before ingest takes it
    # (FEATURESTORE_INGEST_SETTLE; 0: writers rename whole files into place)
    ingest_settle: float = 5.0
    dbt_target_dir: Path = Path("target")
    # where dbt's profile is read, as dbt reads it: DBT_PROFILES_DIR (None: the project
    # folder if it has a profiles.yml, else ~/.dbt/), DBT_PROFILE, DBT_TARGET
    profiles_dir: Path | None = None
    dbt_profile: str | None = None
    dbt_target: str | None = None
    # where served lines go locally; None (no project, variable unset): stdout
    serving_log_dir: Path | None = None
    user: str | None = None  # who applies contracts (FEATURESTORE_USER; default: login)
    online: OnlineConfig = field(default_factory=OnlineConfig)
    lookup: LookupSettings = field(default_factory=LookupSettings)
    snowflake: Mapping[str, str] = field(default_factory=dict)
    in_lambda: bool = False
    # application logs (featurestore/logs.py): FEATURESTORE_LOG_FORMAT (text or json; None:
    # each place's default), and the Lambda runtime's own format (AWS_LAMBDA_LOG_FORMAT)
    log_format: str | None = None
    lambda_log_format: str | None = None
    # the whole environment these settings were read from: what dbt's env_var() reads
    # when featurestore renders the profile or a source's meta.featurestore.landing at
    # run time, as dbt does when it runs (it renders them at parse time)
    environment: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_env(cls, root: Path | None = None,
                 environ: Mapping[str, str] | None = None) -> Settings:
        """The settings in ``environ`` (default: this process's), paths under ``root``."""
        env = _Environment(os.environ if environ is None else environ, root)
        region = env.text("AWS_REGION", env.text("AWS_DEFAULT_REGION", DEFAULT_REGION))
        endpoint = env.text("FEATURESTORE_DYNAMODB_ENDPOINT", "") or None
        return cls(
            duckdb_path=env.optional_path("FEATURESTORE_DUCKDB_PATH"),
            spark_dir=env.optional_path("FEATURESTORE_SPARK_DIR"),
            spark_driver_memory=env.text("FEATURESTORE_SPARK_DRIVER_MEMORY", "") or None,
            duckdb_memory_limit=env.text("FEATURESTORE_DUCKDB_MEMORY_LIMIT", "") or None,
            landing_dir=env.path("FEATURESTORE_LANDING_DIR", "warehouse/landing"),
            ingest_settle=env.number("FEATURESTORE_INGEST_SETTLE", 5.0, low=0),
            dbt_target_dir=env.path("DBT_TARGET_PATH", "target"),
            profiles_dir=env.optional_path("DBT_PROFILES_DIR"),
            dbt_profile=env.text("DBT_PROFILE", "") or None,
            dbt_target=env.text("DBT_TARGET", "") or None,
            serving_log_dir=(env.path("FEATURESTORE_SERVING_LOG_DIR", "warehouse/serving_log")
                             if root is not None or env.text("FEATURESTORE_SERVING_LOG_DIR", "")
                             else None),
            user=env.text("FEATURESTORE_USER", "") or None,
            online=OnlineConfig(
                table=env.text("FEATURESTORE_ONLINE_TABLE", DEFAULT_TABLE), endpoint=endpoint,
                region=region, local=bool(endpoint) and is_loopback(endpoint),
                aws_credentials=bool(env.text("AWS_ACCESS_KEY_ID", "")
                                     or env.text("AWS_PROFILE", "")),
                replica_region=env.text("FEATURESTORE_DYNAMODB_REPLICA_REGION", "") or None,
                replica_endpoint=env.text("FEATURESTORE_DYNAMODB_REPLICA_ENDPOINT", "")
                or None),
            lookup=LookupSettings(
                deadline_ms=env.number("FEATURESTORE_LOOKUP_DEADLINE_MS", 250.0, low=1),
                consistent_read=env.flag("FEATURESTORE_LOOKUP_CONSISTENT_READ", False),
                cache=env.flag("FEATURESTORE_LOOKUP_CACHE", True),
                cache_size=int(env.number("FEATURESTORE_LOOKUP_CACHE_SIZE", 100_000, low=1)),
                cache_ttl_ms=env.number("FEATURESTORE_LOOKUP_CACHE_TTL_MS", 1000.0, low=1),
                version_refresh_ms=env.number("FEATURESTORE_LOOKUP_VERSION_REFRESH_MS", 1000.0,
                                              low=1),
                serving_log_sample=env.number("FEATURESTORE_SERVING_LOG_SAMPLE", 1.0, low=0,
                                              high=1),
                registry=env.path("FEATURESTORE_REGISTRY", "") if env.text(
                    "FEATURESTORE_REGISTRY", "") else None,
                api_keys=env.text("FEATURESTORE_API_KEYS", "") or None,
                api_keys_file=env.path("FEATURESTORE_API_KEYS_FILE", "") if env.text(
                    "FEATURESTORE_API_KEYS_FILE", "") else None,
                allow_anonymous=env.flag("FEATURESTORE_ALLOW_ANONYMOUS", False),
                serving_log_hmac_key=env.text("FEATURESTORE_SERVING_LOG_HMAC_KEY", "") or None,
            ),
            snowflake={name: env.raw[name] for name in SNOWFLAKE_VARIABLES
                       if env.raw.get(name)},
            in_lambda=bool(env.text("AWS_LAMBDA_FUNCTION_NAME", "")),
            log_format=_log_format(env.text("FEATURESTORE_LOG_FORMAT", "")),
            lambda_log_format=env.text("AWS_LAMBDA_LOG_FORMAT", "") or None,
            environment=dict(env.raw),
        )

    def replace(self, **changes) -> Settings:
        return dataclasses.replace(self, **changes)

    def with_online(self, **changes) -> Settings:
        return self.replace(online=self.online.replace(**changes))

    def dbt_env(self) -> dict[str, str]:
        """What featurestore sets for dbt's ``env_var()`` during a run, paths absolute.

        The warehouse overrides only when they are set: unset, the profile's own default
        stands (this repository's profiles.yml reads the same variables).
        """
        env = {
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DO_NOT_TRACK": "1",
            "FEATURESTORE_LANDING_DIR": str(self.landing_dir),
            # the lookup endpoint's serving log, read by the dbt source `serving`
            "FEATURESTORE_SERVING_LOG_DIR": str(self.serving_log_dir or "warehouse/serving_log"),
        }
        for name, value in (("FEATURESTORE_DUCKDB_PATH", self.duckdb_path),
                            ("FEATURESTORE_SPARK_DIR", self.spark_dir),
                            ("FEATURESTORE_SPARK_DRIVER_MEMORY", self.spark_driver_memory)):
            if value is not None:
                env[name] = str(value)
        return env

    def dbt_environment(self) -> dict[str, str]:
        """The whole environment a dbt run sees: this process's, then ``dbt_env``."""
        return {**self.environment, **self.dbt_env()}


class _Environment:
    """Typed reads of variables, each failing with the variable's name."""

    def __init__(self, raw: Mapping[str, str], root: Path | None):
        self.raw = raw
        self.root = root

    def text(self, name: str, default: str) -> str:
        return self.raw.get(name) or default

    def path(self, name: str, default: str) -> Path:
        candidate = Path(self.text(name, default))
        if candidate.is_absolute() or self.root is None:
            return candidate
        return self.root / candidate

    def optional_path(self, name: str) -> Path | None:
        return self.path(name, "") if self.text(name, "") else None

    def flag(self, name: str, default: bool) -> bool:
        value = self.raw.get(name)
        if not value:
            return default
        lowered = value.strip().lower()
        if lowered in ("1", "true", "on", "yes"):
            return True
        if lowered in ("0", "false", "off", "no"):
            return False
        raise ProjectError(f"{name}={value!r}: write true or false.")

    def number(self, name: str, default: float, *, low: float | None = None,
               high: float | None = None) -> float:
        value = self.raw.get(name)
        if not value:
            return default
        try:
            number = float(value)
        except ValueError:
            raise ProjectError(f"{name}={value!r} is not a number.") from None
        if (low is not None and number < low) or (high is not None and number > high):
            bounds = f"from {low:g}" + (f" to {high:g}" if high is not None else " up")
            raise ProjectError(f"{name}={value!r}: expected a number {bounds}.")
        return number


def _log_format(text: str) -> str | None:
    if not text:
        return None
    if text.lower() not in ("text", "json"):
        raise ProjectError(f"FEATURESTORE_LOG_FORMAT={text!r}: use text or json.")
    return text.lower()
