"""Feature contracts: the YAML files in ``feature_defs/`` and their validation.

A contract is the single definition of a feature view that training, serving and the
gates all read. Loading is strict on purpose: an unknown field, a default that does not
fit its dtype or a missing ``sensitivity`` stops here, with the file, the line and the
field, instead of surfacing later as a silently wrong training set or a 500 online.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from featurestore.dtypes import DTYPES, KEY_DTYPES, check_value
from featurestore.durations import format_duration, parse_duration
from featurestore.errors import ContractError
from featurestore.yaml_lines import LineDict, load_yaml

ENTITIES_FILE = "entities.yml"
SENSITIVITIES = ("public", "internal", "pii")
# Attribute names the online item and the training set use for their own bookkeeping.
RESERVED_NAMES = frozenset(
    {"pk", "sk", "feature_ts", "written_at", "expires_at", "event_ts", "valid_from",
     "valid_to", "created_ts"}
)
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")  # fullmatch: a trailing newline is no name

# Names the generated SQL writes bare (views, sources, keys, timestamps, features) must not
# be SQL keywords: `select order from ...` does not parse, and a feature named `true` would
# silently select the constant. Refused: DuckDB's keywords that cannot be a bare column
# name (categories `reserved` and `type_function` of duckdb_keywords(), DuckDB 2.0; a test
# compares this copy with the installed DuckDB) and Snowflake's reserved and limited
# keywords (https://docs.snowflake.com/en/sql-reference/reserved-keywords). A copy, not a
# query: contracts load where DuckDB is not installed (the Lambda) or not open.
RESERVED_WORDS = frozenset("""
all analyse analyze and anti any array as asc asof asymmetric at authorization binary
both by case cast check collate collation column columns concurrently constraint create
cross default deferrable desc describe distinct do else end except false fetch for
foreign freeze from full generated glob group having ilike in initially inner intersect
into is isnull join lambda lateral leading left like limit map natural not notnull null
offset on only or order outer overlaps pivot pivot_longer pivot_wider placing positional
primary qualify references returning right select semi show similar some struct
summarize symmetric table tablesample then to trailing true try_cast tuple union unique
unpack unpivot using variadic verbose when where window with
""".split()) | frozenset("""
account all alter and any as asof between by case cast check column connect connection
constraint create cross current current_date current_time current_timestamp current_user
database delete distinct drop else exists false following for from full grant group
gscluster having ilike in increment inner insert intersect into is issue join lateral left
like localtime localtimestamp match_condition minus natural not null of on or order
organization qualify regexp revoke right rlike row rows sample schema select set some
start table tablesample then to trigger true try_cast union unique update using values
view when whenever where with
""".split())

# Bounds of what the warehouses hold. A version is an INTEGER column of the registry and
# of sync_state (32 bits on DuckDB). A TTL or freshness SLO is added to timestamps in SQL
# and must land before year 10000, where Snowflake's and Python's timestamps end: 1000
# years leaves room for any feature_ts before year 9000.
MAX_VERSION = 2**31 - 1
MAX_DURATION_DAYS = 365_000

VIEW_FIELDS = {
    "name": True, "version": True, "entity": True, "source": True, "timestamp": True,
    "created_timestamp": False, "ttl": False, "freshness_slo": False, "online": False,
    "owner": True, "description": True, "tags": False, "features": True,
    "versions": False, "compare": False,
}
# One entry of `versions:`: what a later version changes relative to the one before it
# (features dropped, added or replaced; ttl, freshness SLO, description). The entity, the
# keys, the timestamps and the dbt model are the view's: a version is the same model at
# another dbt model version. An entry with the base `version` describes the base.
VERSION_FIELDS = {
    "version": True, "changes": True, "drop": False, "add": False, "replace": False,
    "ttl": False, "freshness_slo": False, "description": False, "retired": False,
}
COMPARE_FIELDS = {"max_psi": False, "max_null_rate_diff": False, "max_changed_share": False}
FEATURE_FIELDS = {
    "name": True, "dtype": True, "sensitivity": True, "description": True,
    "default": False, "max_null_rate": False, "min": False, "max": False,
    "allowed_values": False, "skew": False,
}
SKEW_FIELDS = {"max_psi": False, "max_null_rate_diff": False, "min_sample": False}
DEFAULT_MAX_PSI = 0.2
DEFAULT_MAX_NULL_RATE_DIFF = 0.05
# Below this many served values of a feature (or training rows), the skew gate records
# "insufficient data" instead of judging: PSI over a handful of lines is noise.
DEFAULT_SKEW_MIN_SAMPLE = 1000


@dataclass(frozen=True)
class JoinKey:
    name: str
    dtype: str


@dataclass(frozen=True)
class Entity:
    name: str
    join_keys: tuple[JoinKey, ...]
    description: str = ""

    # cached: the lookup endpoint asks for these once per key of every request
    @cached_property
    def key_names(self) -> list[str]:
        return [k.name for k in self.join_keys]

    @cached_property
    def key_dtypes(self) -> dict[str, str]:
        return {k.name: k.dtype for k in self.join_keys}


@dataclass(frozen=True)
class Feature:
    name: str
    dtype: str
    sensitivity: str
    description: str
    default: object = None
    max_null_rate: float | None = None
    min: float | None = None
    max: float | None = None
    allowed_values: tuple | None = None
    max_psi: float = DEFAULT_MAX_PSI
    max_null_rate_diff: float = DEFAULT_MAX_NULL_RATE_DIFF
    skew_min_sample: int = DEFAULT_SKEW_MIN_SAMPLE

    def to_dict(self) -> dict:
        out = {
            "name": self.name, "dtype": self.dtype, "sensitivity": self.sensitivity,
            "description": self.description, "default": _jsonable(self.default),
            "max_null_rate": self.max_null_rate, "min": self.min, "max": self.max,
            "allowed_values": list(self.allowed_values) if self.allowed_values else None,
            "max_psi": self.max_psi, "max_null_rate_diff": self.max_null_rate_diff,
        }
        if self.skew_min_sample != DEFAULT_SKEW_MIN_SAMPLE:  # only when set: the hash of a
            out["skew_min_sample"] = self.skew_min_sample  # contract without it is unchanged
        return out


@dataclass(frozen=True)
class CompareThresholds:
    """What ``featurestore compare`` accepts between two versions before a promotion:
    per feature present in both, the population stability index, the difference of null
    rates and the share of entities whose latest value changed (None: not bounded)."""

    max_psi: float = DEFAULT_MAX_PSI
    max_null_rate_diff: float = DEFAULT_MAX_NULL_RATE_DIFF
    max_changed_share: float | None = None

    def to_dict(self) -> dict:
        return {"max_psi": self.max_psi, "max_null_rate_diff": self.max_null_rate_diff,
                "max_changed_share": self.max_changed_share}


@dataclass(frozen=True)
class FeatureView:
    name: str
    version: int
    entity: Entity
    source: str
    timestamp: str
    owner: str
    description: str
    features: tuple[Feature, ...]
    created_timestamp: str | None = None
    ttl_seconds: int | None = None
    freshness_slo_seconds: int | None = None
    online: bool = True
    tags: tuple[str, ...] = ()
    path: str = ""
    lines: dict = field(default_factory=dict, compare=False, hash=False)
    # -- versions (docs/versions.md) -------------------------------------------------
    # The dbt model version (`v`) that computes this version: None when the view's model
    # is not versioned (a contract without `versions:`).
    model_version: int | None = None
    changes: str = ""  # what this version changed, from its `versions:` entry
    retired: bool = False  # marked `retired: true`: no longer built, synced or served
    multi_version: bool = False  # the view has several versions in its contract
    is_base: bool = True  # the contract's top-level version (the others derive from it)
    compare: CompareThresholds | None = None  # the contract's `compare:` (None: defaults)

    @property
    def keys(self) -> list[str]:
        return self.entity.key_names

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    def feature(self, name: str) -> Feature:
        for feature in self.features:
            if feature.name == name:
                return feature
        raise KeyError(name)

    def line_of(self, field_name: str) -> int | None:
        return self.lines.get(field_name)

    @property
    def label(self) -> str:
        """How reports name this version: the view's name while it has one version,
        ``view@vN`` while it has several (gate results, sync runs, compare)."""
        return f"{self.name}@v{self.version}" if self.multi_version else self.name

    @property
    def model_ref(self) -> str:
        """The dbt model version as dbt's selectors spell it: ``model`` or ``model.vN``."""
        return self.source if self.model_version is None else \
            f"{self.source}.v{self.model_version}"

    @property
    def model_file(self) -> str:
        """The dbt model's file name (without .sql) and its relation's name: the model's
        own for the base version (so adding versions never renames or rebuilds it), and
        ``<model>_v<N>`` for a later version, as dbt names versions by default."""
        if self.model_version is None or self.is_base:
            return self.source
        return f"{self.source}_v{self.model_version}"

    @property
    def thresholds(self) -> CompareThresholds:
        return self.compare or CompareThresholds()

    def to_dict(self) -> dict:
        """The canonical form: what is hashed, recorded in the registry and baked online."""
        return {
            "name": self.name,
            "version": self.version,
            "entity": {
                "name": self.entity.name,
                "join_keys": [{"name": k.name, "dtype": k.dtype} for k in self.entity.join_keys],
            },
            "source": self.source,
            "timestamp": self.timestamp,
            "created_timestamp": self.created_timestamp,
            "ttl": format_duration(self.ttl_seconds) if self.ttl_seconds else None,
            "freshness_slo": (
                format_duration(self.freshness_slo_seconds)
                if self.freshness_slo_seconds else None
            ),
            "online": self.online,
            "owner": self.owner,
            "description": self.description,
            "tags": list(self.tags),
            "features": [f.to_dict() for f in self.features],
            # only when used: a contract without versions keeps the hash it always had
            **({"changes": self.changes} if self.changes else {}),
            **({"compare": self.compare.to_dict()} if self.compare else {}),
        }

    def contract_hash(self) -> str:
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Catalog:
    """Every entity and feature view of a project, validated together.

    ``views`` holds each view's base version (the contract's top-level `version`): what
    every caller that names no version gets until a version is promoted. ``versions``
    holds every version a contract declares, the base and retired ones included.
    """

    entities: dict[str, Entity]
    views: dict[str, FeatureView]
    versions: dict[str, dict[int, FeatureView]] = field(default_factory=dict)

    def view(self, name: str) -> FeatureView:
        try:
            return self.views[name]
        except KeyError:
            raise ContractError(
                "feature_defs/", f"no feature view named `{name}`{suggest(name, self.views)}"
            ) from None

    def versions_of(self, name: str) -> dict[int, FeatureView]:
        """Version number -> FeatureView of every version ``name`` declares."""
        found = self.versions.get(name)
        if found:
            return found
        view = self.view(name)
        return {view.version: view}

    def live_versions(self, name: str) -> list[FeatureView]:
        """The versions of ``name`` not marked retired, oldest first."""
        return [v for _, v in sorted(self.versions_of(name).items()) if not v.retired]

    def view_version(self, name: str, version: int) -> FeatureView:
        """One version of a view; ContractError naming the versions it has."""
        known = self.versions_of(name)
        if version not in known:
            listed = ", ".join(f"v{v}" for v in sorted(known))
            raise ContractError(self.views[name].path, f"view `{name}` has no version "
                                f"{version}; its versions: {listed}", field="versions")
        return known[version]

    def all_live(self) -> list[FeatureView]:
        """Every live version of every view, by name then version."""
        return [v for name in sorted(self.views) for v in self.live_versions(name)]


