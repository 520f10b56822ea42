"""Figures and the aliasing lab of notebook 03 (strided convolution, pooling, subsampling).

Demos take the learner's functions and fall back to numpy's answers until those work
(:func:`stridelab.learner.learner_or_fallback`), so the notebook runs top to bottom
before any exercise is done. The numpy versions here are the trusted answers the demos
compare against; they are written with ``sliding_window_view``, not as the exercises ask.

>>> lab = AliasingLab(stride=2, shift=1)
>>> lab.describe()[:46]
'Zone plate shifted right by 1 pixel, stride 2:'
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

import ipywidgets as widgets
import numpy as np
from matplotlib.axes import Axes
from matplotlib.image import AxesImage
from numpy.lib.stride_tricks import sliding_window_view

from stridelab._canvas import FastImage
from stridelab.data import grace_hopper
from stridelab.learner import learner_or_fallback
from stridelab.plotting import COLORS, DIVERGING, FigureDisplay, log_ticks, new_figure
from stridelab.timing import best_time
from stridelab.widgets import InteractiveFigure

__all__ = ["AliasingLab", "BINOMIAL", "CostTable", "Table", "antialiased_downsample",
           "blur_filter", "cost_figure", "measure_cost", "downsampling_gallery", "numpy_conv2d",
           "numpy_conv2d_strided", "pooling_as_convolution", "shift_demo_1d", "shift_sensitivity",
           "stripes", "zone_plate"]

BINOMIAL = np.outer([1.0, 2.0, 1.0], [1.0, 2.0, 1.0]) / 16
"""The 3×3 binomial blur of BlurPool (Zhang 2019): weights sum to 1."""
PREWITT_X = np.array([[-1.0, 0.0, 1.0]] * 3)
"""Vertical edges, as in notebook 01."""

Size = int | tuple[int, int]


def _pair(value: Size) -> tuple[int, int]:
    return (value, value) if isinstance(value, (int, np.integer)) else (int(value[0]), int(value[1]))


# --- numpy's answers (trusted; used when the learner's functions are not ready) ----------

def numpy_conv2d(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Valid cross-correlation, stride 1 (notebook 01's ``conv2d``, done by numpy)."""
    return np.einsum("ijkl,kl->ij", sliding_window_view(x, w.shape), w)


def numpy_conv2d_strided(x: np.ndarray, w: np.ndarray, stride: Size = 1,
                         padding: Size = 0) -> np.ndarray:
    """Zero-padded strided cross-correlation (notebook 02's ``conv2d_strided``, by numpy)."""
    (sh, sw), (ph, pw) = _pair(stride), _pair(padding)
    padded = np.pad(x, ((ph, ph), (pw, pw)))
    return np.einsum("ijkl,kl->ij", sliding_window_view(padded, w.shape)[::sh, ::sw], w)


def _subsample(y: np.ndarray, stride: Size) -> np.ndarray:
    sh, sw = _pair(stride)
    return y[::sh, ::sw]


def _pool(x: np.ndarray, size: Size, stride: Size | None = None, mode: str = "max") -> np.ndarray:
    kh, kw = _pair(size)
    sh, sw = _pair(size if stride is None else stride)
    windows = sliding_window_view(x, (kh, kw))[::sh, ::sw]
    return windows.max(axis=(2, 3)) if mode == "max" else windows.mean(axis=(2, 3))


def _blur(x: np.ndarray) -> np.ndarray:
    return numpy_conv2d(np.pad(x, 1, mode="reflect"), BINOMIAL)


def _blur_downsample(x: np.ndarray, stride: Size = 2) -> np.ndarray:
    """The exercise's recipe: the 3×3 binomial, whatever the stride (sized for stride 2)."""
    return _subsample(_blur(x), stride)


def _is_power_of_two(n: int) -> bool:
    return n >= 1 and n & (n - 1) == 0


