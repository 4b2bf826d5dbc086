"""Where a featurestore project keeps things, and the settings it runs with.

A project is a dbt project with a ``feature_defs/`` folder. Settings come from the
environment (``FEATURESTORE_*``) with defaults that make the DuckDB demo work with no
configuration at all; ``profiles.yml`` is the one place the warehouse is described, for
dbt and for featurestore alike.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from featurestore.errors import ProjectError

STORE_SCHEMA = "featurestore"  # registry, sync_state, gate_results live here


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


@dataclass
class Project:
    root: Path
    # the last manifest read, with the (path, mtime) it was read at
    _manifest: tuple | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def find(cls, start: Path | str | None = None) -> Project:
        """The nearest folder at or above ``start`` (default: cwd) with a dbt_project.yml."""
        here = Path(start or os.getcwd()).resolve()
        for folder in (here, *here.parents):
            if (folder / "dbt_project.yml").exists() and (folder / "feature_defs").is_dir():
                return cls(folder)
        raise ProjectError(
            f"{here}: not inside a featurestore project (no dbt_project.yml with a "
            "feature_defs/ folder beside it). Run from the project, or pass --project-dir."
        )

    # -- folders -------------------------------------------------------------------------
    @property
    def feature_defs(self) -> Path:
        return self.root / "feature_defs"

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def macros_dir(self) -> Path:
        return self.root / "macros"

    @property
    def target_dir(self) -> Path:
        """dbt's target folder; DBT_TARGET_PATH moves it, for dbt and for us alike."""
        return self._resolve(_env("DBT_TARGET_PATH", "target"))

    @property
    def profiles_dir(self) -> Path:
        return Path(_env("DBT_PROFILES_DIR", str(self.root)))

    @property
    def warehouse_dir(self) -> Path:
        return self.root / "warehouse"

    @property
    def raw_dir(self) -> Path:
        """Where the demo generator writes raw events; dbt sources read them from here."""
        return self._resolve(_env("FEATURESTORE_RAW_DIR", "warehouse/raw"))

    # -- settings ------------------------------------------------------------------------
    @property
    def target(self) -> str:
        return _env("FEATURESTORE_TARGET", "duckdb")

    @property
    def duckdb_path(self) -> Path:
        return self._resolve(_env("FEATURESTORE_DUCKDB_PATH", "warehouse/featurestore.duckdb"))

    @property
    def online_table(self) -> str:
        return _env("FEATURESTORE_ONLINE_TABLE", "featurestore_online")

    @property
    def dynamodb_endpoint(self) -> str | None:
        """None means real AWS (the usual boto3 chain); a URL means DynamoDB Local."""
        return os.environ.get("FEATURESTORE_DYNAMODB_ENDPOINT") or None

    @property
    def aws_region(self) -> str:
        return _env("AWS_REGION", _env("AWS_DEFAULT_REGION", "us-east-1"))

    def _resolve(self, path: str) -> Path:
        candidate = Path(path)
        return candidate if candidate.is_absolute() else self.root / candidate

    # -- what the project knows ----------------------------------------------------------
    def catalog(self):
        from featurestore.contracts import load_catalog

        return load_catalog(self.feature_defs)

    def dbt_env(self) -> dict[str, str]:
        """Environment for a dbt run: absolute paths, so dbt's cwd never matters."""
        env = {
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DO_NOT_TRACK": "1",
            "FEATURESTORE_DUCKDB_PATH": str(self.duckdb_path),
            "FEATURESTORE_RAW_DIR": str(self.raw_dir),
            # the lookup endpoint's serving log, read by the dbt source `serving`
            "FEATURESTORE_SERVING_LOG_DIR": str(self._resolve(_env(
                "FEATURESTORE_SERVING_LOG_DIR", "warehouse/serving_log"))),
            "FEATURESTORE_TARGET": self.target,
        }
        return env

    def dbt_manifest(self) -> dict | None:
        """``target/manifest.json`` from the last dbt parse or build, if there is one."""
        path = self.target_dir / "manifest.json"
        if not path.exists():
            return None
        version = (path, path.stat().st_mtime_ns)
        if self._manifest is None or self._manifest[0] != version:
            self._manifest = (version, json.loads(path.read_text()))
        return self._manifest[1]

    def model_node(self, model: str) -> dict | None:
        manifest = self.dbt_manifest()
        if not manifest:
            return None
        for node in manifest.get("nodes", {}).values():
            if node.get("resource_type") == "model" and node.get("name") == model:
                return node
        return None
