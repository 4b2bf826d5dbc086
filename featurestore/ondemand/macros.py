"""The subset's macros: names that expand, at load time, into subset expressions.

A macro is text in the subset itself, its parameters replaced by the caller's argument
trees, so it adds no construct the warehouses or the evaluator must learn: whatever it
expands to is checked like any other expression, and parity of the parts is parity of
the whole.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Macro:
    params: tuple[str, ...]
    body: str
    summary: str


MACROS: dict[str, Macro] = {
    # haversine on a sphere of the mean Earth radius (IUGG, 6371.0088 km); the argument of
    # asin is capped at 1, which rounding can pass for antipodal points
    "haversine_km": Macro(
        ("lat1", "lon1", "lat2", "lon2"),
        "2 * 6371.0088 * asin(least(1, sqrt("
        "sin(radians(lat2 - lat1) / 2) * sin(radians(lat2 - lat1) / 2)"
        " + cos(radians(lat1)) * cos(radians(lat2))"
        " * sin(radians(lon2 - lon1) / 2) * sin(radians(lon2 - lon1) / 2))))",
        "great-circle distance in km between two points given in degrees"),
    "clip": Macro(("x", "low", "high"), "least(greatest(x, low), high)",
                  "x bounded to [low, high]; NULL if any argument is NULL"),
    "zscore": Macro(("x", "mean", "std"), "(x - mean) / std",
                    "(x - mean) / std as float64; NULL when std is 0"),
}