def text_problem(value: str, multiline: bool = False) -> str | None:
    """Why ``value`` cannot be contract text, or None. Control characters (a newline
    outside a description, an escape sequence, NUL), line separators and lone surrogates
    (which no UTF-8 file holds) are refused: a terminal, a YAML file, a SQL literal and a
    dbt description would each read them differently. ``multiline``: a description, where
    newlines and tabs are text."""
    for char in value:
        if multiline and char in "\n\t":
            continue
        code = f"U+{ord(char):04X}"
        category = unicodedata.category(char)
        if category == "Cs":
            return f"{code} is a lone surrogate, not Unicode text; remove it"
        if char in "\n\t":
            kind = "line break" if char == "\n" else "tab"
            return f"this field is one line, but it holds a {kind} ({code}); remove it"
        if category in ("Cc", "Zl", "Zp"):
            return f"the control character {code} is not allowed in contract text; remove it"
    return None


def _jsonable(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


def suggest(name: str, options) -> str:
    """' (did you mean `x`?)' for the closest of ``options``, or nothing."""
    close = difflib.get_close_matches(str(name), list(options), n=1)
    return f" (did you mean `{close[0]}`?)" if close else ""


class _Reader:
    """Field access on one YAML mapping that raises located ContractErrors."""

    def __init__(self, path: str, mapping: object, what: str, line: int | None = None):
        if not isinstance(mapping, dict):
            raise ContractError(path, f"{what} must be a mapping of fields", line=line)
        self.path = path
        self.mapping = mapping
        self.what = what

    def line(self, key: str | None = None) -> int | None:
        if isinstance(self.mapping, LineDict):
            return self.mapping.line_of(key) if key else self.mapping.line
        return None

    def error(self, key: str, problem: str) -> ContractError:
        return ContractError(self.path, problem, line=self.line(key), field=key)

    def check_fields(self, allowed: dict[str, bool], prefix: str = "") -> None:
        for key in self.mapping:
            if key not in allowed:
                shown = key if isinstance(key, str) and key.isprintable() else repr(key)
                raise ContractError(
                    self.path,
                    f"unknown field in {self.what}{suggest(key, allowed)}; "
                    f"allowed: {', '.join(allowed)}",
                    line=self.line(key),
                    field=f"{prefix}{shown}",
                )
        for key, required in allowed.items():
            if required and self.mapping.get(key) in (None, ""):
                raise ContractError(
                    self.path, f"{self.what} is missing the required field `{prefix}{key}`",
                    line=self.line(), field=f"{prefix}{key}",
                )

    def get(self, key: str, default=None):
        return self.mapping.get(key, default)

    def identifier(self, key: str, prefix: str = "", sql: bool = True) -> str:
        """A name; ``sql``: one the generated SQL writes bare, so no SQL keyword."""
        value = self.mapping.get(key)
        if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value):
            raise ContractError(
                self.path,
                f"{value!r} is not a valid name: use lowercase letters, digits and "
                f"underscores, starting with a letter",
                line=self.line(key), field=f"{prefix}{key}",
            )
        if sql and value in RESERVED_WORDS:
            raise ContractError(
                self.path,
                f"`{value}` is a reserved word of DuckDB or Snowflake SQL, which the "
                f"generated SQL cannot use as a name; rename it, e.g. `{value}_value`",
                line=self.line(key), field=f"{prefix}{key}",
            )
        return value

    def text(self, key: str, prefix: str = "", multiline: bool = False) -> str:
        value = self.mapping.get(key, "")
        if not isinstance(value, str):
            raise ContractError(
                self.path, f"expected text, got {value!r}", line=self.line(key),
                field=f"{prefix}{key}",
            )
        return self.clean(value, key, prefix, multiline).strip()

    def clean(self, value: str, key: str, prefix: str = "", multiline: bool = False) -> str:
        """``value`` when every character of it can be text in SQL, Jinja and YAML alike;
        else a ContractError naming the character."""
        problem = text_problem(value, multiline)
        if problem:
            raise ContractError(self.path, problem, line=self.line(key), field=f"{prefix}{key}")
        return value

    def duration(self, key: str) -> int | None:
        value = self.mapping.get(key)
        if value is None:
            return None
        try:
            seconds = parse_duration(value)
        except ValueError as exc:
            raise self.error(key, str(exc)) from None
        if seconds > MAX_DURATION_DAYS * 86400:
            fix = "leave `ttl` out for no expiry" if key == "ttl" else "shorten it"
            raise self.error(key, f"{value} is longer than {MAX_DURATION_DAYS}d (1000 years), "
                             f"the most a warehouse timestamp can take here; {fix}")
        return seconds

    def number(self, key: str, prefix: str, low=None, high=None) -> float | None:
        value = self.mapping.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ContractError(self.path, f"expected a number, got {value!r}",
                                line=self.line(key), field=f"{prefix}{key}")
        if (low is not None and value < low) or (high is not None and value > high):
            raise ContractError(self.path, f"expected a number from {low} to {high}, got "
                                f"{value!r}", line=self.line(key), field=f"{prefix}{key}")
        return float(value)


