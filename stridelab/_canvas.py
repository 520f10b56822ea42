"""A fast Agg canvas for the interactive figures: text drawn from cached glyphs, quick PNGs.

Once a figure is built, two things make a matplotlib redraw slow: text — matplotlib 3.11
lays out, hints and rasterises every glyph of every label again on every draw, a few
milliseconds a label — and PNG encoding, where Pillow's adaptive row filters cost more
than the compression. Here:

- :class:`FastCanvas` draws text as matplotlib's Agg renderer does, glyph by glyph, but
  with each line's anchor on the nearest pixel (as matplotlib up to 3.10 placed text; 3.11
  places it to 1/64 pixel), and keeps what it rasterised: each glyph, and each line as one
  coverage mask. Drawing a line again, wherever it lands, is then one copy; a new line
  costs its layout. The pixels are matplotlib's, shifted by under half a pixel (and up to
  rounding where two glyphs overlap).
- :class:`FastTexts`, :class:`FastAxis` and :class:`FastImage` stand in for texts, axes and
  images of cells in a widget's layers, drawing them with less of matplotlib's machinery.
- :func:`png` writes what the canvas drew as an RGB PNG: unfiltered rows, fast compression,
  the same pixels as ``savefig`` in a fraction of the time.

The glyph loop uses matplotlib 3.11's private font API (``FT2Font._layout``,
``_set_transform``, ``_render_glyph``), mirroring ``RendererAgg.draw_text``; without it
(another matplotlib), text is drawn by matplotlib itself, only more slowly.

>>> from matplotlib.figure import Figure
>>> fig = Figure(figsize=(2, 1), dpi=50)
>>> canvas = FastCanvas(fig)
>>> _ = fig.text(0.1, 0.5, "stride 2")
>>> canvas.draw()
>>> png(canvas)[:8]
b'\\x89PNG\\r\\n\\x1a\\n'
"""

from __future__ import annotations

import math
import numbers
import struct
import zlib
from collections import OrderedDict
from typing import Any

import numpy as np
from matplotlib import colors
from matplotlib.artist import Artist
from matplotlib.axis import Axis
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg, get_hinting_flag
from matplotlib.font_manager import FontProperties
from matplotlib.ft2font import FT2Font
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D
from matplotlib.text import Text

try:
    from matplotlib.ft2font import RenderMode
except ImportError:  # not matplotlib 3.11's font API
    RenderMode = None

__all__ = ["FastAxis", "FastCanvas", "FastImage", "FastTexts", "draw_texts", "png"]

GLYPH_API = RenderMode is not None and all(
    hasattr(FT2Font, name) for name in ("_layout", "_set_transform", "_render_glyph"))
"""Whether this matplotlib's fonts can be driven glyph by glyph (3.11's private API)."""
CACHED_LINES = 4096
"""Line masks kept per canvas (a few hundred bytes to a few kilobytes each)."""
CACHED_GLYPHS = 16384
"""Glyph bitmaps kept per canvas (tens of bytes each)."""

_Mask = tuple[np.ndarray, int, int] | None
"""A line's coverage (rows top first) and the column and row of its top-left pixel relative
to the pixel its anchor falls in; ``None`` for a blank line."""


def _snap(position: float) -> int:
    """A position in pixels, to the nearest 1/64 pixel (FreeType's unit, Agg's precision)."""
    return round(0x40 * position)


def _font_key(prop: FontProperties) -> tuple:
    return (tuple(prop.get_family()), prop.get_style(), prop.get_variant(), prop.get_weight(),
            prop.get_stretch(), prop.get_size_in_points(), prop.get_file(),
            prop.get_math_fontfamily())


