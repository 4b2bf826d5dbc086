"""On-demand views in the registry: what ``plan`` compares and ``apply`` records.

An on-demand view's meaning is its request fields, its inputs (with their pins) and its
expressions: a model trained on a training set of version 1 gets version 1's values
from the lookup only while those three stay what they were. So, as for a stored view
(registry.py), once something consumed the view (a training set read it, or a feature
service froze it) a breaking change needs a new ``version``, and before that it is made
in place. Breaking:

- a removed feature, or a changed expression: the expressions are compared as checked
  trees, each input read as the stored feature it names, so reformatting the SQL or
  renaming an input (``as``) changes nothing, and reading another feature or version
  changes the value;
- an input an expression reads that names another feature, version or pin, or whose
  stored feature changed its dtype;
- a removed request field, a changed dtype, a field made ``nullable: false`` or a new
  one added as such (the requests and spines that worked would be refused);
- another entity.

Compatible, listed and recorded: a new feature, a new nullable request field, an input
added, or removed once no expression reads it, a description, owner, tag or
sensitivity. An on-demand view has one version at a time (no ``versions:``): a new
``version`` replaces the one before it (``bump``), and the lookup serves only it.
``apply`` records the view as ``OnDemandView.to_record()`` (the canonical form with
each checked tree), under the same ``contract_hash`` a training set's manifest records.
"""

from __future__ import annotations

import json

from featurestore.contracts import OnDemandView
from featurestore.errors import WarehouseError, WarehouseUnreachable

KIND = "on_demand"
SHOWN_SQL = 60  # characters of an expression a plan line shows


def is_on_demand_record(record: dict) -> bool:
    return record.get("kind") == KIND