def load_entities(feature_defs: Path) -> dict[str, Entity]:
    path = feature_defs / ENTITIES_FILE
    display = f"feature_defs/{ENTITIES_FILE}"
    if not path.exists():
        raise ContractError(display, "file not found: declare entities here, e.g. "
                            "`entities: [{name: user, join_keys: [user_id]}]`")
    document = _Reader(display, load_yaml(path, display), "the entities file")
    document.check_fields({"entities": True})
    items = document.get("entities")
    if not isinstance(items, list):
        raise document.error("entities", "expected a list of entities")
    entities: dict[str, Entity] = {}
    for item in items:
        reader = _Reader(display, item, "an entity", line=document.line("entities"))
        reader.check_fields({"name": True, "join_keys": True, "description": False})
        name = reader.identifier("name", sql=False)
        if name in entities:
            raise reader.error("name", f"entity `{name}` is declared twice")
        raw_keys = reader.get("join_keys")
        if not isinstance(raw_keys, list) or not raw_keys:
            raise reader.error("join_keys", "expected a non-empty list of key columns")
        keys = []
        for raw in raw_keys:
            if isinstance(raw, str):
                raw = {"name": raw, "dtype": "string"}
            key_reader = _Reader(display, raw, "a join key", line=reader.line("join_keys"))
            key_reader.check_fields({"name": True, "dtype": False}, prefix="join_keys.")
            key_name = key_reader.identifier("name", prefix="join_keys.")
            dtype = key_reader.get("dtype", "string")
            if dtype not in KEY_DTYPES:
                raise key_reader.error(
                    "dtype", f"join key `{key_name}` has dtype {dtype!r}; a key is one of "
                    f"{', '.join(KEY_DTYPES)}")
            keys.append(JoinKey(key_name, dtype))
        if len({k.name for k in keys}) != len(keys):
            raise reader.error("join_keys", f"entity `{name}` lists a join key twice")
        entities[name] = Entity(name, tuple(keys), reader.text("description", multiline=True))
    return entities