class _TextCachingRenderer(RendererAgg):
    """Agg, drawing each text line from a cached mask, made from cached glyph bitmaps."""

    def __init__(self, width: int, height: int, dpi: float) -> None:
        super().__init__(width, height, dpi)
        self.recording: list[tuple] | None = None
        self.offsets: OrderedDict[tuple, list[tuple]] = OrderedDict()
        self.lines: OrderedDict[tuple, _Mask] = OrderedDict()
        self.metrics: OrderedDict[tuple, tuple[float, float, float]] = OrderedDict()
        self.layouts: OrderedDict[tuple, list[tuple[FT2Font, int, float, float]]] = OrderedDict()
        self.glyphs: OrderedDict[tuple, tuple[np.ndarray, int, int]] = OrderedDict()

    def get_text_width_height_descent(self, s: str, prop: FontProperties,
                                      ismath: Any) -> tuple[float, float, float]:
        key = (s, _font_key(prop), ismath, get_hinting_flag())
        if key not in self.metrics:
            self.metrics[key] = super().get_text_width_height_descent(s, prop, ismath)
            if len(self.metrics) > CACHED_LINES:
                self.metrics.popitem(last=False)
        return self.metrics[key]

    def draw_text(self, gc: Any, x: float, y: float, s: str, prop: FontProperties,
                  angle: float, ismath: Any = False, mtext: Any = None) -> None:
        if self.recording is not None:             # see draw_texts
            self.recording.append((x, y, s, angle, ismath))
            return
        if ismath or not GLYPH_API:
            super().draw_text(gc, x, y, s, prop, angle, ismath=ismath, mtext=mtext)
            return
        features = None if mtext is None else mtext.get_fontfeatures()
        language = None if mtext is None else mtext.get_language()
        antialiased = bool(gc.get_antialiased())
        key = (s, _font_key(prop), float(angle), antialiased,
               None if features is None else tuple(features), language, get_hinting_flag())
        if key in self.lines:
            self.lines.move_to_end(key)
        else:
            self.lines[key] = self._line_mask(s, prop, angle, antialiased, features, language)
            if len(self.lines) > CACHED_LINES:
                self.lines.popitem(last=False)
        mask = self.lines[key]
        if mask is None:
            return
        # The anchor on the nearest pixel (x, y: pixels, y from the top), where the mask,
        # made for an anchor on a pixel, fits whatever the angle.
        coverage, left, top = mask
        self._renderer.draw_text_image(coverage, round(x) + left,
                                       round(y) + top + coverage.shape[0], 0, gc)

    def _glyphs_at(self, x: float, y: float, s: str, prop: FontProperties, angle: float,
                   antialiased: bool, features: Any,
                   language: Any) -> list[tuple[np.ndarray, int, int]]:
        """The line's glyph bitmaps where ``RendererAgg.draw_text`` puts them for an anchor
        at ``(x, y)`` (pixels, y upwards): bitmap, left column, top row (y upwards).
        Glyphs sit at fractions of a pixel from the anchor and from one another."""
        flags = get_hinting_flag()
        key = (s, _font_key(prop), None if features is None else tuple(features), language,
               flags)
        if key not in self.layouts:
            font = self._prepare_font(prop)
            self.layouts[key] = [(item.ft_object, item.glyph_index, item.x, item.y) for item
                                 in font._layout(s, flags=flags, features=features,
                                                 language=language)]
            if len(self.layouts) > CACHED_LINES:
                self.layouts.popitem(last=False)
        size = prop.get_size_in_points()
        cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
        placed = []
        for font, index, dx, dy in self.layouts[key]:
            gx = _snap(x + dx * cos - dy * sin)
            gy = _snap(y + dx * sin + dy * cos)
            bitmap, left, top = self._glyph(font, size, index, angle, cos, sin, gx & 63,
                                            gy & 63, antialiased, flags)
            if bitmap.size:
                placed.append((bitmap, (gx >> 6) + left, (gy >> 6) + top))
        return placed

    def _line_mask(self, s: str, prop: FontProperties, angle: float, antialiased: bool,
                   features: Any, language: Any) -> _Mask:
        """The line's glyphs, as ``RendererAgg.draw_text`` places them for an anchor on a
        pixel's corner, merged into one coverage mask."""
        placed = [(bitmap, left, -top) for bitmap, left, top in self._glyphs_at(
            0.0, 0.0, s, prop, angle, antialiased, features, language)]
        if not placed:
            return None
        x0 = min(col for _, col, _ in placed)
        y0 = min(row for _, _, row in placed)
        x1 = max(col + bitmap.shape[1] for bitmap, col, _ in placed)
        y1 = max(row + bitmap.shape[0] for bitmap, _, row in placed)
        # Rows counted downwards from here. Agg blends each glyph over what is there:
        # coverages a and b leave 1 − (1 − a)(1 − b).
        clear = np.ones((y1 - y0, x1 - x0))
        for bitmap, col, row in placed:
            clear[row - y0:row - y0 + bitmap.shape[0],
                  col - x0:col - x0 + bitmap.shape[1]] *= 1 - bitmap / 255
        coverage = np.round(255 * (1 - clear)).astype(np.uint8)
        return coverage, x0, y0

    def _glyph(self, font: FT2Font, size: float, index: int, angle: float, cos: float,
               sin: float, phase_x: int, phase_y: int, antialiased: bool,
               flags: Any) -> tuple[np.ndarray, int, int]:
        """One glyph rasterised at a sub-pixel phase: bitmap, left and top (FreeType's)."""
        key = (font.fname, font.face_index, size, self.dpi, index, angle, phase_x, phase_y,
               antialiased, flags)
        if key in self.glyphs:
            return self.glyphs[key]
        font.set_size(size, self.dpi)
        font._set_transform((0x10000 * np.array([[cos, -sin], [sin, cos]])).round().astype(int),
                            [phase_x, phase_y])
        bitmap = font._render_glyph(index, flags,
                                    RenderMode.NORMAL if antialiased else RenderMode.MONO)
        buffer = np.array(bitmap.buffer, dtype=np.uint8)
        if not antialiased:
            buffer *= 0xff
        self.glyphs[key] = glyph = (buffer, bitmap.left, bitmap.top)
        if len(self.glyphs) > CACHED_GLYPHS:
            self.glyphs.popitem(last=False)
        return glyph


