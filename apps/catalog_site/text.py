"""How the catalog writes times, durations and numbers: one spelling on every page."""

from __future__ import annotations

import datetime as dt


def human_seconds(seconds: float | None) -> str:
    """``5 min``, ``3 h 20 min``, ``12 d 4 h``: a lag or a latency as a person reads it."""
    if seconds is None:
        return "unknown"
    seconds = float(seconds)
    sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
    if seconds < 60:
        return f"{sign}{seconds:.0f} s"
    minutes = seconds / 60
    if minutes < 60:
        return f"{sign}{minutes:.0f} min"
    hours, minutes = divmod(int(minutes), 60)
    if hours < 48:
        return f"{sign}{hours} h" + (f" {minutes} min" if minutes else "")
    days, hours = divmod(hours, 24)
    return f"{sign}{days} d" + (f" {hours} h" if hours else "")


def when(moment: dt.datetime | None) -> str:
    """A moment in UTC to the second, or a dash."""
    if moment is None:
        return "-"
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def day(moment: dt.datetime | None) -> str:
    return "-" if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"