def _parse_default(reader: _Reader, dtype: str, prefix: str) -> object:
    value = reader.get("default")
    if dtype == "timestamp" and isinstance(value, str | dt.date):
        try:
            value = (value if isinstance(value, dt.datetime)
                     else dt.datetime.fromisoformat(str(value)))
        except ValueError:
            raise ContractError(reader.path, f"default {value!r} is not an ISO timestamp",
                                line=reader.line("default"), field=f"{prefix}default") from None
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
    if dtype == "float64" and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    problem = check_value(dtype, value)
    if problem:
        raise ContractError(reader.path, f"default {problem}; give a {dtype} or leave it out",
                            line=reader.line("default"), field=f"{prefix}default")
    if isinstance(value, str):
        reader.clean(value, "default", prefix)
    return value


def _load_feature(display: str, raw: object, line: int | None, index: int,
                  base: str = "features") -> Feature:
    reader = _Reader(display, raw, "a feature", line=line)
    name = raw.get("name") if isinstance(raw, dict) else None
    named = isinstance(name, str) and _IDENTIFIER.fullmatch(name)
    prefix = f"{base}.{name}." if named else f"{base}[{index}]."
    reader.check_fields(FEATURE_FIELDS, prefix=prefix)
    name = reader.identifier("name", prefix=prefix)
    dtype = reader.get("dtype")
    if dtype not in DTYPES:
        raise ContractError(display, f"unknown dtype {dtype!r}{suggest(dtype, DTYPES)}; "
                            f"use one of {', '.join(DTYPES)}", line=reader.line("dtype"),
                            field=f"{prefix}dtype")
    sensitivity = reader.get("sensitivity")
    if sensitivity not in SENSITIVITIES:
        raise ContractError(display, f"sensitivity {sensitivity!r} is not one of "
                            f"{', '.join(SENSITIVITIES)}", line=reader.line("sensitivity"),
                            field=f"{prefix}sensitivity")
    low = reader.number("min", prefix)
    high = reader.number("max", prefix)
    if (low is not None or high is not None) and dtype not in ("int64", "float64"):
        raise ContractError(display, f"min/max apply to numeric features, not {dtype}",
                            line=reader.line("min" if low is not None else "max"),
                            field=f"{prefix}{'min' if low is not None else 'max'}")
    if low is not None and high is not None and low > high:
        raise ContractError(display, f"min {low} is greater than max {high}",
                            line=reader.line("min"), field=f"{prefix}min")
    allowed = reader.get("allowed_values")
    if allowed is not None:
        if not isinstance(allowed, list) or not allowed:
            raise ContractError(display, "expected a non-empty list of values",
                                line=reader.line("allowed_values"),
                                field=f"{prefix}allowed_values")
        for value in allowed:
            problem = check_value(dtype, value)
            if value is None:
                problem = "null is not a value: nulls are checked by `max_null_rate`; remove it"
            if problem:
                raise ContractError(display, f"allowed value {problem}",
                                    line=reader.line("allowed_values"),
                                    field=f"{prefix}allowed_values")
            if isinstance(value, str):
                reader.clean(value, "allowed_values", prefix)
        allowed = tuple(allowed)
    skew = reader.get("skew") or {}
    skew_reader = _Reader(display, skew, "a skew threshold", line=reader.line("skew"))
    skew_reader.check_fields(SKEW_FIELDS, prefix=f"{prefix}skew.")
    max_psi = skew_reader.number("max_psi", f"{prefix}skew.", 0, None)
    max_diff = skew_reader.number("max_null_rate_diff", f"{prefix}skew.", 0, 1)
    min_sample = skew_reader.number("min_sample", f"{prefix}skew.", 1, 10**9)
    if min_sample is not None and not min_sample.is_integer():
        raise ContractError(display, f"expected a whole number of values, got {min_sample:g}",
                            line=skew_reader.line("min_sample"),
                            field=f"{prefix}skew.min_sample")
    return Feature(
        name=name,
        dtype=dtype,
        sensitivity=sensitivity,
        description=reader.text("description", prefix, multiline=True),
        default=_parse_default(reader, dtype, prefix),
        max_null_rate=reader.number("max_null_rate", prefix, 0, 1),
        min=low,
        max=high,
        allowed_values=allowed,
        max_psi=DEFAULT_MAX_PSI if max_psi is None else max_psi,
        max_null_rate_diff=DEFAULT_MAX_NULL_RATE_DIFF if max_diff is None else max_diff,
        skew_min_sample=DEFAULT_SKEW_MIN_SAMPLE if min_sample is None else int(min_sample),
    )