class FastCanvas(FigureCanvasAgg):
    """An Agg canvas whose renderer keeps the text it has drawn (see the module)."""

    def get_renderer(self) -> RendererAgg:
        width, height = self.get_width_height(physical=True)
        key = width, height, self.figure.dpi
        if self._lastKey != key:
            self.renderer = _TextCachingRenderer(width, height, self.figure.dpi)
            self._lastKey = key
        return self.renderer


def png(canvas: FigureCanvasAgg, level: int = 1) -> bytes:
    """What ``canvas`` last drew (an opaque figure), as an RGB PNG: rows unfiltered, zlib
    ``level``."""
    rgba = np.asarray(canvas.buffer_rgba())
    height, width = rgba.shape[:2]
    raw = np.empty((height, 1 + 3 * width), dtype=np.uint8)
    raw[:, 0] = 0                                          # each row's filter: none
    rgb = raw[:, 1:].reshape(height, width, 3)
    for channel in range(3):                               # faster than rgba[..., :3] at once
        rgb[..., channel] = rgba[..., channel]

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, level)) + chunk(b"IEND", b""))


# --- drawing many texts, whole axes and images, without matplotlib's per-artist bookkeeping ---
# Text.draw lays its text out again on every draw, and Axis.draw measures every tick label to
# place the axis label, then draws each tick as five artists: a few milliseconds an axis; an
# image of a few cells is resampled pixel by pixel. The artists below draw the same pixels
# with the layout of each text kept, each kind of tick line drawn as one line, and cells
# repeated into blocks; they stand in for the real artists in a widget's layers.

def _text_key(text: Text) -> tuple:
    return (text.get_text(), _font_key(text.get_fontproperties()), text.get_rotation(),
            text.get_horizontalalignment(), text.get_verticalalignment(),
            text.get_rotation_mode(), text.get_linespacing(), getattr(text, "_multialignment", None),
            text.get_transform_rotates_text())


