"""How long each solution notebook takes top to bottom in a fresh kernel, against its budget.

    .venv/bin/python benchmarks/notebooks.py            # every solution notebook
    .venv/bin/python benchmarks/notebooks.py 07 08      # those whose names begin so

Runs each notebook as the tests do (nbclient, a new ``python3`` kernel, from kernel start to
the last cell) and prints its wall-clock seconds beside its budget — notebook 07 (which
trains twelve small networks) under 90 s and notebook 08 under 20 s on two cores — and what
share of the budget it used. Exit status 1 if a notebook misses its budget. The machine's
load average is printed alongside: on a busy machine the times grow, which is why this is a
benchmark and not a test.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
BUDGETS = {"07_training": 90.0, "08_dilation_and_dense_prediction": 20.0}
"""Seconds a solution notebook may take top to bottom on two cores."""


def seconds_to_run(path: Path) -> float:
    """Wall-clock seconds from kernel start to the end of the last cell."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    started = time.perf_counter()
    client.execute()
    return time.perf_counter() - started


def main(prefixes: list[str]) -> int:
    paths = sorted(p for p in (ROOT / "solutions").glob("*.ipynb")
                   if not prefixes or p.stem.startswith(tuple(prefixes)))
    if not paths:
        print(f"no solution notebook begins with {' or '.join(prefixes)}", file=sys.stderr)
        return 2
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"{'notebook':<36}{'seconds':>9}{'budget':>9}{'used':>8}")
    missed = []
    for path in paths:
        seconds = seconds_to_run(path)
        budget = BUDGETS.get(path.stem)
        used = f"{seconds / budget:.0%}" if budget else ""
        print(f"{path.stem:<36}{seconds:>9.1f}{budget or '':>9}{used:>8}", flush=True)
        if budget and seconds >= budget:
            missed.append(path.stem)
    if missed:
        print(f"over budget: {', '.join(missed)}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
