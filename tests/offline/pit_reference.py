"""A brute-force, pure-Python point-in-time join: the reference the SQL must equal.

Written as directly as the rules read (docs/architecture.md, "Point in time"), with no cleverness,
so that a disagreement points at the SQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def pick(rows: list[dict], spec: dict, keys: tuple, t: datetime | None,
         known_at_event: bool) -> dict | None:
    """The row used for (keys, t), or None: then every feature gets its default."""
    if t is None or any(k is None for k in keys):
        return None
    created = spec.get("created_timestamp")
    eligible = [
        r for r in rows
        if tuple(r[k] for k in spec["keys"]) == keys
        and r[spec["timestamp"]] is not None  # a row without a time is never visible
        and r[spec["timestamp"]] <= t
        and not (known_at_event and created and r[created] is not None and r[created] > t)
    ]
    if not eligible:
        return None

    def rank(r):
        # a tie on feature_ts goes to the later created_ts; an unknown one (null) loses
        return (r[spec["timestamp"]],
                r[created] if created and r[created] is not None else datetime.min)

    best = max(eligible, key=rank)
    ttl = spec.get("ttl_seconds")
    if ttl is not None and t - best[spec["timestamp"]] > timedelta(seconds=ttl):
        return None
    return best


def as_of_join(spine: list[dict], spine_columns: list[str], views: list[tuple[dict, list]],
               defaults: dict, event_ts: str = "event_ts",
               known_at_event: bool = False) -> list[tuple]:
    """Output rows as tuples in the macro's column order.

    ``views`` pairs each spec with its rows (dicts); ``defaults[(view, feature)]`` is the
    Python value of the feature's default_sql.
    """
    out = []
    for srow in spine:
        values = [srow[c] for c in spine_columns]
        for spec, rows in views:
            keys = tuple(srow[k] for k in spec["keys"])
            chosen = pick(rows, spec, keys, srow[event_ts], known_at_event)
            for feature in spec["features"]:
                name = feature["name"]
                values.append(chosen[name] if chosen else defaults[(spec["name"], name)])
            values.append(chosen[spec["timestamp"]] if chosen else None)
        out.append(tuple(values))
    return out


def utc_naive(value):
    """A timezone-aware datetime as naive UTC (its instant); anything else as it is."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def as_of_join_any_zone(spine: list[dict], spine_columns: list[str],
                        views: list[tuple[dict, list]], defaults: dict, *,
                        spine_aware: bool, event_ts: str = "event_ts",
                        known_at_event: bool = False) -> list[tuple]:
    """``as_of_join`` for inputs whose times may be timezone-aware, row by row.

    Every time is compared by its instant (as naive UTC), so the rules above apply
    unchanged. The output keeps the spine's form: the spine's columns exactly as given,
    and with an aware spine (``spine_aware``) each ``<view>__feature_ts`` aware at UTC;
    timestamp features come out as naive UTC.
    """
    naive_spine = [{c: utc_naive(v) for c, v in row.items()} for row in spine]
    naive_views = [(spec, [{c: utc_naive(v) for c, v in row.items()} for row in rows])
                   for spec, rows in views]
    rows = as_of_join(naive_spine, spine_columns, naive_views, defaults, event_ts,
                      known_at_event)
    feature_ts_at, position = [], len(spine_columns)
    for spec, _rows in views:
        position += len(spec["features"])
        feature_ts_at.append(position)
        position += 1
    out = []
    for original, row in zip(spine, rows, strict=True):
        values = [original[c] for c in spine_columns] + list(row[len(spine_columns):])
        if spine_aware:
            for index in feature_ts_at:
                if values[index] is not None:
                    values[index] = values[index].replace(tzinfo=UTC)
        out.append(tuple(values))
    return out


def assert_same_rows(got: list[tuple], expected: list[tuple], label: str) -> None:
    """The same rows, duplicates counted, whatever their order; both sorted in the message."""
    from collections import Counter

    def key(row):
        return tuple((v is None, str(v)) for v in row)

    assert Counter(got) == Counter(expected), (
        f"{label}:\ngot      {sorted(got, key=key)}\nexpected {sorted(expected, key=key)}")
