"""Measurements and figures of notebook 05: what stride saves, measured on your machine.

Counting says a stride-``s`` layer does about ``1/s²`` of the stride-1 work and stores
``1/s²`` of the feature map. The helpers here check that with a clock: they time the
learner's ``conv2d_fast`` (or numpy's trusted version while it is not ready) at several
strides, against computing densely and subsampling, and against the naive loop.

>>> import numpy as np
>>> x, w = np.ones((1, 1, 4, 4)), np.ones((1, 1, 2, 2))
>>> naive_conv2d(x, w, stride=2)[0, 0]
array([[4., 4.],
       [4., 4.]])
>>> best_time(lambda: None, budget=0.01) < 0.01
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.patches import Rectangle

from stridelab.featuremaps import _conv_layer, _pair
from stridelab.learner import learner_or_fallback
from stridelab.timing import best_time
from stridelab.plotting import COLORS, FigureDisplay, log_ticks, new_figure

__all__ = ["SpeedComparison", "StrideTimings", "best_time", "compare_naive", "cost_figure",
           "memory_figure", "naive_conv2d", "time_strides"]

Size = int | tuple[int, int]


def naive_conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None,
                 stride: Size = 1, padding: Size = 0) -> np.ndarray:
    """The naive loop over output positions: one ``np.sum`` per output value. Slow on purpose."""
    (sh, sw), (ph, pw) = _pair(stride), _pair(padding)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    kh, kw = w.shape[2:]
    h_out, w_out = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
    out = np.zeros((x.shape[0], w.shape[0], h_out, w_out))
    for n in range(x.shape[0]):
        for o in range(w.shape[0]):
            for i in range(h_out):
                for j in range(w_out):
                    out[n, o, i, j] = np.sum(xp[n, :, i * sh:i * sh + kh, j * sw:j * sw + kw] * w[o])
    return out if b is None else out + np.asarray(b)[None, :, None, None]


def _macs(h: int, w: int, c_in: int, c_out: int, k: Size, stride: Size = 1,
          padding: Size = 0) -> int:
    (kh, kw), (sh, sw), (ph, pw) = _pair(k), _pair(stride), _pair(padding)
    return ((h + 2 * ph - kh) // sh + 1) * ((w + 2 * pw - kw) // sw + 1) * c_out * c_in * kh * kw


def _source(notes: set[str], name: str) -> str:
    mine = f"computed by your {name}"
    return mine if notes == {mine} else sorted(n for n in notes if n != mine)[0]


def cost_figure(conv_macs: Callable[..., int], size: int = 64, c_in: int = 16,
                c_out: int = 32, k: int = 3, padding: int = 1,
                strides: Sequence[int] = (1, 2, 3, 4)) -> FigureDisplay:
    """MACs and feature-map memory of one layer against stride, next to the ideal ``1/s²``."""
    macs, notes = [], set()
    for s in strides:
        value, note = learner_or_fallback(conv_macs, _macs, size, size, c_in, c_out, k, s, padding)
        macs.append(int(value))
        notes.add(note)
    outputs = [(size + 2 * padding - k) // s + 1 for s in strides]
    memory = [c_out * n * n * 8 / 1024 for n in outputs]  # float64, KiB
    fig = new_figure(10, 3.8)
    panels = fig.subplots(1, 2)
    for ax, values, label, unit in ((panels[0], [m / 1e6 for m in macs], "multiply-accumulates",
                                     "millions of MACs"),
                                    (panels[1], memory, "output feature map (float64)", "KiB")):
        ideal = [values[0] / s ** 2 for s in strides]
        ax.bar(strides, values, color=COLORS["blue"], width=0.6, label=label)
        ax.plot(strides, ideal, "o--", color=COLORS["orange"], label="ideal: stride-1 value / s²")
        # The savings go under the stride numbers, where nothing else is drawn.
        ax.set_xticks(list(strides), [f"{s}" if v == values[0] else f"{s}\n{values[0] / v:.2g}× less"
                                      for s, v in zip(strides, values)])
        ax.set_xlabel("stride s")
        ax.set_ylabel(unit)
        ax.legend()
    panels[0].set_title(f"work per image ({_source(notes, 'conv_macs')})", fontsize=10)
    panels[1].set_title("memory per image: C_out · H_out · W_out · 8 bytes", fontsize=10)
    fig.suptitle(f"A {k}×{k} layer, {c_in} → {c_out} channels, on {size}×{size} with padding "
                 f"{padding}: cost falls as 1/s²")
    ratios = ", ".join(f"{macs[0] / m:.1f}× less at stride {s}" for s, m in zip(strides[1:], macs[1:]))
    alt = (f"Two bar charts against stride {', '.join(map(str, strides))}: multiply-accumulates "
           f"({macs[0] / 1e6:.1f} million at stride 1; {ratios}) and output memory "
           f"({memory[0]:.0f} KiB at stride 1), each next to a dashed ideal curve 1/s² that the "
           "bars follow closely.")
    return FigureDisplay(fig, alt)


def _log_ticks(ax: Any, values: Sequence[float], axis: str = "y") -> None:
    """A log axis with plain-number ticks (1, 2, 5, 10, …) covering ``values``."""
    log_ticks(ax, values, axis)


def _choose(function: Callable[..., np.ndarray] | None, name: str, shape: tuple[int, ...],
            c_out: int) -> tuple[Callable[..., np.ndarray], str, str]:
    """``(function, label, note)``: the learner's function if it is right and fast enough to
    time at ``shape``, else numpy's; ``note`` says why numpy's was chosen (or is empty)."""
    if function is None:
        return _conv_layer, "numpy's version", ""
    rng = np.random.default_rng(0)
    probe_x = rng.standard_normal((1, shape[1], 16, 16))
    probe_w = rng.standard_normal((c_out, shape[1], 3, 3))
    _, note = learner_or_fallback(function, _conv_layer, probe_x, probe_w, None, 1, 1)
    if not note.startswith("computed by your"):
        return _conv_layer, "numpy's version", note.replace("the reference result is shown",
                                                             "numpy's version is timed")
    # A per-position loop would take minutes at full size: estimate from the probe first.
    probe = best_time(lambda: function(probe_x, probe_w, None, 1, 1), budget=0.05, max_repeats=3)
    scale = shape[0] * shape[2] * shape[3] / (16 * 16)
    if probe * scale > 1.0:
        return _conv_layer, "numpy's version", (
            f"numpy's version is timed: your {name} is right but would take about "
            f"{probe * scale:.0f} s per call here")
    return function, f"your {name}", ""


@dataclass(frozen=True)
class StrideTimings:
    """Measured times of one layer at several strides, computed directly and densely."""

    shape: tuple[int, ...]
    c_out: int
    strides: tuple[int, ...]
    direct: tuple[float, ...]
    """Seconds for the strided convolution, computed directly."""
    dense: tuple[float, ...]
    """Seconds for the stride-1 convolution followed by keeping every s-th value."""
    source: str
    """Whose implementation was timed: ``"your conv2d_fast"`` or ``"numpy's version"``."""
    note: str = ""
    """Why numpy's version was timed instead of the learner's, if it was."""
    repeats: int = 1
    """How many runs each time is the fastest of."""

    def speedups(self) -> list[float]:
        return [self.direct[0] / t for t in self.direct]

    def summary(self) -> str:
        """What was just measured, in one sentence."""
        ups = ", ".join(f"{up:.1f}× at stride {s} (ideal {s * s}×)"
                        for s, up in zip(self.strides[1:], self.speedups()[1:]))
        spread = max(self.dense) / min(self.dense)
        dense = ("took about the same at every stride, as it should" if spread < 1.3 else
                 f"varied by {spread:.1f}× although it does the same work at every stride: "
                 "something else was using the processor — run the cell again")
        return (f"Measured here: computed directly, the layer ran {ups} faster than at stride 1; "
                f"dense-then-subsample {dense}.")

    def __str__(self) -> str:
        n, c, h, w = self.shape
        lines = [f"({self.note})"] if self.note else []
        lines += [f"{self.source}, input {n}×{c}×{h}×{w}, {self.c_out} filters 3×3, padding 1:",
                 "stride   direct      dense, then subsample   speed-up over stride 1 (ideal s²)"]
        for s, t, d, up in zip(self.strides, self.direct, self.dense, self.speedups()):
            lines.append(f"{s:>6} {t * 1e3:>8.2f} ms {d * 1e3:>12.2f} ms {up:>20.1f}× ({s * s})")
        lines.append(f"(each time: the fastest of {self.repeats} runs, taken in turns)")
        lines.append(self.summary())
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))

    def figure(self) -> FigureDisplay:
        """Measured time against stride, direct and dense-then-subsample, with the ideal 1/s²."""
        fig = new_figure(8, 4)
        ax = fig.add_subplot()
        ms = lambda values: [v * 1e3 for v in values]  # noqa: E731
        ax.plot(self.strides, ms(self.direct), "o-", color=COLORS["blue"], linewidth=2,
                label="strided: only the windows that are kept")
        ax.plot(self.strides, ms(self.dense), "s-", color=COLORS["vermillion"], linewidth=2,
                label="dense, then subsample: every window, s² × the work")
        ax.plot(self.strides, [self.direct[0] * 1e3 / s ** 2 for s in self.strides], "--",
                color=COLORS["orange"], label="ideal: stride-1 time / s²")
        for s, t, up in zip(self.strides[1:], self.direct[1:], self.speedups()[1:]):
            ax.annotate(f"{up:.1f}×", (s, t * 1e3), textcoords="offset points", xytext=(6, 6),
                        fontsize=9)
        _log_ticks(ax, [*ms(self.direct), *ms(self.dense)])
        ax.set_xticks(list(self.strides))
        ax.set_xlabel("stride s")
        ax.set_ylabel("time per call (ms, log scale)")
        ax.set_title(f"Measured on this machine ({self.source})")
        ax.legend(fontsize=9)
        ax.grid(alpha=0.3)
        ups = ", ".join(f"{up:.1f}× at stride {s}"
                        for s, up in zip(self.strides[1:], self.speedups()[1:]))
        alt = (f"Measured time per call against stride on a log scale. The strided convolution "
               f"takes {self.direct[0] * 1e3:.1f} ms at stride 1 and speeds up {ups}, close to "
               "the dashed ideal 1/s² line; computing densely and then subsampling stays at "
               f"about {np.mean(self.dense) * 1e3:.1f} ms whatever the stride.")
        return FigureDisplay(fig, alt)


def time_strides(conv2d_fast: Callable[..., np.ndarray] | None,
                 shape: tuple[int, int, int, int] = (8, 16, 64, 64), c_out: int = 32,
                 strides: Sequence[int] = (1, 2, 3, 4), budget: float = 1.5,
                 max_repeats: int = 9) -> StrideTimings:
    """Time one 3×3, padding-1 layer at each stride: directly, and dense-then-subsample.

    After a warm-up call, every measurement is taken in turns — each stride directly, then
    densely, then again — until ``budget`` seconds are spent or ``max_repeats`` rounds are
    done (at least three), and each time is the fastest of its runs: a busy moment of the
    machine then hits every stride alike, and a short run gets as many tries as a long one.
    """
    function, source, note = _choose(conv2d_fast, "conv2d_fast", shape, c_out)
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape)
    w = rng.standard_normal((c_out, shape[1], 3, 3))
    function(x, w, None, 1, 1)  # warm-up: first calls pay for allocations and einsum's planning
    runs = {}
    for s in strides:
        runs[("direct", s)] = lambda s=s: function(x, w, None, s, 1)
        runs[("dense", s)] = lambda s=s: function(x, w, None, 1, 1)[:, :, ::s, ::s]
    times: dict[tuple[str, int], list[float]] = {key: [] for key in runs}
    spent, rounds = 0.0, 0
    while rounds < 3 or (spent < budget and rounds < max_repeats):
        for key, run in runs.items():
            times[key].append(best_time(run, budget=0.0, max_repeats=1))
            spent += times[key][-1]
        rounds += 1
    return StrideTimings(tuple(shape), c_out, tuple(strides),
                         tuple(min(times[("direct", s)]) for s in strides),
                         tuple(min(times[("dense", s)]) for s in strides), source, note, rounds)


@dataclass(frozen=True)
class SpeedComparison:
    """The naive loop against a vectorised convolution on the same layer."""

    description: str
    naive: float
    fast: float
    source: str
    note: str = ""

    @property
    def speedup(self) -> float:
        return self.naive / self.fast

    def __str__(self) -> str:
        return ((f"({self.note})\n" if self.note else "")
                + f"{self.description}\n  naive loop over output positions: {self.naive * 1e3:9.2f} ms"
                f"\n  {self.source + ':':<33} {self.fast * 1e3:9.3f} ms"
                f"\n  speed-up: {self.speedup:.0f}×")

    def __repr__(self) -> str:
        return str(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))

    def figure(self) -> FigureDisplay:
        fig = new_figure(7, 2.6)
        ax = fig.add_subplot()
        labels = ["naive loop", self.source]
        values = [self.naive * 1e3, self.fast * 1e3]
        ax.barh(labels, values, color=[COLORS["vermillion"], COLORS["blue"]])
        _log_ticks(ax, [min(values) / 2, max(values) * 5], axis="x")
        for y, v in enumerate(values):
            ax.text(v, y, f" {v:.3g} ms", va="center", fontsize=10)
        ax.set_xlim(min(values) / 3, max(values) * 8)
        ax.set_xlabel("time per call (ms, log scale)")
        ax.set_title(f"Same result, {self.speedup:.0f}× faster without the Python loop")
        alt = (f"Two horizontal bars on a log scale: the naive loop takes {values[0]:.3g} ms, "
               f"{self.source} {values[1]:.3g} ms, {self.speedup:.0f} times faster.")
        return FigureDisplay(fig, alt)


def compare_naive(conv2d_fast: Callable[..., np.ndarray] | None,
                  shape: tuple[int, int, int, int] = (2, 8, 32, 32), c_out: int = 8) -> SpeedComparison:
    """Time the naive loop and ``conv2d_fast`` on one small layer (3×3, padding 1)."""
    function, source, note = _choose(conv2d_fast, "conv2d_fast", shape, c_out)
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape)
    w = rng.standard_normal((c_out, shape[1], 3, 3))
    function(x, w, None, 1, 1)  # warm-up
    # The naive loop takes a tenth of a second or more: the fastest of a few runs is steady.
    naive = best_time(lambda: naive_conv2d(x, w, None, 1, 1), budget=0.3, max_repeats=3)
    fast = best_time(lambda: function(x, w, None, 1, 1), budget=0.1, max_repeats=20)
    n, c, h, ww = shape
    return SpeedComparison(f"input {n}×{c}×{h}×{ww}, {c_out} filters 3×3, stride 1, padding 1 "
                           f"({n * c_out * h * ww:,} output values)", naive, fast, source, note)


def memory_figure(shape: tuple[int, int] = (4, 5), kernel: tuple[int, int] = (2, 3),
                  corner: tuple[int, int] = (1, 1), itemsize: int = 8) -> FigureDisplay:
    """A 2-D array, its flat memory, and where one window's elements sit in that memory."""
    rows, cols = shape
    kh, kw = kernel
    i, j = corner
    row_stride, col_stride = cols * itemsize, itemsize
    inside = {(i + a) * cols + (j + b) for a in range(kh) for b in range(kw)}
    fig = new_figure(11, 4.2)
    grid_ax, memory_ax = fig.subplots(2, 1, gridspec_kw={"height_ratios": [rows, 1.6]})
    for r in range(rows):
        for c in range(cols):
            index = r * cols + c
            hit = index in inside
            grid_ax.add_patch(Rectangle((c, rows - 1 - r), 1, 1, facecolor=COLORS["orange"] if hit
                                        else "white", edgecolor="black"))
            grid_ax.text(c + 0.5, rows - 0.5 - r, f"x[{r},{c}]", ha="center", va="center",
                         fontsize=9)
    grid_ax.set_xlim(-0.2, cols + 0.2)
    grid_ax.set_ylim(-0.2, rows + 0.2)
    grid_ax.set_aspect("equal")
    grid_ax.set_xticks([c + 0.5 for c in range(cols)], [str(c) for c in range(cols)])
    grid_ax.set_yticks([rows - 0.5 - r for r in range(rows)], [str(r) for r in range(rows)])
    grid_ax.set_xlabel("column")
    grid_ax.set_ylabel("row")
    grid_ax.set_title(f"the array x, shape {shape}: the {kh}×{kw} window at ({i}, {j})",
                      fontsize=10)
    for index in range(rows * cols):
        hit = index in inside
        memory_ax.add_patch(Rectangle((index, 0), 1, 1, facecolor=COLORS["orange"] if hit
                                      else "white", edgecolor="black"))
        memory_ax.text(index + 0.5, 0.5, str(index * itemsize), ha="center", va="center",
                       fontsize=7)
    memory_ax.set_xlim(-0.2, rows * cols + 0.2)
    memory_ax.set_ylim(-0.1, 1.1)
    memory_ax.set_yticks([])
    memory_ax.set_xticks([])
    memory_ax.set_xlabel(f"memory, byte offsets: one row is {row_stride} bytes, one column "
                         f"{col_stride} bytes, so x.strides == ({row_stride}, {col_stride})")
    start = (i * cols + j) * itemsize
    fig.suptitle(f"Element (r, c) lives at byte r·{row_stride} + c·{col_stride}; this window starts "
                 f"at byte {start}.\nA view with strides ({row_stride}, {col_stride}, {row_stride}, "
                 f"{col_stride}) reaches every window without copying a byte.")
    alt = (f"A {rows}×{cols} array drawn as a grid above its memory, a single row of "
           f"{rows * cols} cells labelled with byte offsets 0 to {(rows * cols - 1) * itemsize}. "
           f"The {kh}×{kw} window at row {i}, column {j} is shaded in both: in memory its "
           f"elements form {kh} runs of {kw} neighbours, {row_stride} bytes apart.")
    return FigureDisplay(fig, alt)
