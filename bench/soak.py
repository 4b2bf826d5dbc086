"""Issue 17's soak as a benchmark: `featurestore run --once` for N cycles (500 by default)
with faults drawn from a seed and the invariant checker after every cycle (the same soak
as tests/soak/test_soak.py, which runs 20).

    python bench/soak.py [--cycles 500] [--minutes M] [--seed N] [--dir /tmp/featurestore-soak]

Prints one line per cycle, then the figures: cycles run, faults per kind, exit codes,
lookups made, invariant violations (0 is the promise), seconds, and the machine (cores,
memory, load average before and after). Exits 1 if an invariant was violated.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


def machine() -> dict:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cores": os.cpu_count(), "memory_gib": round(memory, 1),
            "load_average": [round(x, 2) for x in os.getloadavg()]}


def main() -> int:
    from tests.soak.soak import Soak

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=500)
    parser.add_argument("--minutes", type=float, default=None,
                        help="Start no cycle after this many minutes (the figures say how "
                             "many ran).")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/featurestore-soak"))
    args = parser.parse_args()
    seed = secrets.randbelow(2**31) if args.seed is None else args.seed
    shutil.rmtree(args.dir, ignore_errors=True)
    before = machine()
    print(f"soak: {args.cycles} cycles, seed {seed}, in {args.dir}; machine {before}",
          flush=True)
    started = time.monotonic()
    soak = Soak(args.dir, seed, args.cycles, say=lambda line: print(line, flush=True))
    setup = time.monotonic() - started
    try:
        figures = soak.run(until=None if args.minutes is None
                           else started + args.minutes * 60)
    finally:
        soak.close()
    figures.update(setup_seconds=round(setup, 1), machine_before=before,
                   machine_after=machine())
    for violation in soak.record.violations:
        print(f"VIOLATION {violation}")
    print(json.dumps(figures, indent=1))
    return 1 if soak.record.violations else 0


if __name__ == "__main__":
    sys.exit(main())
