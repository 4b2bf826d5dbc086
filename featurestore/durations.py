"""Durations as contracts write them (``90s``, ``15m``, ``1h``, ``7d``, ``2w``).

One parser for TTLs, freshness SLOs and rolling windows, so that ``7d`` means the same
number of seconds in a contract, a macro argument and the lookup endpoint.
"""

from __future__ import annotations

import re

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PATTERN = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")


def parse_duration(text: object) -> int:
    """Return the number of seconds in ``text``; raise ValueError with the accepted forms."""
    if isinstance(text, bool) or not isinstance(text, str | int):
        raise ValueError(f"expected a duration like 30d, 12h, 15m or 90s, got {text!r}")
    match = _PATTERN.match(str(text))
    if not match or int(match.group(1)) == 0:
        raise ValueError(
            f"expected a positive duration like 30d, 12h, 15m or 90s, got {text!r}"
        )
    return int(match.group(1)) * _UNITS[match.group(2)]


def format_duration(seconds: int) -> str:
    """The shortest exact spelling of ``seconds`` in the units contracts use."""
    for unit in ("d", "h", "m"):
        if seconds % _UNITS[unit] == 0:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"