def blur_filter(stride: int) -> np.ndarray:
    """The 1-D blur that makes downsampling by ``stride`` steady: ``2·stride − 1`` taps.

    A grid ``stride`` pixels apart can show at most ``1 / (2·stride)`` cycles per pixel, so the
    blur must remove more the larger the stride. BlurPool's ``[1, 2, 1] / 4`` is sized for
    stride 2 (stride 1 needs no blur at all). A power-of-two stride is done as stride-2
    stages, each with its own ``[1, 2, 1]`` blur, as networks do; two stages blur like
    ``[1, 2, 3, 4, 3, 2, 1] / 16``. Other strides use the binomial of the same width
    (stride 3: ``[1, 4, 6, 4, 1] / 16``). The 2-D blur is the outer product with itself.

    >>> blur_filter(2) * 4, blur_filter(4) * 16
    (array([1., 2., 1.]), array([1., 2., 3., 4., 3., 2., 1.]))
    """
    if stride < 1:
        raise ValueError(f"stride must be at least 1, got {stride}")
    if _is_power_of_two(stride):
        taps, step = np.ones(1), 1
        while step < stride:
            stage = np.zeros(2 * step + 1)
            stage[::step] = (1.0, 2.0, 1.0)   # [1, 2, 1] on the grid of the previous stage
            taps, step = np.convolve(taps, stage), 2 * step
    else:
        taps = np.ones(1)
        for _ in range(2 * stride - 2):
            taps = np.convolve(taps, (1.0, 1.0))  # a row of Pascal's triangle
    return taps / taps.sum()


def antialiased_downsample(x: np.ndarray, stride: int,
                           blur_downsample: Callable[..., np.ndarray] | None = None) -> np.ndarray:
    """Blur sized for ``stride`` (:func:`blur_filter`), then keep every ``stride``-th pixel.

    A power-of-two stride runs ``blur_downsample(·, 2)`` — the exercise's function when
    given — once per halving; other strides blur once with the wider binomial.
    """
    halve = blur_downsample or _blur_downsample
    if stride == 1:
        return np.array(x, dtype=float)
    if _is_power_of_two(stride):
        out = x
        for _ in range(stride.bit_length() - 1):
            out = np.asarray(halve(out, 2), dtype=float)
        return out
    taps = blur_filter(stride)
    radius = len(taps) // 2
    return _subsample(numpy_conv2d(np.pad(x, radius, mode="reflect"), np.outer(taps, taps)), stride)


def _tried(function: Callable[..., np.ndarray], fallback: Callable[..., np.ndarray],
           *args: object) -> tuple[np.ndarray, bool]:
    """The learner's result if it is right, else the fallback's; and whether it was theirs."""
    result, note = learner_or_fallback(function, fallback, *args)
    return np.asarray(result, dtype=float), note.startswith("computed by")


def _whose(name: str, mine: bool) -> str:
    return f"your {name}" if mine else f"numpy's {name} (yours is not ready)"


# --- small display helpers ------------------------------------------------------------------