def _sql(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= SHOWN_SQL else flat[:SHOWN_SQL - 3] + "..."


def _meaning(feature: dict, inputs: dict[str, str]) -> object:
    """A feature's checked tree with every input named by the stored feature it reads
    (``view[@vN]:feature``) and every request field by ``request:<name>``: two
    expressions of one meaning compare equal whatever their SQL's spacing or names."""
    tree = feature.get("tree")
    if tree is None:  # a record without its tree: the SQL as written
        return feature["sql"]

    def named(node: dict) -> dict:
        out = dict(node)
        if node["op"] == "col":
            name = node["value"]
            out["value"] = inputs.get(name, f"request:{name}")
        if "args" in node:
            out["args"] = [named(a) for a in node["args"]]
        return out

    return named(tree)


def _request_changes(old: dict, new: dict) -> tuple[list[str], list[tuple[str, str]]]:
    before = {r["name"]: r for r in old["request"]}
    after = {r["name"]: r for r in new["request"]}
    details, breaking = [], []
    for name, field in before.items():
        where = f"request field `{name}`"
        now = after.get(name)
        if now is None:
            breaking.append((where, "removed"))
            continue
        if field["dtype"] != now["dtype"]:
            breaking.append((where, f"dtype changed from {field['dtype']} to {now['dtype']}"))
        if field["nullable"] and not now["nullable"]:
            breaking.append((where, "made `nullable: false`: requests and spines with a null "
                                    "there would be refused"))
        elif not field["nullable"] and now["nullable"]:
            details.append(f"{where}: nullable false -> true")
        if field["description"] != now["description"]:
            details.append(f"{where}: description {field['description']!r} -> "
                           f"{now['description']!r}")
    for name, field in after.items():
        if name in before:
            continue
        if field["nullable"]:
            details.append(f"request field `{name}`: added ({field['dtype']}, nullable)")
        else:
            breaking.append((f"request field `{name}`", f"added as `nullable: false` "
                             f"({field['dtype']}): requests and spines without it would be "
                             "refused"))
    return details, breaking


def _input_changes(old: dict, new: dict, read: set[str]
                   ) -> tuple[list[str], list[tuple[str, str]]]:
    """Inputs by the stored feature they name; ``read``: the input names the new
    expressions read (an input nobody reads changes no value)."""
    before = {i["as"]: i for i in old["inputs"]}
    after = {i["as"]: i for i in new["inputs"]}
    details, breaking = [], []
    for name, item in after.items():
        was = before.get(name)
        where = f"input `{name}`"
        if was is None:
            details.append(f"{where}: added ({item['ref']}, {item['dtype']})")
            continue
        changes = []
        if was["ref"] != item["ref"]:
            changes.append(f"reads {item['ref']}, was {was['ref']}")
        if was["dtype"] != item["dtype"]:
            changes.append(f"dtype changed from {was['dtype']} to {item['dtype']}")
        if changes and name in read:
            breaking.append((where, "; ".join(changes)))
        elif changes:
            details.append(f"{where}: {'; '.join(changes)} (no expression reads it)")
    details += [f"input `{name}`: removed ({item['ref']})" for name, item in before.items()
                if name not in after]
    return details, breaking


def _feature_changes(old: dict, new: dict) -> tuple[list[str], list[tuple[str, str]]]:
    old_inputs = {i["as"]: i["ref"] for i in old["inputs"]}
    # an input of one name that reads another feature is its own breaking change
    # (_input_changes): here it reads as before, so each change is named once
    new_inputs = {i["as"]: old_inputs.get(i["as"], i["ref"]) for i in new["inputs"]}
    before = {f["name"]: f for f in old["features"]}
    after = {f["name"]: f for f in new["features"]}
    details, breaking = [], []
    for name, feature in before.items():
        where = f"feature `{name}`"
        now = after.get(name)
        if now is None:
            breaking.append((where, "removed"))
            continue
        if _meaning(feature, old_inputs) != _meaning(now, new_inputs):
            what = f"expression changed from `{_sql(feature['sql'])}` to `{_sql(now['sql'])}`"
            if feature["dtype"] != now["dtype"]:
                what += f" (dtype {feature['dtype']} -> {now['dtype']})"
            breaking.append((where, what))
        elif feature["sql"] != now["sql"]:
            details.append(f"{where}: SQL rewritten, same meaning: `{_sql(feature['sql'])}` "
                           f"-> `{_sql(now['sql'])}`")
        for key in ("sensitivity", "description"):
            if feature[key] != now[key]:
                details.append(f"{where}: {key} {feature[key]!r} -> {now[key]!r}")
    details += [f"feature `{name}`: added ({feature['dtype']})"
                for name, feature in after.items() if name not in before]
    return details, breaking


def compare(view: OnDemandView, old: dict) -> tuple[list[str], list[tuple[str, str]]]:
    """(allowed details, breaking changes as (where, what)) between an applied record
    and ``view``, in the words registry.py's stored views use."""
    new = view.to_record()
    details: list[str] = []
    breaking: list[tuple[str, str]] = []
    if old["entity"] != new["entity"]:
        breaking.append(("field `entity`", f"entity changed from {old['entity']} to "
                                           f"{new['entity']}"))
    read = set().union(*(f.expression.inputs for f in view.features))
    for found_details, found_breaking in (_request_changes(old, new),
                                          _input_changes(old, new, read),
                                          _feature_changes(old, new)):
        details += found_details
        breaking += found_breaking
    for key in ("owner", "description", "tags"):
        if old.get(key) != new.get(key):
            details.append(f"{key}: {old.get(key)!r} -> {new.get(key)!r}")
    return details, breaking


def summary(view: OnDemandView) -> str:
    """What ``plan`` says of a new on-demand view."""
    return (f"on-demand: {len(view.features)} features, {len(view.request)} request fields, "
            f"{len(view.inputs)} inputs, entity `{view.entity.name}`")


def record_json(view: OnDemandView) -> str:
    """The registry's ``contract_json`` of an on-demand view."""
    return json.dumps(view.to_record(), sort_keys=True)


def frozen_by_services(warehouse) -> set[str]:
    """The on-demand views a feature service's frozen parameters read (the lookup serves
    them to the model trained on them); none when no parameters were frozen yet."""
    try:
        rows = warehouse.fetch_all(
            f"select parameters_json from {warehouse.store_table('service_parameters')}")
    except WarehouseUnreachable:
        raise
    except WarehouseError:  # no such table yet
        return set()
    return {f["view"] for (document,) in rows
            for f in json.loads(document).get("features", ()) if f.get("on_demand")}


def _refusals(view: OnDemandView, old_version: int, breaking: list[tuple[str, str]]
              ) -> list[str]:
    return [f"{view.path}, {where}: {what} without a new version. Add `version: "
            f"{old_version + 1}`." for where, what in breaking]


def planned(catalog, applied: dict[tuple[str, int], dict], consumed) -> list[dict]:
    """Every on-demand view of ``catalog`` against its applied records (``applied``:
    (name, version) -> record, on-demand ones only), as ``registry.ViewChange`` fields;
    then the removals of on-demand views gone from ``feature_defs/``."""
    changes = []
    for name, view in sorted(catalog.on_demand.items()):
        numbers = sorted(v for n, v in applied if n == name)
        if not numbers:
            changes.append({"view": name, "action": "create", "version": view.version,
                            "details": [summary(view)], "contract": view})
            continue
        newest = numbers[-1]
        old = applied[(name, newest)]
        if view.version < newest:
            changes.append({"view": name, "action": "update", "version": view.version,
                            "contract": view, "breaking": [
                f"{view.path}, field `version`: version went from {newest} to "
                f"{view.version}; versions only go up. Set `version: {newest + 1}` for a "
                "new version."]})
            continue
        if view.version > newest:  # one version at a time: the new one replaces it
            details, breaking = compare(view, old["contract"])
            changes.append({"view": name, "action": "bump", "version": view.version,
                            "previous_version": newest, "contract": view, "details": [
                                f"{where}: {what} (breaking; allowed by v{view.version})"
                                for where, what in breaking] + details})
            continue
        if old["contract_hash"] == view.contract_hash():
            changes.append({"view": name, "action": "unchanged", "version": newest,
                            "contract": view})
            continue
        details, breaking = compare(view, old["contract"])
        if breaking and name not in consumed:  # nothing depends on its meaning yet
            changes.append({"view": name, "action": "in-place", "version": newest,
                            "contract": view, "details": [
                                *(f"{where}: {what}" for where, what in breaking), *details]})
            continue
        changes.append({"view": name, "action": "update", "version": newest,
                        "contract": view, "details": details,
                        "breaking": _refusals(view, newest, breaking)})
    for name, number in sorted(applied):
        if name in catalog.views:
            changes.append({"view": name, "action": "update", "version": number, "breaking": [
                f"{catalog.views[name].path}: `{name}` is an on-demand view in the "
                "registry; a stored view cannot take its name (views and on-demand views "
                "share one namespace). Name the stored view otherwise, or apply the "
                "on-demand view's removal first."]})
        elif name not in catalog.on_demand:
            changes.append({"view": name, "action": "remove", "version": number,
                            "details": ["its contract file is gone from feature_defs/"]})
    return changes
