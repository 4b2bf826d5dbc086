"""``featurestore new``: a contract and a dbt model that build from the first minute.

The model selects typed, empty columns (``where false``), so ``dbt build`` and
``featurestore validate`` pass before the analyst writes any logic; the contract and the
model already agree on names and dtypes, which is the part people get wrong by hand.
"""

from __future__ import annotations

import re
from pathlib import Path

from featurestore.contracts import ENTITIES_FILE, load_entities
from featurestore.dtypes import DTYPES
from featurestore.errors import ContractError, ProjectError
from featurestore.generate import write_generated
from featurestore.project import Project

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

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


def scaffold_view(project: Project, view: str, entity_name: str, from_model: str | None,
                  owner: str = "") -> list[Path]:
    if not _NAME.match(view):
        raise ContractError(f"feature_defs/{view}.yml", f"{view!r} is not a valid view name: "
                            "use lowercase letters, digits and underscores", field="name")
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
    columns = [f"cast(null as {DTYPES[k.dtype].duckdb.lower()}) as {k.name}"
               for k in entity.join_keys]
    columns += ["cast(null as timestamp) as feature_ts",
                "cast(null as timestamp) as loaded_at",
                "cast(null as bigint) as example_count"]
    source = (f"select * from {{{{ ref('{from_model}') }}}}" if from_model
              else "select 1 as placeholder_row")
    keys = ", ".join(entity.key_names)
    contract_path.write_text(CONTRACT.format(view=view, entity=entity_name, model=model,
                                             keys=keys, owner=owner or "unowned"))
    model_path.parent.mkdir(parents=True, exist_ok=True)
    model_path.write_text(MODEL.format(
        view=view, keys=keys, source=source,
        columns=",\n".join(f"        {column}" for column in columns),
    ))
    generated = write_generated(project, project.catalog())
    return [contract_path, model_path, *(project.root / p for p in generated)]