@dataclass(frozen=True)
class Table:
    """A small table that shows as HTML in notebooks and as aligned text elsewhere."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self.header)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>"
                       for row in self.rows)
        note = f"<p><small>{html.escape(self.note)}</small></p>" if self.note else ""
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}"

    def __repr__(self) -> str:
        widths = [max(len(r[i]) for r in (self.header, *self.rows)) for i in range(len(self.header))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths))
                 for row in (self.header, *self.rows)]
        return "\n".join(lines + ([self.note] if self.note else []))


# --- section 1: strided convolution is dense convolution, then subsampling ----------------

def _loop_conv2d_strided(x: np.ndarray, w: np.ndarray, stride: int) -> np.ndarray:
    """One Python-level dot product per output position, so time follows the work done."""
    kh, kw = w.shape
    rows, cols = (x.shape[0] - kh) // stride + 1, (x.shape[1] - kw) // stride + 1
    out = np.empty((rows, cols))
    flat = w.ravel()
    for i in range(rows):
        for j in range(cols):
            out[i, j] = x[i * stride:i * stride + kh, j * stride:j * stride + kw].ravel() @ flat
    return out


@dataclass(frozen=True)
class CostTable:
    """Work and time of "strided" against "dense, then subsample", measured here and now."""

    shape: tuple[int, int]
    kernel: tuple[int, int]
    strides: tuple[int, ...]
    dense_macs: int
    strided_macs: tuple[int, ...]
    dense_seconds: float
    strided_seconds: tuple[float, ...]
    max_difference: tuple[float, ...]
    repeats: int = 7
    """How many runs each time is the fastest of."""

    def time_ratios(self) -> tuple[float, ...]:
        """How many times longer "dense, then subsample" took than the strided loop, per stride."""
        return tuple(self.dense_seconds / t for t in self.strided_seconds)

    def work_ratios(self) -> tuple[float, ...]:
        """How many times more multiply-accumulates "dense, then subsample" does, per stride."""
        return tuple(self.dense_macs / m for m in self.strided_macs)

    def summary(self) -> str:
        """What was just measured, in one sentence, next to the ratios of the work."""
        times = ", ".join(f"{r:.1f}×" for r in self.time_ratios())
        work = ", ".join(f"{r:.1f}×" for r in self.work_ratios())
        ideal = ", ".join(f"{s * s}" for s in self.strides)
        strides = ", ".join(map(str, self.strides))
        return (f"Measured on this machine: at strides {strides} the dense recipe took {times} "
                f"as long as the strided loop, for {work} the multiply-accumulates "
                f"(s² = {ideal}).")

    @property
    def table(self) -> Table:
        rows = []
        for s, macs, seconds, diff in zip(self.strides, self.strided_macs,
                                          self.strided_seconds, self.max_difference):
            rows.append((str(s), f"{self.dense_macs:,}", f"{macs:,}",
                         f"{self.dense_macs / macs:.1f}×", f"{1000 * self.dense_seconds:.1f}",
                         f"{1000 * seconds:.1f}", f"{self.dense_seconds / seconds:.1f}×",
                         f"{diff:.1e}"))
        return Table(("s", "MACs dense", "MACs strided", "wasted ×", "ms dense",
                      "ms strided", "slower ×", "max |difference|"), tuple(rows),
                     f"{self.shape[0]}×{self.shape[1]} image, {self.kernel[0]}×{self.kernel[1]} "
                     f"kernel; one Python loop iteration per output position; fastest of "
                     f"{self.repeats} runs, taken in turns. {self.summary()}")

    def _repr_html_(self) -> str:
        return self.table._repr_html_()

    def __repr__(self) -> str:
        return repr(self.table)


def measure_cost(x: np.ndarray, w: np.ndarray, strides: Sequence[int] = (2, 3, 4),
                 repeats: int = 7) -> CostTable:
    """Time the dense convolution (then subsampled) against the strided one, per stride.

    Each time is the fastest of ``repeats`` runs, taken in turns (dense, stride 2, stride 3, …,
    then again) so that a busy moment of the machine hits every one of them alike, and the
    same number of runs for each, so that no ratio is biased by one side getting more tries.
    """
    kh, kw = w.shape
    dense = _loop_conv2d_strided(x, w, 1)
    outputs = {s: _loop_conv2d_strided(x, w, s) for s in strides}
    times: dict[int, list[float]] = {s: [] for s in (1, *strides)}
    for _ in range(repeats):
        for s in times:
            times[s].append(best_time(lambda s=s: _loop_conv2d_strided(x, w, s),
                                      budget=0.0, max_repeats=1))
    return CostTable(x.shape, w.shape, tuple(strides), dense.size * kh * kw,
                     tuple(outputs[s].size * kh * kw for s in strides), min(times[1]),
                     tuple(min(times[s]) for s in strides),
                     tuple(float(np.abs(dense[::s, ::s] - outputs[s]).max()) for s in strides),
                     repeats)


def cost_figure(cost: CostTable) -> FigureDisplay:
    """Multiply-accumulates and measured time against the stride, both ways."""
    strides = np.array((1, *cost.strides))
    dense_macs = np.full(len(strides), cost.dense_macs)
    strided_macs = np.array((cost.dense_macs, *cost.strided_macs))
    dense_ms = np.full(len(strides), 1000 * cost.dense_seconds)
    strided_ms = 1000 * np.array((cost.dense_seconds, *cost.strided_seconds))
    fig = new_figure(10, 3.6)
    left, right = fig.subplots(1, 2)
    for ax, dense, strided, label in ((left, dense_macs, strided_macs, "multiply-accumulates"),
                                      (right, dense_ms, strided_ms, "time (ms, measured)")):
        ax.plot(strides, dense, "s-", color=COLORS["vermillion"], label="dense, then subsample")
        ax.plot(strides, strided, "o-", color=COLORS["blue"], label="strided")
        ax.plot(strides, dense[0] / strides ** 2, ":", color=COLORS["grey"], label="dense / s²")
        log_ticks(ax, [*dense, *strided, *(dense[0] / strides ** 2)])
        ax.set_xticks(strides)
        ax.set_xlabel("stride s")
        ax.set_ylabel(label + " (log scale)")
        ax.legend(fontsize=9)
    left.set_title("work: the strided convolution does 1/s² of it")
    right.set_title("time follows the work")
    s_last = cost.strides[-1]
    alt = (f"Two log-scale line charts against stride 1 to {s_last}. Dense-then-subsample stays "
           f"flat at {cost.dense_macs:,} multiply-accumulates and about "
           f"{1000 * cost.dense_seconds:.0f} ms; the strided convolution falls like 1/s², to "
           f"{cost.strided_macs[-1]:,} multiply-accumulates and "
           f"{1000 * cost.strided_seconds[-1]:.1f} ms at stride {s_last}.")
    return FigureDisplay(fig, alt)


# --- section 2: pooling, subsampling and strided convolution side by side ------------------

def pooling_as_convolution(pool2d: Callable[..., np.ndarray],
                           subsample: Callable[..., np.ndarray]) -> Table:
    """Which downsamplers are strided convolutions with a fixed kernel, checked numerically."""
    x = grace_hopper()
    avg, mine_avg = _tried(lambda a: pool2d(a, 2, mode="avg"), lambda a: _pool(a, 2, mode="avg"), x)
    sub, mine_sub = _tried(lambda a: subsample(a, 2), lambda a: _subsample(a, 2), x)
    box = numpy_conv2d_strided(x, np.full((2, 2), 0.25), stride=2)
    one = numpy_conv2d_strided(x, np.ones((1, 1)), stride=2)
    bright = np.clip(x + 0.3 * np.roll(x, 7, axis=1), 0, None)
    maxed, mine_max = _tried(lambda a: pool2d(a, 2), lambda a: _pool(a, 2), x)
    maxed_bright, _ = _tried(lambda a: pool2d(a, 2), lambda a: _pool(a, 2), bright)
    maxed_extra, _ = _tried(lambda a: pool2d(a, 2), lambda a: _pool(a, 2),
                            0.3 * np.roll(x, 7, axis=1))
    nonlinear = float(np.abs(maxed_bright - (maxed + maxed_extra)).max())
    rows = (
        ("average pooling 2×2", "strided conv, w = [[¼, ¼], [¼, ¼]], s = 2",
         f"{np.abs(avg - box).max():.1e}", "yes"),
        ("subsampling, stride 2", "strided conv, w = [[1]] (1×1), s = 2",
         f"{np.abs(sub - one).max():.1e}", "yes"),
        ("max pooling 2×2", "pool(a + b) against pool(a) + pool(b)", f"{nonlinear:.2f}",
         "no: max is not linear, no kernel computes it"),
    )
    who = ", ".join(sorted({_whose("pool2d", mine_avg and mine_max), _whose("subsample", mine_sub)}))
    return Table(("downsampler", "compared with", "max |difference|", "a strided convolution?"),
                 rows, f"On the {x.shape[0]}×{x.shape[1]} portrait, computed with {who}.")


def _show_image(ax: Axes, image: np.ndarray, title: str, full: tuple[int, int],
                cmap: str = "gray", limits: tuple[float, float] = (0.0, 1.0)) -> AxesImage:
    """An image stretched to the full input's extent, so every panel has the same scale."""
    shown = ax.imshow(image, cmap=cmap, vmin=limits[0], vmax=limits[1],
                      interpolation="nearest", extent=(-0.5, full[1] - 0.5, full[0] - 0.5, -0.5))
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("column of the input")
    ax.set_ylabel("row of the input")
    return shown


