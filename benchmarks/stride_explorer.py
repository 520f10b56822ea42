"""How long the stride explorer (notebook 02) takes to redraw after a slider moves.

    .venv/bin/python benchmarks/stride_explorer.py [--changes 200] [--seed 0]

Moves the explorer's sliders at random — input size, kernel, stride, padding and the
highlighted window, including settings where no window fits — and times every redraw the
way the widget does it (figure, PNG, caption). Prints the median, 90th percentile and
maximum wall-clock time per change, split by slider, how the median compares with the
100 ms a redraw should stay well under, and the CPU time the process spent per change
(which other programs competing for the cores inflate much less). Nothing is asserted:
the numbers depend on the machine and on what else it is running (the load average is
printed alongside).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stridelab.stride import StrideExplorer  # noqa: E402

BUDGET_MS = 100.0


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=200, help="slider moves to time")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random moves")
    args = parser.parse_args(argv)

    import numpy as np

    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    explorer = StrideExplorer()
    print(f"first draw (figure set-up included): {1000 * (time.perf_counter() - started):.1f} ms")
    sliders = {"n": explorer.n, "k": explorer.k, "s": explorer.s, "p": explorer.p,
               "window": explorer.window}
    times: dict[str, list[float]] = {name: [] for name in sliders}
    cpu: list[float] = []
    problems = 0
    for _ in range(args.changes):
        name = str(rng.choice(list(sliders)))
        slider = sliders[name]
        choices = [v for v in range(slider.min, slider.max + 1) if v != slider.value]
        if not choices:
            continue
        cpu_started = time.process_time()
        slider.value = int(rng.choice(choices))
        cpu.append(1000 * (time.process_time() - cpu_started))
        times[name].append(1000 * explorer.last_redraw_seconds)
        problems += bool(explorer.problem())

    every = [t for values in times.values() for t in values]
    print(f"{len(every)} slider changes ({problems} of them to settings where no window fits, "
          f"which show a message instead of a figure); load average {os.getloadavg()[0]:.2f} "
          f"on {os.cpu_count()} cores")
    print(f"{'slider':<8} {'changes':>7} {'median ms':>10} {'p90 ms':>8} {'max ms':>8}")
    for name, values in times.items():
        if values:
            print(f"{name:<8} {len(values):>7} {statistics.median(values):>10.1f} "
                  f"{percentile(values, 0.9):>8.1f} {max(values):>8.1f}")
    median = statistics.median(every)
    print(f"{'all':<8} {len(every):>7} {median:>10.1f} {percentile(every, 0.9):>8.1f} "
          f"{max(every):>8.1f}")
    print(f"median / {BUDGET_MS:.0f} ms budget = {median / BUDGET_MS:.2f}; "
          f"{sum(t < BUDGET_MS for t in every)} of {len(every)} changes under budget")
    print(f"CPU time of this process per change (less sensitive to other processes): median "
          f"{statistics.median(cpu):.1f} ms, p90 {percentile(cpu, 0.9):.1f} ms, max {max(cpu):.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