def _plain(text: Text) -> bool:
    """Whether ``text`` is drawn by ``Text.draw`` alone: no box, effects, TeX or units."""
    return (text.get_bbox_patch() is None and not text.get_path_effects()
            and not text.get_usetex()
            and all(isinstance(v, numbers.Real) for v in text.get_position()))


def draw_texts(texts: list[Text], renderer: RendererAgg) -> None:
    """Draw ``texts`` as each one's ``Text.draw`` would, reusing their layouts.

    Where a text's lines go relative to its anchor depends on the text and its style only:
    it is recorded the first time (by letting ``Text.draw`` run with the renderer recording),
    then each draw is the anchor's transform and one ``draw_text`` call a line.
    """
    if not isinstance(renderer, _TextCachingRenderer):
        for text in texts:
            text.draw(renderer)
        return
    height = renderer.height
    for text in texts:
        if not text.get_visible() or not text.get_text():
            continue
        if not _plain(text):
            text.draw(renderer)
            continue
        posx, posy = text.get_transform().transform(text.get_position())
        if not (math.isfinite(posx) and math.isfinite(posy)):
            continue
        key = _text_key(text)
        offsets = renderer.offsets.get(key)
        if offsets is None:
            renderer.recording = []
            try:
                text.draw(renderer)
                offsets = [(x - posx, height - y - posy, line, angle, ismath)
                           for x, y, line, angle, ismath in renderer.recording]
            finally:
                renderer.recording = None
            renderer.offsets[key] = offsets
            if len(renderer.offsets) > CACHED_LINES:
                renderer.offsets.popitem(last=False)
        gc = renderer.new_gc()
        gc.set_foreground(colors.to_rgba(text.get_color()), isRGBA=True)
        gc.set_alpha(text.get_alpha())
        gc.set_url(text.get_url())
        gc.set_antialiased(text.get_antialiased())
        gc.set_snap(text.get_snap())
        if text.get_clip_on():
            if text.get_clip_box() is not None:
                gc.set_clip_rectangle(text.get_clip_box())
            gc.set_clip_path(text.get_clip_path())
        mtext = text if len(offsets) == 1 else None
        for dx, dy, line, angle, ismath in offsets:
            renderer.draw_text(gc, posx + dx, height - (posy + dy), line,
                               text.get_fontproperties(), angle, ismath=ismath, mtext=mtext)
        gc.restore()


class FastTexts(Artist):
    """Stands in for a list of texts in a widget's layers, drawing them with :func:`draw_texts`
    (marking it animated marks them)."""

    def __init__(self, texts: list[Text]) -> None:
        super().__init__()
        self.texts = texts

    def set_animated(self, b: bool) -> None:
        super().set_animated(b)
        for text in self.texts:
            text.set_animated(b)

    def draw(self, renderer: RendererAgg) -> None:
        draw_texts(self.texts, renderer)


