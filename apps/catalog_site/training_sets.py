"""Training sets the catalog can see: their manifests (which views, versions, features) and,
for the distribution plots, a sample of their values.

``featurestore training-set`` writes ``<file>.manifest.json`` beside each Parquet file
(featurestore/training_manifest.py). The catalog looks for manifests in the folder that holds the
warehouse (``warehouse/`` by default, where the demo writes its training set; its landing,
raw and DynamoDB folders excepted), in the project folder itself (not below it), and in
any file or folder given to ``featurestore catalog --training-set``. A manifest that
cannot be read is skipped with a note naming it; a manifest whose Parquet file is gone
still lists its views (the page says the values are missing).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

from featurestore.training_manifest import MANIFEST_SUFFIX

SAMPLE_ROWS = 200_000  # per training set, read for the distribution plots
SKIPPED_FOLDERS = {"landing", "dynamodb", "serving_log", "_quarantine", "raw", "target",
                   "catalog", "node_modules"}


@dataclass
class TrainingSetInfo:
    path: Path  # the Parquet file
    manifest_path: Path
    created_at: dt.datetime | None
    rows: int | None
    views: dict[str, dict]  # name -> {"version", "contract_hash", "features": [...]}
    exists: bool
    _values: dict | None = field(default=None, repr=False)

    def label(self, root: Path) -> str:
        try:
            return str(self.path.relative_to(root))
        except ValueError:
            return str(self.path)


def find_training_sets(root: Path, warehouse_folder: Path, extra: list[Path] = (),
                       notes: list[str] | None = None) -> list[TrainingSetInfo]:
    """Every readable training-set manifest, newest first."""
    notes = notes if notes is not None else []
    candidates: set[Path] = set()
    if warehouse_folder.is_dir() and warehouse_folder.resolve() != root.resolve():
        candidates.update(_manifests(warehouse_folder, recursive=True))
    if root.is_dir():
        candidates.update(_manifests(root, recursive=False))
    for path in extra:
        path = Path(path)
        if path.is_dir():
            candidates.update(_manifests(path, recursive=True))
        elif path.name.endswith(MANIFEST_SUFFIX):
            candidates.add(path)
        else:
            candidates.add(path.with_name(path.name + MANIFEST_SUFFIX))
    found = []
    for manifest_path in sorted(candidates):
        info = _read(manifest_path, notes)
        if info is not None:
            found.append(info)
    return sorted(found, key=lambda i: (i.created_at or dt.datetime.min, str(i.path)),
                  reverse=True)


def _manifests(folder: Path, recursive: bool) -> list[Path]:
    if not recursive:
        return [p for p in folder.glob(f"*{MANIFEST_SUFFIX}") if p.is_file()]
    found = []
    for path in folder.iterdir():
        if path.is_dir() and path.name not in SKIPPED_FOLDERS and not path.name.startswith("."):
            found.extend(_manifests(path, True))
        elif path.is_file() and path.name.endswith(MANIFEST_SUFFIX):
            found.append(path)
    return found


def _read(manifest_path: Path, notes: list[str]) -> TrainingSetInfo | None:
    if not manifest_path.is_file():
        notes.append(f"{manifest_path}: no such training-set manifest (given with "
                     "--training-set); skipped.")
        return None
    try:
        document = json.loads(manifest_path.read_text(encoding="utf-8", errors="replace"))
        views = {}
        for entry in document["views"]:
            views[str(entry["name"])] = {
                "version": entry.get("version"), "contract_hash": entry.get("contract_hash"),
                "features": [{"name": str(f["name"]), "column": str(f["column"]),
                              "null_count": f.get("null_count")}
                             for f in entry.get("features", [])]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        notes.append(f"{manifest_path}: not a training-set manifest ({type(exc).__name__}: "
                     f"{exc}); skipped. Rewrite it with `featurestore training-set`.")
        return None
    created = document.get("created_at")
    try:
        created_at = dt.datetime.fromisoformat(str(created)).replace(tzinfo=None)
    except ValueError:
        created_at = None
    parquet = manifest_path.with_name(manifest_path.name[: -len(MANIFEST_SUFFIX)])
    rows = (document.get("output") or {}).get("rows")
    return TrainingSetInfo(parquet, manifest_path, created_at,
                           rows if isinstance(rows, int) else None, views, parquet.is_file())


def training_values(info: TrainingSetInfo, columns: list[str]) -> dict:
    """A sample of ``columns`` (at most SAMPLE_ROWS rows, spread over the file's row
    groups), as Arrow arrays; columns the file lacks are left out."""
    import pyarrow.parquet as pq

    if info._values is None:
        info._values = {}
    wanted = [c for c in columns if c not in info._values]
    if wanted and info.exists:
        handle = pq.ParquetFile(info.path)
        present = [c for c in wanted if c in handle.schema_arrow.names]
        groups = list(range(handle.num_row_groups))
        if handle.metadata.num_rows > SAMPLE_ROWS and len(groups) > 1:
            per_group = handle.metadata.num_rows / len(groups)
            keep = max(1, int(SAMPLE_ROWS / per_group))
            groups = groups[:: max(1, len(groups) // keep)][:keep]
        table = handle.read_row_groups(groups, columns=present) if present else None
        for column in wanted:
            info._values[column] = (table.column(column).slice(0, SAMPLE_ROWS)
                                    if table is not None and column in present else None)
    return {c: info._values[c] for c in columns if info._values.get(c) is not None}
