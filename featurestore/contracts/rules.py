"""What a contract may hold: its fields, the names it may not use, its bounds, its text.

The tables the loaders check every YAML mapping against, and the two small judgments
every loader shares (is this text, which name did the author mean). Kept apart from the
loaders so that the lookup, the scaffold and the CLI read the same rules without loading
a contract.
"""

from __future__ import annotations

import difflib
import re
import unicodedata

ENTITIES_FILE = "entities.yml"
SENSITIVITIES = ("public", "internal", "pii")
# Attribute names the online item and the training set use for their own bookkeeping.
RESERVED_NAMES = frozenset(
    {"pk", "sk", "feature_ts", "written_at", "expires_at", "event_ts", "valid_from",
     "valid_to", "created_ts"}
)
IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")  # fullmatch: a trailing newline is no name

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
    "versions": False, "compare": False, "kind": False,
}
# a contract's `kind`: a stored view (the default) or an on-demand one
# (featurestore/contracts/on_demand.py)
KINDS = ("stored", "on_demand")
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



def suggest(name: str, options) -> str:
    """' (did you mean `x`?)' for the closest of ``options``, or nothing."""
    close = difflib.get_close_matches(str(name), list(options), n=1)
    return f" (did you mean `{close[0]}`?)" if close else ""
