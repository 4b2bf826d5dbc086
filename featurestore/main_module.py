"""Importing pyspark from a ``python -c`` process without it ending the process.

pyspark's Spark Connect module calls ``sys.exit(0)`` when it is imported from a main
module that has neither ``__spec__`` nor ``__file__`` (``python -c "..."``), taking that
for a doctest run. Great Expectations imports it whenever pyspark is installed (the
`spark` extra), and so does the Spark dialect: a gate or a Spark build run from such a
script would stop half-way and report success. ``script_main()`` gives such a main
module a ``__file__`` while the import runs, then leaves it as it was.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def script_main() -> Iterator[None]:
    main = sys.modules.get("__main__")
    borrowed = (main is not None and getattr(main, "__spec__", None) is None
                and not hasattr(main, "__file__") and not hasattr(sys, "ps1"))
    if borrowed:
        main.__file__ = "<string>"
    try:
        yield
    finally:
        if borrowed:
            del main.__file__