def load_view(path: Path, entities: dict[str, Entity], display: str | None = None) -> FeatureView:
    """Load and validate one contract file against the project's entities; its base
    version (``load_view_versions`` gives every version)."""
    return load_view_versions(path, entities, display)[0]


def load_view_versions(path: Path, entities: dict[str, Entity],
                       display: str | None = None) -> list[FeatureView]:
    """Every version one contract file declares, the base first, each validated."""
    display = display or f"feature_defs/{path.name}"
    reader = _Reader(display, load_yaml(path, display), "a feature view")
    reader.check_fields(VIEW_FIELDS)
    name = reader.identifier("name")
    if name == "spine":  # the as-of join's alias of the spine, next to each view's own
        raise reader.error("name", "`spine` is what the training-set join calls the spine; "
                           "rename the view (and its file)")
    if name != path.stem:
        raise reader.error("name", f"the view is named `{name}` but its file is "
                           f"`{path.name}`: rename one so they match")
    version = reader.get("version")
    if (isinstance(version, bool) or not isinstance(version, int)
            or not 1 <= version <= MAX_VERSION):
        raise reader.error("version", f"expected a whole number from 1 to {MAX_VERSION}, got "
                           f"{version!r}")
    entity_name = reader.get("entity")
    if entity_name not in entities:
        raise reader.error("entity", f"unknown entity {entity_name!r}"
                           f"{suggest(entity_name, entities)}; entities are declared in "
                           f"feature_defs/{ENTITIES_FILE}")
    entity = entities[entity_name]
    timestamp = reader.identifier("timestamp")
    created = reader.identifier("created_timestamp") if reader.get("created_timestamp") else None
    online = reader.get("online", True)
    if not isinstance(online, bool):
        raise reader.error("online", f"expected true or false, got {online!r}")
    tags = reader.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise reader.error("tags", "expected a list of words")
    for tag in tags:
        reader.clean(tag, "tags")
    raw_features = reader.get("features")
    if not isinstance(raw_features, list) or not raw_features:
        raise reader.error("features", "expected a non-empty list of features")
    features = []
    taken = set(entity.key_names) | {timestamp} | ({created} if created else set())
    for index, raw in enumerate(raw_features):
        line = raw.line if isinstance(raw, LineDict) else reader.line("features")
        feature = _load_feature(display, raw, line, index)
        if feature.name in taken or feature.name in RESERVED_NAMES:
            raise ContractError(display, f"feature name `{feature.name}` is taken by a key, "
                                "a timestamp or featurestore's own bookkeeping; rename it",
                                line=line, field=f"features.{feature.name}.name")
        taken.add(feature.name)
        features.append(feature)
    compare = _load_compare(reader)
    base = FeatureView(
        name=name,
        version=version,
        entity=entity,
        source=reader.identifier("source"),
        timestamp=timestamp,
        created_timestamp=created,
        ttl_seconds=reader.duration("ttl"),
        freshness_slo_seconds=reader.duration("freshness_slo"),
        online=online,
        owner=reader.text("owner"),
        description=reader.text("description", multiline=True),
        tags=tuple(tags),
        features=tuple(features),
        path=display,
        lines=dict(reader.mapping.key_lines) if isinstance(reader.mapping, LineDict) else {},
        compare=compare,
    )
    reserved = set(entity.key_names) | {timestamp} | ({created} if created else set())
    return _load_versions(reader, base, reserved)


