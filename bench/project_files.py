"""The dbt files of a benchmark's own project: featurestore connects through the dbt
profile, so a generated project needs one, as any project does.

The profile is this repository's, renamed: FEATURESTORE_TARGET picks its output,
FEATURESTORE_DUCKDB_PATH its DuckDB file (default warehouse/featurestore.duckdb),
FEATURESTORE_SPARK_DIR its Spark catalog.
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# The DuckDB output's threads line in profiles.yml: 2 models at once, 1 under
# FEATURESTORE_DUCKDB_MEMORY_LIMIT (which a bench's dbt runs without: see cap_memory).
DUCKDB_THREADS = ("      threads: \"{{ 1 if env_var('FEATURESTORE_DUCKDB_MEMORY_LIMIT', '') "
                  "else 2 }}\"\n")


def write_dbt_project(root: Path, name: str, extra: str = "") -> None:
    """dbt_project.yml (``extra`` appended) and profiles.yml in ``root``."""
    (root / "dbt_project.yml").write_text(
        f"name: {name}\nversion: '1.0'\nprofile: {name}\n{extra}")
    profile = (REPO_ROOT / "profiles.yml").read_text()
    (root / "profiles.yml").write_text(profile.replace("\nfeaturestore_demo:\n",
                                                       f"\n{name}:\n", 1))


def cap_memory(project: Path, limit: str) -> None:
    """The project copy's DuckDB target with the settings FEATURESTORE_DUCKDB_MEMORY_LIMIT
    gives it (dbt runs here without featurestore, which would write them itself)."""
    path = project / "profiles.yml"
    text = path.read_text()
    if DUCKDB_THREADS not in text:
        raise SystemExit(f"{path}: no `{DUCKDB_THREADS.strip()}` line of the duckdb output "
                         "to follow")
    path.write_text(text.replace(DUCKDB_THREADS, DUCKDB_THREADS + "      settings:\n"
                                 f"        memory_limit: {limit}\n"
                                 "        preserve_insertion_order: false\n", 1))