def downsampling_gallery(subsample: Callable[..., np.ndarray], pool2d: Callable[..., np.ndarray],
                         blur_downsample: Callable[..., np.ndarray] | None = None,
                         stride: int = 4) -> FigureDisplay:
    """The same photograph made ``stride`` times smaller five ways, at the same display size."""
    x = grace_hopper(factor=2)[40:200, 48:208]  # 160×160: face and collar
    plain, mine_sub = _tried(lambda a: subsample(a, stride), lambda a: _subsample(a, stride), x)
    maxed, mine_pool = _tried(lambda a: pool2d(a, stride), lambda a: _pool(a, stride), x)
    averaged, _ = _tried(lambda a: pool2d(a, stride, mode="avg"),
                         lambda a: _pool(a, stride, mode="avg"), x)
    # A blur sized for the stride: at stride 4, two stride-2 BlurPool stages (blur_filter).
    blurred, mine_blur = _tried(lambda a: antialiased_downsample(a, stride, blur_downsample),
                                lambda a: antialiased_downsample(a, stride), x)
    edges = numpy_conv2d_strided(x, PREWITT_X, stride=stride, padding=1)
    limit = float(np.percentile(np.abs(edges), 98))  # let the strongest edges saturate
    fig = new_figure(14, 3.5)
    panels = fig.subplots(1, 6)
    _show_image(panels[0], x, f"input {x.shape[0]}×{x.shape[1]}", x.shape)
    taps = len(blur_filter(stride))
    how = (f"{stride.bit_length() - 1} × (blur 3×3, subsample 2)" if _is_power_of_two(stride)
           and stride > 2 else f"blur {taps}×{taps}, subsample {stride}")
    _show_image(panels[1], plain, f"subsample, s = {stride}\n(jagged, aliased)", x.shape)
    _show_image(panels[2], maxed, f"max pool {stride}×{stride}\n(bright details grow, aliased)",
                x.shape)
    _show_image(panels[3], averaged, f"average pool {stride}×{stride}\n(smoother, still aliased)",
                x.shape)
    _show_image(panels[4], blurred, f"{how}\n(smooth, BlurPool)", x.shape)
    _show_image(panels[5], edges, "strided conv, edge kernel\n(downsamples + detects)",
                x.shape, cmap=DIVERGING, limits=(-limit, limit))
    for ax in panels[1:]:
        ax.set_ylabel("")
    size = f"{plain.shape[0]}×{plain.shape[1]}"
    mine = [name for name, ok in (("subsample", mine_sub), ("pool2d", mine_pool),
                                  ("blur_downsample", mine_blur and blur_downsample is not None))
            if ok]
    fig.suptitle(f"Six ways to see a {x.shape[0]}×{x.shape[1]} image at 1/{stride} of its "
                 f"size ({size}); computed with "
                 + (f"your {', '.join(mine)}" if mine else "numpy, until your functions work"),
                 fontsize=11)
    alt = (f"Grace Hopper's portrait, cropped to her face and collar ({x.shape[0]}×"
           f"{x.shape[1]}), and five {size} versions of it. Plain subsampling looks jagged and "
           f"speckled; max pooling makes bright areas such as the collar spread; average pooling "
           f"is smoother but keeps some jagged edges, because its box filter lets fine detail "
           f"through; blurring with a filter sized for stride {stride} ({how}) before "
           f"subsampling looks smooth; the strided edge-detecting convolution shows the "
           f"outlines of face and collar in purple and orange.")
    return FigureDisplay(fig, alt)


