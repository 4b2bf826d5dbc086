"""A one-view DuckDB project for the training-set tests that need a real warehouse but
not the demo: one entity (`user`, an int64 `user_id`), one view (`history`), and a
`history` table made by the SQL a test gives, so each test chooses its own rows."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.conftest import write_dbt_project

ENTITIES = "entities:\n  - name: user\n    join_keys: [{name: user_id, dtype: int64}]\n"


def view_contract(description: str = "Generated history.", extra_features: str = "") -> str:
    """The `history` view's contract: f1 (an int64 count), plus ``extra_features`` lines."""
    return f"""name: history
version: 1
entity: user
source: history
timestamp: feature_ts
ttl: 30d
owner: tests
description: {description}
features:
  - {{name: f1, dtype: int64, default: 0, sensitivity: internal, description: a count}}
{extra_features}"""


VIEW = view_contract()


def one_view_project(root: Path, monkeypatch: pytest.MonkeyPatch, name: str,
                     history_sql: str, view: str = VIEW) -> Path:
    """Write the project under ``root`` (its DuckDB file named by
    FEATURESTORE_DUCKDB_PATH, no target or target path from the caller's environment)
    and create `history` as ``history_sql``; returns ``root``."""
    for variable in ("FEATURESTORE_TARGET", "DBT_TARGET_PATH", "FEATURESTORE_PROJECT_DIR"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("FEATURESTORE_DUCKDB_PATH", str(root / "warehouse.duckdb"))
    (root / "feature_defs").mkdir()
    (root / "feature_defs" / "entities.yml").write_text(ENTITIES)
    (root / "feature_defs" / "history.yml").write_text(view)
    write_dbt_project(root, name)
    with duckdb.connect(str(root / "warehouse.duckdb")) as con:
        con.execute(f"create table history as {history_sql}")
    return root