class FastAxis(Artist):
    """Stands in for an x or y :class:`~matplotlib.axis.Axis` in a widget's layers: draws it as
    ``Axis.draw`` does — grid lines, tick marks, tick labels, label — with each kind of tick
    line drawn as one line and the labels by :func:`draw_texts`.

    The axis label must have fixed coordinates (``set_label_coords``; matplotlib measures
    every tick label otherwise) and the formatter no offset; else ``Axis.draw`` draws it.
    """

    def __init__(self, axis: Axis) -> None:
        super().__init__()
        self.axis = axis
        self._lines: dict[tuple[bool, str], Line2D] = {}

    def set_animated(self, b: bool) -> None:
        super().set_animated(b)
        self.axis.set_animated(b)

    def draw(self, renderer: RendererAgg) -> None:
        axis = self.axis
        if not axis.get_visible():
            return
        if axis._autolabelpos or axis.major.formatter.get_offset():
            axis.draw(renderer)
            return
        ticks = axis._update_ticks()
        majors = set(map(id, axis.majorTicks))
        for part in ("gridline", "tick1line", "tick2line"):
            for major in (True, False):
                lines = [getattr(tick, part) for tick in ticks
                         if (id(tick) in majors) == major and getattr(tick, part).get_visible()]
                if lines:
                    self._as_one(lines, (major, part)).draw(renderer)
        draw_texts([label for tick in ticks for label in (tick.label1, tick.label2)], renderer)
        axis.label.draw(renderer)

    def _as_one(self, lines: list[Line2D], key: tuple[bool, str]) -> Line2D:
        """One line through the points of ``lines`` (styled alike: ticks of one kind), with
        NaN between them."""
        if key not in self._lines:
            self._lines[key] = one = Line2D([], [])
            one.update_from(lines[0])
            one.set_figure(lines[0].get_figure(root=False))
        xs, ys = [], []
        for line in lines:
            x, y = np.broadcast_arrays(line.get_xdata(orig=True), line.get_ydata(orig=True))
            xs += [x, (np.nan,)]
            ys += [y, (np.nan,)]
        one = self._lines[key]
        one.set_data(np.concatenate(xs[:-1]), np.concatenate(ys[:-1]))
        return one


class FastImage(Artist):
    """Stands in for an :class:`~matplotlib.image.AxesImage` of cells in a widget's layers:
    draws it as ``interpolation="nearest"`` does, each cell a block of whole pixels, by
    colouring the cells and repeating them — a fraction of matplotlib's resampling, which
    works through every pixel in floating point. (Cell edges are rounded to the nearest
    pixel as matplotlib's are; a tie could fall the other way.) Other images — another
    interpolation, a non-affine transform, another renderer — are drawn by matplotlib."""

    def __init__(self, image: AxesImage) -> None:
        super().__init__()
        self.image = image

    def set_animated(self, b: bool) -> None:
        super().set_animated(b)
        self.image.set_animated(b)

    def draw(self, renderer: RendererAgg) -> None:
        image = self.image
        if not image.get_visible() or image.get_array().size == 0:
            return
        transform = image.get_transform()
        if (not isinstance(renderer, _TextCachingRenderer)
                or image.get_interpolation() != "nearest" or not transform.is_affine
                or not transform.is_separable or image.get_array().ndim != 2):
            image.draw(renderer)
            return
        rows, cols = image.get_array().shape
        left, right, bottom, top = image.get_extent()
        near, far = (top, bottom) if image.origin == "upper" else (bottom, top)  # row 0: near
        # Cell edges on the display, clipped to the Axes, to whole pixels (y upwards).
        clip = image.axes.bbox
        xs = transform.transform(np.column_stack([np.linspace(left, right, cols + 1),
                                                  np.full(cols + 1, near)]))[:, 0]
        ys = transform.transform(np.column_stack([np.full(rows + 1, left),
                                                  np.linspace(near, far, rows + 1)]))[:, 1]
        xs = np.round(np.clip(xs, clip.x0, clip.x1)).astype(int)
        ys = np.round(np.clip(ys, clip.y0, clip.y1)).astype(int)
        cells = image.to_rgba(image.get_array(), bytes=True)
        if xs[0] > xs[-1]:                           # columns left to right
            xs, cells = xs[::-1], cells[:, ::-1]
        if ys[0] > ys[-1]:                           # rows bottom up, as draw_image takes them
            ys, cells = ys[::-1], cells[::-1]
        if xs[-1] == xs[0] or ys[-1] == ys[0]:
            return
        pixels = np.repeat(np.repeat(cells, np.diff(ys), axis=0), np.diff(xs), axis=1)
        gc = renderer.new_gc()
        image._set_gc_clip(gc)
        gc.set_alpha(image._get_scalar_alpha())
        gc.set_url(image.get_url())
        gc.set_gid(image.get_gid())
        renderer.draw_image(gc, xs[0], ys[0], pixels)
        gc.restore()