# --- section 3: aliasing -------------------------------------------------------------------

def zone_plate(size: int = 128, shift: int = 0) -> np.ndarray:
    """Rings that get finer outwards: 0.5 + 0.5·cos(π r² / (√2·size)), values 0–1.

    The local frequency, r / (√2·size) cycles per pixel, grows with the radius r and reaches
    the pixel grid's limit (half a cycle per pixel) only in the corners: the pattern holds
    every frequency the grid can show, each at its own radius. ``shift`` moves it right by
    that many pixels.
    """
    centre = (size - 1) / 2
    i, j = np.mgrid[0:size, 0:size].astype(float)
    r2 = (i - centre) ** 2 + (j - shift - centre) ** 2
    return 0.5 + 0.5 * np.cos(np.pi * r2 / (np.sqrt(2) * size))


def stripes(size: int = 128, period: float = 2.4, shift: int = 0) -> np.ndarray:
    """Fine vertical stripes, ``period`` pixels apart (values 0–1), moved right by ``shift``."""
    j = np.arange(size, dtype=float)[np.newaxis, :] - shift
    return np.repeat(0.5 + 0.5 * np.cos(2 * np.pi * j / period), size, axis=0)


@cache
def _photo_canvas() -> np.ndarray:
    return grace_hopper(factor=2)


