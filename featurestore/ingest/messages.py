"""How ingest quotes what it did not write: file names, values, a reader's complaint.

Everything a landed file carries is hostile until escaped: a name with a newline would
forge a progress line, a link to ``/etc/passwd`` read as CSV would put its lines in a
parse error. So a message quotes at most ``LIMIT`` characters of any such text, with
control characters escaped the way ``repr`` escapes them, and never the file's content
beyond the one value it is about.
"""

from __future__ import annotations

import datetime as dt

LIMIT = 200  # characters of one quoted value


class Refused(Exception):
    """A landed file that does not fit its table; the message says why, already escaped."""


def printable(text: str) -> str:
    """``text`` as is when every character prints, else its escaped ``repr`` (quoted):
    a file name can never start a new line of a log."""
    return text if text.isprintable() else repr(text)


def column_name(name: str) -> str:
    """A column name from a file, in backticks as messages write names; escaped and cut
    when it would not print as one short line."""
    if name.isprintable() and len(name) <= LIMIT and "`" not in name:
        return f"`{name}`"
    return excerpt(name)


def excerpt(value: object, limit: int = LIMIT) -> str:
    """A bounded, escaped quotation of one value: strings as ``repr`` shows them (quotes
    and escapes), others as they print; longer than ``limit`` characters: cut, with the
    length said."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, dt.datetime):
        text = value.isoformat(sep=" ")
    elif isinstance(value, str | bytes):
        text = repr(value[:limit])
        if len(value) > limit:
            text += f"... ({len(value):,} characters)"
        return text
    else:
        text = str(value)
    text = text if text.isprintable() else repr(text)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def complaint(exc: BaseException) -> str:
    """A reader's error message (pyarrow quotes the offending line) as an excerpt."""
    text = str(exc).strip()
    text = text if text.isprintable() else repr(text)[1:-1]
    return text if len(text) <= LIMIT else f"{text[:LIMIT]}..."