def _load_compare(reader: _Reader) -> CompareThresholds | None:
    raw = reader.get("compare")
    if raw is None:
        return None
    compare = _Reader(reader.path, raw, "the compare thresholds", line=reader.line("compare"))
    compare.check_fields(COMPARE_FIELDS, prefix="compare.")
    max_psi = compare.number("max_psi", "compare.", 0, None)
    max_diff = compare.number("max_null_rate_diff", "compare.", 0, 1)
    return CompareThresholds(
        max_psi=DEFAULT_MAX_PSI if max_psi is None else max_psi,
        max_null_rate_diff=DEFAULT_MAX_NULL_RATE_DIFF if max_diff is None else max_diff,
        max_changed_share=compare.number("max_changed_share", "compare.", 0, 1))


def _load_versions(reader: _Reader, base: FeatureView, reserved: set[str]) -> list[FeatureView]:
    """The base version, then each later version of ``versions:``, each derived from the
    one before it (features dropped, added, replaced; ttl, SLO, description)."""
    import dataclasses

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
        entry = _Reader(display, item, "a version", line=line)
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


def _version_features(entry: _Reader, previous: FeatureView, prefix: str,
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
            feature = _load_feature(display, raw, line, index, base=f"{prefix}{key}")
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


def load_catalog(feature_defs: Path) -> Catalog:
    """Load every contract in ``feature_defs``; the first problem found is raised."""
    entities = load_entities(feature_defs)
    views: dict[str, FeatureView] = {}
    versions: dict[str, dict[int, FeatureView]] = {}
    sources: dict[str, str] = {}
    for path in sorted(feature_defs.glob("*.yml")) + sorted(feature_defs.glob("*.yaml")):
        if path.name in (ENTITIES_FILE, "entities.yaml"):
            continue
        found = load_view_versions(path, entities)
        view = found[0]
        if view.source in sources:
            raise ContractError(view.path, f"source `{view.source}` is already the source of "
                                f"view `{sources[view.source]}`; one model feeds one view",
                                line=view.line_of("source"), field="source")
        sources[view.source] = view.name
        views[view.name] = view
        if len(found) > 1:
            versions[view.name] = {v.version: v for v in found}
    return Catalog(entities, views, versions)