def _photograph(size: int = 128, shift: int = 0) -> np.ndarray:
    top, left = 60, 70
    return _photo_canvas()[top:top + size, left - shift:left - shift + size]


PATTERNS: dict[str, Callable[..., np.ndarray]] = {
    "zone plate": zone_plate,
    "fine stripes": stripes,
    "photograph": _photograph,
}


def shift_change(downsample: Callable[[np.ndarray], np.ndarray], pattern: Callable[..., np.ndarray],
                 stride: int, shift: int, size: int = 128,
                 before: np.ndarray | None = None) -> float:
    """Mean absolute change of the output when the input moves right by ``shift`` pixels.

    The whole-stride part of the shift, ``shift // stride`` output pixels, is undone first:
    a perfect downsampler's output would simply move by ``shift / stride`` pixels, so only
    the change that moving cannot explain is counted. One border pixel is left out.
    ``before``, the output for shift 0, may be passed in when it is already known.
    """
    if before is None:
        before = downsample(pattern(size=size, shift=0))
    after = downsample(pattern(size=size, shift=shift))
    q = shift // stride
    width = before.shape[1] - q
    a, b = after[1:-1, q + 1:q + width - 1], before[1:-1, 1:width - 1]
    return float(np.abs(a - b).mean())


class AliasingLab(InteractiveFigure):
    """A stride slider and a one-pixel shift slider: subsampling with and without blur.

    The panels show the (shifted) input, plain subsampling and blur-then-subsample, all at
    the input's display size; titles and caption report how much each output changed
    because of the shift (its whole-stride part undone).
    """

    def __init__(self, stride: int = 2, shift: int = 0, pattern: str = "zone plate",
                 size: int = 96, dpi: int = 80) -> None:
        style = {"description_width": "initial"}
        self.size = size
        self.stride = widgets.IntSlider(value=stride, min=1, max=4, description="stride s",
                                        style=style)
        self.shift = widgets.IntSlider(value=shift, min=0, max=3, description="shift (pixels)",
                                       style=style)
        self.pattern = widgets.Dropdown(options=list(PATTERNS), value=pattern,
                                        description="pattern", style=style)
        self._measured: dict[tuple[str, int, int], tuple[float, float]] = {}
        super().__init__([self.pattern, self.stride, self.shift], width=11, height=4.2, dpi=dpi)

    def _changes(self) -> tuple[float, float]:
        """How much plain and blurred subsampling change with the shift (computed once)."""
        key = (self.pattern.value, self.stride.value, self.shift.value)
        if key not in self._measured:
            pattern, s, d = PATTERNS[key[0]], key[1], key[2]
            self._measured[key] = (
                shift_change(lambda a: _subsample(a, s), pattern, s, d, self.size),
                shift_change(lambda a: antialiased_downsample(a, s), pattern, s, d, self.size))
        return self._measured[key]

    def build(self) -> None:
        fig, full = self.figure, (self.size, self.size)
        fig.set_layout_engine(None)
        boxes = ((0.07, 0.12, 0.28, 0.68), (0.39, 0.12, 0.28, 0.68), (0.71, 0.12, 0.28, 0.68))
        self._panels = [fig.add_axes(box) for box in boxes]
        self._images = [_show_image(ax, np.zeros(full), "", full) for ax in self._panels]
        self._fast_images = [FastImage(image) for image in self._images]
        for ax in self._panels[1:]:
            ax.set_ylabel("")
        self._heading = fig.text(0.04, 0.945, "", fontsize=11)

    def update(self) -> None:
        """New pictures in the three panels, new titles and heading; the Axes stay."""
        s, d = self.stride.value, self.shift.value
        x = PATTERNS[self.pattern.value](size=self.size, shift=d)
        plain, blurred = self._changes()
        shown = (
            (x, f"input x ({x.shape[0]}×{x.shape[1]})\nshifted right by {d}"),
            (_subsample(x, s), f"subsample only, s = {s}\nchanged {plain:.3f} by the shift"),
            (antialiased_downsample(x, s),
             f"{_blur_words(s, short=True)}, then subsample\nchanged {blurred:.3f} by the shift"))
        for ax, image, (values, title) in zip(self._panels, self._images, shown):
            image.set_data(values)
            ax.title.set_text(title)
        self._heading.set_text(f"{self.pattern.value}: stride {s}, shift {d}. Outputs are drawn "
                               f"at the input's size; 'changed' = mean |difference| from shift "
                               f"0 (0–1 scale)")

    def layers(self) -> list:
        # Each picture fills its Axes: the frame is drawn again over it, then the title.
        return [((self.pattern.value, self.stride.value, self.shift.value),
                 [artist for ax, image in zip(self._panels, self._fast_images)
                  for artist in (image, *ax.spines.values(), ax.title)]
                 + [self._heading])]

    def describe(self) -> str:
        s, d = self.stride.value, self.shift.value
        plain, blurred = self._changes()
        name = self.pattern.value.capitalize()
        text = (f"{name} shifted right by {d} pixel{'s' if d != 1 else ''}, stride {s}: "
                f"plain subsampling (rows and columns 0, {s}, {2 * s}, …) changed by {plain:.3f} on "
                f"average; with a blur sized for stride {s} first ({_blur_words(s)}), the output "
                f"changed by {blurred:.3f}. ")
        if d == 0:
            text += "Move the shift slider to see how each output reacts to a small move."
        elif d % s == 0:
            text += (f"A shift by a whole number of strides only moves the output by "
                     f"{d // s} pixel{'s' if d // s != 1 else ''}: nothing else changes.")
        elif plain > 3 * blurred:
            text += "The plain output changes much more: its fine detail was aliased."
        elif plain > 1.3 * blurred:
            text += "The plain output changes more: some fine detail was aliased."
        else:
            text += "Both outputs change about as much: little fine detail to alias here."
        return text


