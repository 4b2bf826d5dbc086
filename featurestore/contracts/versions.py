"""A view's later versions: each entry of `versions:` applied to the version before it.

A version is the same dbt model at another model version; its entry says what it changes
(features dropped, added or replaced; ttl, freshness SLO, description). docs/versions.md
tells the whole workflow.
"""

from __future__ import annotations

import dataclasses

from featurestore.contracts.features import load_feature
from featurestore.contracts.model import Feature, FeatureView
from featurestore.contracts.reader import FieldReader
from featurestore.contracts.rules import MAX_VERSION, RESERVED_NAMES, VERSION_FIELDS, suggest
from featurestore.errors import ContractError
from featurestore.yaml_lines import LineDict


def load_versions(reader: FieldReader, base: FeatureView, reserved: set[str]) -> list[FeatureView]:
    """The base version, then each later version of ``versions:``, each derived from the
    one before it (features dropped, added, replaced; ttl, SLO, description)."""
    raw = reader.get("versions")
    if raw is None:
        return [base]
    if not isinstance(raw, list) or not raw:
        raise reader.error("versions", "expected a list of versions, each with `version` and "
                           "`changes`, e.g. [{version: 2, changes: ..., add: [...]}]")
    display = reader.path
    found = [base]
    for index, item in enumerate(raw):
        line = item.line if isinstance(item, LineDict) else reader.line("versions")
        entry = FieldReader(display, item, "a version", line=line)
        number = entry.get("version")
        prefix = (f"versions.v{number}." if isinstance(number, int)
                  and not isinstance(number, bool) else f"versions[{index}].")
        entry.check_fields(VERSION_FIELDS, prefix=prefix)
        previous = found[-1]
        if (isinstance(number, bool) or not isinstance(number, int)
                or not 1 <= number <= MAX_VERSION):
            raise ContractError(display, f"expected a whole number from 1 to {MAX_VERSION}, "
                                f"got {number!r}", line=entry.line("version"),
                                field=f"{prefix}version")
        changes = entry.text("changes", prefix, multiline=True)
        retired = entry.get("retired", False)
        if not isinstance(retired, bool):
            raise ContractError(display, f"expected true or false, got {retired!r}",
                                line=entry.line("retired"), field=f"{prefix}retired")
        if number == base.version and index == 0:
            extra = [k for k in ("drop", "add", "replace", "ttl", "freshness_slo",
                                 "description") if k in entry.mapping]
            if extra:
                raise ContractError(display, f"version {number} is the base version (the "
                                    "top-level fields describe it); its entry holds only "
                                    "`changes` and `retired`", line=entry.line(extra[0]),
                                    field=f"{prefix}{extra[0]}")
            found[0] = dataclasses.replace(base, changes=changes, retired=retired)
            continue
        if number <= previous.version:
            raise ContractError(display, f"version {number} must be greater than the version "
                                f"before it ({previous.version}): list versions oldest first, "
                                "each after the base `version`", line=entry.line("version"),
                                field=f"{prefix}version")
        features = _version_features(entry, previous, prefix, reserved)
        ttl = entry.duration("ttl") if "ttl" in entry.mapping else previous.ttl_seconds
        slo = (entry.duration("freshness_slo") if "freshness_slo" in entry.mapping
               else previous.freshness_slo_seconds)
        description = (entry.text("description", prefix, multiline=True)
                       if "description" in entry.mapping else previous.description)
        found.append(dataclasses.replace(
            previous, version=number, features=features, ttl_seconds=ttl,
            freshness_slo_seconds=slo, description=description, changes=changes,
            retired=retired, is_base=False,
            lines={**base.lines, **({f"versions.v{number}": line} if line else {})}))
    return [dataclasses.replace(view, model_version=view.version,
                                multi_version=len(found) > 1) for view in found]


def _version_features(entry: FieldReader, previous: FeatureView, prefix: str,
                      reserved: set[str]) -> tuple[Feature, ...]:
    """The previous version's features with ``drop``, ``replace`` and ``add`` applied."""
    display = entry.path
    have = {f.name: f for f in previous.features}
    drop = entry.get("drop") or []
    if not isinstance(drop, list) or not all(isinstance(n, str) for n in drop):
        raise ContractError(display, "expected a list of feature names",
                            line=entry.line("drop"), field=f"{prefix}drop")
    for name in drop:
        if name not in have:
            shown = name if name.isprintable() else repr(name)
            raise ContractError(display, f"version {previous.version} has no feature "
                                f"`{shown}` to drop{suggest(name, have)}",
                                line=entry.line("drop"), field=f"{prefix}drop")
    replaced: dict[str, Feature] = {}
    added: list[Feature] = []
    for key in ("replace", "add"):
        items = entry.get(key) or []
        if not isinstance(items, list):
            raise ContractError(display, "expected a list of features",
                                line=entry.line(key), field=f"{prefix}{key}")
        for index, raw in enumerate(items):
            line = raw.line if isinstance(raw, LineDict) else entry.line(key)
            feature = load_feature(display, raw, line, index, base=f"{prefix}{key}")
            where = f"{prefix}{key}.{feature.name}.name"
            if key == "replace" and (feature.name not in have or feature.name in drop):
                raise ContractError(display, f"version {previous.version} has no feature "
                                    f"`{feature.name}` to replace; list a new feature under "
                                    "`add`", line=line, field=where)
            if key == "add" and feature.name in have and feature.name not in drop:
                raise ContractError(display, f"feature `{feature.name}` is already in version "
                                    f"{previous.version}; a changed definition goes under "
                                    "`replace`", line=line, field=where)
            if (feature.name in reserved or feature.name in RESERVED_NAMES
                    or feature.name in replaced or any(f.name == feature.name for f in added)):
                raise ContractError(display, f"feature name `{feature.name}` is taken (a key, "
                                    "a timestamp, featurestore's own bookkeeping, or listed "
                                    "twice); rename it", line=line, field=where)
            (replaced.__setitem__(feature.name, feature) if key == "replace"
             else added.append(feature))
    features = [replaced.get(f.name, f) for f in previous.features if f.name not in drop]
    features.extend(added)
    if not features:
        raise ContractError(display, "the version drops every feature; a version keeps at "
                            "least one", line=entry.line("drop"), field=f"{prefix}drop")
    return tuple(features)
