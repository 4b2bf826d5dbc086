"""``featurestore new``: a contract and a dbt model that build from the first minute.

The model selects typed, empty columns (``where false``), so ``dbt build`` and
``featurestore validate`` pass before the analyst writes any logic; the contract and the
model already agree on names and dtypes, which is the part people get wrong by hand.
Both files are written only if the project's contracts then load, and removed again if
anything fails, so a failed ``featurestore new`` leaves the project as it was.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from featurestore.contracts import ENTITIES_FILE, load_entities, text_problem
from featurestore.dtypes import DTYPES
from featurestore.errors import ContractError, ProjectError
from featurestore.generate import generated_files, write_generated
from featurestore.project import Project

_NAME = re.compile(r"[a-z][a-z0-9_]*")
_MODEL = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # a dbt model name, written into ref('...')
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")  # an owner YAML may hold unquoted

CONTRACT = """\
name: {view}
version: 1
entity: {entity}
source: {model}      # dbt model: one row per {keys} per feature_ts
timestamp: feature_ts
created_timestamp: loaded_at
ttl: 30d
freshness_slo: 1d
online: true
owner: {owner}
description: Describe what these features measure, in event time.
features:
  - name: example_count
    dtype: int64
    default: 0
    sensitivity: internal
    min: 0
    description: Replace with a real feature; say what it counts and over which window.
"""

MODEL = """\
-- {view}: one row per {keys} per feature_ts.
-- Replace the `where false` body with your logic; keep the column names and types,
-- they are the contract in feature_defs/{view}.yml.
with source as (
    {source}
),

final as (
    select
{columns}
    from source
    where false
)

select * from final
"""


def yaml_text(text: str) -> str:
    """``text`` as a YAML scalar that loads back as exactly ``text``: a plain word as it
    is, anything else (``risk: ml``, ``yes``, a quote) as a double-quoted JSON string,
    which YAML reads as the same string."""
    if _WORD.fullmatch(text) and yaml.safe_load(text) == text:
        return text
    return json.dumps(text, ensure_ascii=False)


def scaffold_view(project: Project, view: str, entity_name: str, from_model: str | None,
                  owner: str = "") -> list[Path]:
    """Write the contract and the model of a new view, then regenerate the dbt files;
    on any failure (a contract that does not load, a full disk) nothing is left behind."""
    if not _NAME.fullmatch(view):
        raise ProjectError(f"{view!r} is not a valid view name: use lowercase letters, "
                           "digits and underscores, starting with a letter.")
    contract_display = f"feature_defs/{view}.yml"
    problem = text_problem(owner)
    if problem:
        raise ContractError(contract_display, problem, field="owner")
    if from_model is not None and not _MODEL.fullmatch(from_model):
        raise ProjectError(f"--from {from_model!r} is not a dbt model name: use letters, "
                           "digits and underscores.")
    entities = load_entities(project.feature_defs)
    if entity_name not in entities:
        raise ContractError(f"feature_defs/{ENTITIES_FILE}", f"no entity `{entity_name}`; "
                            f"declared: {', '.join(entities)}. Add it there first.")
    entity = entities[entity_name]
    model = f"fs_{entity_name}__{view}"
    contract_path = project.feature_defs / f"{view}.yml"
    model_path = project.models_dir / "features" / entity_name / f"{model}.sql"
    for path in (contract_path, model_path):
        if path.exists():
            raise ProjectError(f"{path.relative_to(project.root)} already exists; pick another "
                               "name or edit it.")
    columns = [f"cast(null as {DTYPES[k.dtype].portable}) as {k.name}"
               for k in entity.join_keys]
    columns += ["cast(null as timestamp) as feature_ts",
                "cast(null as timestamp) as loaded_at",
                "cast(null as bigint) as example_count"]
    source = (f"select * from {{{{ ref('{from_model}') }}}}" if from_model
              else "select 1 as placeholder_row")
    keys = ", ".join(entity.key_names)
    new_folders = [d for d in (model_path.parent, *model_path.parent.parents)
                   if not d.exists()]  # deepest first
    generated_before = {}
    try:
        contract_path.write_text(CONTRACT.format(
            view=view, entity=entity_name, model=model, keys=keys,
            owner=yaml_text(owner.strip() or "unowned")), encoding="utf-8")
        model_path.parent.mkdir(parents=True, exist_ok=True)
        model_path.write_text(MODEL.format(
            view=view, keys=keys, source=source,
            columns=",\n".join(f"        {column}" for column in columns),
        ), encoding="utf-8")
        catalog = project.catalog()
        for item in generated_files(project, catalog):
            target = project.root / item.path
            generated_before[target] = target.read_bytes() if target.exists() else None
        generated = write_generated(project, catalog)
    except BaseException:
        for target, content in generated_before.items():
            if content is None:
                target.unlink(missing_ok=True)
            else:
                target.write_bytes(content)
        contract_path.unlink(missing_ok=True)
        model_path.unlink(missing_ok=True)
        for folder in new_folders:
            if folder.exists() and not any(folder.iterdir()):
                folder.rmdir()
        raise
    return [contract_path, model_path, *(project.root / p for p in generated)]