def _blur_words(stride: int, short: bool = False) -> str:
    """How :func:`antialiased_downsample` blurs at ``stride``, in a few words (``short``: a
    panel title's worth)."""
    taps = len(blur_filter(stride))
    if stride == 1:
        return "no blur (stride 1)" if short else "no blur: stride 1 cannot alias"
    if _is_power_of_two(stride) and stride > 2:
        stages = stride.bit_length() - 1
        return (f"blur {taps} taps ({stages} stages)" if short
                else f"{stages} stride-2 stages, each blurring 3×3: {taps} taps in all")
    return f"blur {taps}×{taps}"


def shift_sensitivity(blur_downsample: Callable[..., np.ndarray],
                      subsample: Callable[..., np.ndarray], stride: int = 2,
                      shifts: Sequence[int] = (1, 2, 3), size: int = 96) -> Table:
    """How much a shift of the input changes each downsampler's output, on every pattern.

    The patterns are ``size`` pixels square, as in the lab (small enough for a learner's
    loop-based functions to finish in a fraction of a second), so the lab's caption and this
    table agree. The blur is the exercise's 3×3 one: use stride 2, which it is sized for.
    """
    sub, mine_sub = _tried(lambda a: subsample(a, stride), lambda a: _subsample(a, stride),
                           zone_plate(32))
    blur, mine_blur = _tried(lambda a: blur_downsample(a, stride),
                             lambda a: _blur_downsample(a, stride), zone_plate(32))
    plain_fn = (lambda a: np.asarray(subsample(a, stride), dtype=float)) if mine_sub \
        else (lambda a: _subsample(a, stride))
    blur_fn = (lambda a: np.asarray(blur_downsample(a, stride), dtype=float)) if mine_blur \
        else (lambda a: _blur_downsample(a, stride))
    rows = []
    for name, pattern in PATTERNS.items():
        plain_before = plain_fn(pattern(size=size))
        blur_before = blur_fn(pattern(size=size))
        for d in shifts:
            plain = shift_change(plain_fn, pattern, stride, d, size, plain_before)
            blurred = shift_change(blur_fn, pattern, stride, d, size, blur_before)
            ratio = f"{plain / blurred:.1f}×" if blurred > 1e-9 else "— (both 0)"
            rows.append((name, str(d), f"{plain:.3f}", f"{blurred:.3f}", ratio))
    return Table(("pattern", "shift", "change, subsample only", "change, blur first",
                  "ratio"), tuple(rows),
                 f"{size}×{size} patterns, stride {stride}; mean |difference| from the unshifted "
                 f"output (whole-stride "
                 f"part of the shift undone); computed with {_whose('subsample', mine_sub)} and "
                 f"{_whose('blur_downsample', mine_blur)}.")


