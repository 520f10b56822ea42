"""How long every interactive figure of the course takes to redraw after a control moves:
the old full redraw against the in-place one, in the same run.

    .venv/bin/python benchmarks/widgets.py [--changes 120] [--seed 0] [--only StrideExplorer]
                                           [--by-control]

For each widget, as its notebook creates it, two copies are made: one redrawing the old way
(``full_redraw = True``: clear the figure, draw it all, lay it out, save a PNG) and one
redrawing in place (artists updated, static parts kept as a background, see
:mod:`stridelab.widgets`). Both get the same random sequence of control changes — sliders
and drop-downs, including settings that cannot be drawn, which show a message instead of a
figure and are left out of the times — one change at a time, in alternating order, so that
whatever else the machine is doing weighs on both alike. Prints per widget the median,
90th percentile and maximum wall-clock time per redraw of each way, the median and maximum
processor time (which waiting for a busy processor does not inflate), and their ratio; the
same for the changes to settings not seen before (a widget keeps pictures of the last few
settings: going back to one costs next to nothing); then the check of the budget, in place:
a median under 50 ms and no redraw over 100 ms, by the wall clock (exit status 1 if a widget
misses it) and by processor time (which tells a slow redraw from a busy machine). The
in-place redraw holds Python's garbage collector until the picture is out (see
:meth:`stridelab.widgets.InteractiveFigure.redraw`): a collection then runs between redraws,
outside these times. Numbers depend on the machine and on what else it runs (the
load average is printed alongside); ``--by-control`` splits them by control.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import ipywidgets as widgets  # noqa: E402
import numpy as np  # noqa: E402

MEDIAN_BUDGET_MS = 50.0
MAX_BUDGET_MS = 100.0


def course_widgets() -> dict[str, Callable[[], object]]:
    """Every interactive figure, made as its notebook makes it (numpy's functions standing
    in for the learner's)."""
    from grader.exercises._common import DUMOULIN_W, DUMOULIN_X
    from stridelab.architectures import ResNetExplorer
    from stridelab.backprop import ConvMatrixExplorer
    from stridelab.dotproduct import WindowSlider
    from stridelab.downsampling import AliasingLab
    from stridelab.featuremaps import FeatureMapExplorer
    from stridelab.stride import StrideExplorer

    return {
        "WindowSlider (01)": lambda: WindowSlider(DUMOULIN_X, DUMOULIN_W),
        "StrideExplorer (02)": lambda: StrideExplorer(n=8, k=3, stride=2, padding=0),
        "AliasingLab (03)": lambda: AliasingLab(stride=2, shift=1, pattern="zone plate"),
        "FeatureMapExplorer (04)": lambda: FeatureMapExplorer(),
        "ResNetExplorer (06)": lambda: ResNetExplorer(),
        "ConvMatrixExplorer (07)": lambda: ConvMatrixExplorer(n=7, k=3, s=2),
    }


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def controls(widget: object) -> dict[str, widgets.Widget]:
    """The widget's sliders and drop-downs by description (a Play button moves a slider)."""
    return {control.description: control for control in widget.controls
            if not isinstance(control, widgets.Play)}


def random_change(control: widgets.Widget, rng: np.random.Generator) -> object | None:
    """Another value for ``control``, or ``None`` when it has only one."""
    if isinstance(control, widgets.Dropdown):
        choices = [value for _, value in control.options if value != control.value] \
            if isinstance(control.options[0], tuple) else \
            [value for value in control.options if value != control.value]
    else:
        choices = [v for v in range(control.min, control.max + 1, control.step)
                   if v != control.value]
    return choices[int(rng.integers(len(choices)))] if choices else None


def summary(values: list[float]) -> tuple[float, float, float]:
    return statistics.median(values), percentile(values, 0.9), max(values)


def measure(make: Callable[[], object], changes: int, seed: int) -> dict[str, object]:
    """Times per change of a full-redraw copy and an in-place copy of one widget."""
    full, fast = make(), make()
    full.full_redraw = True
    full.redraw()                                   # its first redraw the old way: a warm-up
    rng = np.random.default_rng(seed)
    times: dict[str, dict[str, list[float]]] = {"full": {}, "fast": {}}
    first: dict[str, list[float]] = {"full": [], "fast": []}
    cpu: dict[str, list[float]] = {"full": [], "fast": []}
    seen = {settings(fast)}
    problems = 0
    for number in range(changes):
        name = str(rng.choice(sorted(controls(fast))))
        value = random_change(controls(fast)[name], rng)
        if value is None:
            continue
        order = (("full", full), ("fast", fast)) if number % 2 else (("fast", fast), ("full", full))
        for way, widget in order:
            controls(widget)[name].value = value
            if widget.problem():
                continue
            times[way].setdefault(name, []).append(1000 * widget.last_redraw_seconds)
            cpu[way].append(1000 * widget.last_redraw_cpu_seconds)
            if settings(widget) not in seen:
                first[way].append(1000 * widget.last_redraw_seconds)
        seen.add(settings(fast))
        problems += bool(fast.problem())
        if not fast.problem() and fast.describe() != full.describe():
            raise AssertionError(f"the two ways disagree on {settings(fast)}")
    return {"times": times, "first": first, "cpu": cpu, "problems": problems}


def settings(widget: object) -> tuple:
    """The values of every control: a redraw to settings not seen before cannot reuse a
    picture of them."""
    return tuple(control.value for control in widget.controls
                 if not isinstance(control, widgets.Play))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=120, help="control changes per widget")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random changes")
    parser.add_argument("--only", default="", help="only widgets whose name contains this")
    parser.add_argument("--by-control", action="store_true", help="times per control too")
    args = parser.parse_args(argv)

    print(f"{args.changes} random control changes per widget; load average "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; times in ms per redraw "
          f"(figure, PNG and caption)")
    header = (f"{'widget':<24} {'way':<9} {'redraws':>7} {'median':>7} {'p90':>7} {'max':>7}"
              f" {'CPU median':>10} {'CPU max':>7}   {'new settings: n':>15} {'median':>7}"
              f" {'max':>7}")
    print(header)
    failed, failed_cpu = [], []
    for index, (label, make) in enumerate(course_widgets().items()):
        if args.only.lower() not in label.lower():
            continue
        result = measure(make, args.changes, args.seed + index)
        rows = {}
        for way, title in (("full", "full"), ("fast", "in place")):
            every = [t for values in result["times"][way].values() for t in values]
            rows[way] = summary(every)
            median, p90, most = rows[way]
            new = result["first"][way]
            print(f"{label if way == 'full' else '':<24} {title:<9} {len(every):>7} "
                  f"{median:>7.1f} {p90:>7.1f} {most:>7.1f} "
                  f"{statistics.median(result['cpu'][way]):>10.1f} "
                  f"{max(result['cpu'][way]):>7.1f}   {len(new):>15} "
                  + (f"{statistics.median(new):>7.1f} {max(new):>7.1f}" if new else ""))
            if args.by_control:
                for name, values in result["times"][way].items():
                    median, p90, most = summary(values)
                    print(f"{'':<24} {'  ' + name:<18.18} {median:>7.1f} {p90:>7.1f} "
                          f"{most:>7.1f}")
        ratio = [full / fast for full, fast in zip(rows["full"], rows["fast"])]
        print(f"{'':<24} {'ratio':<9} {'':>7} {ratio[0]:>6.1f}× {ratio[1]:>6.1f}× "
              f"{ratio[2]:>6.1f}×   ({result['problems']} changes to settings that cannot "
              f"be drawn left out)")
        median, _, most = rows["fast"]
        if median >= MEDIAN_BUDGET_MS or most >= MAX_BUDGET_MS:
            failed.append(label)
        cpu = result["cpu"]["fast"]
        if statistics.median(cpu) >= MEDIAN_BUDGET_MS or max(cpu) >= MAX_BUDGET_MS:
            failed_cpu.append(label)
    for clock, missed in (("wall-clock", failed), ("processor time", failed_cpu)):
        print(f"budget, in place, {clock}: median under {MEDIAN_BUDGET_MS:.0f} ms and every "
              f"redraw under {MAX_BUDGET_MS:.0f} ms — "
              + (f"missed by {', '.join(missed)}" if missed else "met by every widget"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