def _listed(values: np.ndarray) -> str:
    return "[" + ", ".join(f"{v:g}" for v in values) + "]"


def shift_demo_1d(pool2d: Callable[..., np.ndarray]) -> FigureDisplay:
    """Zhang's 1-D example: max pooling [0, 0, 1, 1, 0, 0, 1, 1] and the same signal moved by one."""
    signal = np.array([0.0, 0, 1, 1, 0, 0, 1, 1])
    moved = np.roll(signal, 1)
    pooled, mine = _tried(lambda a: pool2d(a[np.newaxis, :], (1, 2))[0],
                          lambda a: _pool(a[np.newaxis, :], (1, 2))[0], signal)
    pooled_moved, _ = _tried(lambda a: pool2d(a[np.newaxis, :], (1, 2))[0],
                             lambda a: _pool(a[np.newaxis, :], (1, 2))[0], moved)
    # BlurPool: max with stride 1, then blur [1, 2, 1] / 4 (reflect padding), then subsample.
    def blurpool(a: np.ndarray) -> np.ndarray:
        dense = np.maximum(a, np.roll(a, -1))  # max over each pair, stride 1 (circular)
        padded = np.pad(dense, 1, mode="wrap")
        return ((padded[:-2] + 2 * padded[1:-1] + padded[2:]) / 4)[::2]

    fig = new_figure(10, 3.8)
    panels = fig.subplots(1, 3, gridspec_kw={"width_ratios": [8, 4, 4]})
    positions = np.arange(len(signal))
    panels[0].step(positions, signal, where="mid", color=COLORS["blue"], linewidth=2.5,
                   label="x")
    panels[0].step(positions, moved, where="mid", color=COLORS["orange"], linewidth=2.5,
                   linestyle="--", label="x moved right by 1\n(last sample wraps round)")
    panels[0].set_title("input: a pattern of period 4, moved circularly", fontsize=10)
    for ax, (a, b, title) in zip(panels[1:], (
            (pooled, pooled_moved, "max pool 2, stride 2"),
            (blurpool(signal), blurpool(moved), "max (s = 1), blur, subsample"))):
        ax.plot(np.arange(len(a)), a, "o-", color=COLORS["blue"], linewidth=2.5, label="from x")
        ax.plot(np.arange(len(b)), b, "s--", color=COLORS["orange"], linewidth=2.5,
                label="from x moved")
        ax.set_title(title, fontsize=10)
    for ax in panels:
        ax.set_xlabel("position")
        ax.set_ylabel("value")
        ax.set_ylim(-0.15, 1.2)
        ax.set_ylim(-0.15, 1.65)   # room for the legend above the data
        ax.set_yticks([0, 0.5, 1])
        ax.legend(fontsize=8, loc="upper center", ncols=2)
    fig.suptitle("Moving the input by one sample changes max pooling's output completely "
                 f"({_whose('pool2d', mine)})", fontsize=11)
    smooth, smooth_moved = blurpool(signal), blurpool(moved)
    alt = (f"Left: the signal 0 0 1 1 0 0 1 1 and the same signal moved right by one, "
           f"circularly — the last sample wraps round to the front, as if the pattern repeated "
           f"forever — giving 1 0 0 1 1 0 0 1. Middle: "
           f"max pooling with stride 2 gives {_listed(pooled)} for the first and "
           f"{_listed(pooled_moved)} for the moved one, a change of up to "
           f"{np.abs(pooled - pooled_moved).max():g}. Right: taking the max at stride 1, "
           f"blurring, then subsampling gives {_listed(smooth)} and {_listed(smooth_moved)}: "
           f"no value changes by more than {np.abs(smooth - smooth_moved).max():g}.")
    return FigureDisplay(fig, alt)
