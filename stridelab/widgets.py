"""The base of every interactive figure in the course: controls, a picture, a caption.

:class:`InteractiveFigure` redraws a matplotlib figure into an image whenever a control
changes, and writes a one-sentence caption saying what the picture shows (which doubles
as its text alternative). Where no widget front end is running — exported HTML, GitHub,
a test run by nbclient — it still shows the figure of its initial state, with alt text.

A redraw must feel immediate (well under 100 ms), and drawing a matplotlib figure from
scratch — creating Axes, laying them out, rendering every tick label — takes several
times that. So a figure is drawn the way animations are, in three parts that subclasses
provide:

- :meth:`~InteractiveFigure.build` creates every artist, once (again only when
  :meth:`~InteractiveFigure.structure` changes: say, a grid gains rows);
- :meth:`~InteractiveFigure.update` changes those artists in place for the controls'
  current values — image data, colours, texts, positions;
- :meth:`~InteractiveFigure.layers` names the artists ``update`` changes: everything else
  is drawn once and kept as a picture (the *background*); a redraw pastes it back and draws
  just these artists over it — or pastes back a picture kept from the last time the
  controls had these values.

Layout engines run once per build, then the layout is kept. The canvas (see
:mod:`stridelab._canvas`) renders each label once and writes PNGs quickly.

``full_redraw=True`` draws the old way instead — clear the figure, draw everything, lay it
out, save a PNG — for benchmarks to compare against. Subclasses that only implement
:meth:`~InteractiveFigure.draw` (the figure from scratch) are always drawn that way.
"""

from __future__ import annotations

import base64
import gc
import html
import time
from collections import OrderedDict
from collections.abc import Hashable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import ipywidgets as widgets
from matplotlib.artist import Artist
from matplotlib.backend_bases import FigureCanvasBase
from matplotlib.figure import Figure
from matplotlib.layout_engine import PlaceHolderLayoutEngine
from matplotlib.text import Text

from stridelab._canvas import FastCanvas, draw_texts, png
from stridelab.plotting import FigureDisplay, figure_png, new_figure

__all__ = ["InteractiveFigure", "drawing_order"]

_UNBUILT = object()


class InteractiveFigure(widgets.VBox):
    """A figure that redraws when its controls change, and a caption describing it."""

    KEPT_PICTURES = 6
    """Pictures kept per layer, for settings that come back (about a megabyte each)."""
    KEPT_PNGS = 64
    """PNGs kept, for settings that come back (a few dozen kilobytes each)."""

    def __init__(self, controls: list[widgets.Widget], width: float, height: float,
                 dpi: int = 80, full_redraw: bool = False) -> None:
        self.figure = new_figure(width, height, dpi=dpi)
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.caption = widgets.HTML(layout=widgets.Layout(max_width="100%"))
        self.message = widgets.HTML()
        self.controls = controls
        self.last_redraw_seconds = 0.0
        """How long the latest redraw took (benchmarks read it)."""
        self.last_redraw_cpu_seconds = 0.0
        """The processor time it took: the wall-clock time less waiting for the processor."""
        self._layout_engine = self.figure.get_layout_engine()
        self._canvas: FastCanvas | None = None
        self._built: Any = _UNBUILT
        self._background: Any = None
        self._pictures: list[OrderedDict[Hashable, Any]] = []
        """Per layer, pictures with it drawn, by the keys of it and the layers under it."""
        self._pngs: OrderedDict[Hashable, bytes] = OrderedDict()
        self.full_redraw = full_redraw
        super().__init__([widgets.HBox(controls, layout=widgets.Layout(flex_flow="row wrap")),
                          self.message, self.image, self.caption])
        for control in controls:
            # A Play button drives a slider it is linked to; watching both would redraw twice.
            if not isinstance(control, widgets.Play):
                control.observe(self._on_change, names="value")
        self.redraw()

    # --- what subclasses provide ------------------------------------------------------------

    def build(self) -> None:
        """Create the figure's artists for the current :meth:`structure` (figure cleared)."""
        raise NotImplementedError

    def update(self) -> None:
        """Bring the artists :meth:`build` made up to the controls' current values."""
        raise NotImplementedError

    def structure(self) -> Hashable:
        """What :meth:`build` depends on: the figure is built again when it changes."""
        return ()

    def layers(self) -> Sequence[tuple[Hashable, Sequence[Artist]]] | None:
        """The artists :meth:`update` changes, in drawing order, in layers over a background
        of everything else, each layer with a key: the picture with a layer drawn is kept
        (the last few, for keys that come back) and shown again while the keys of that layer
        and those under it are the same. A key of ``None`` draws the layer every time.
        ``None`` instead of layers (the default) draws the whole figure every time."""
        return None

    def draw(self) -> None:
        """Draw the current state into ``self.figure`` from scratch (it has been cleared)."""
        self.build()
        self.update()

    def describe(self) -> str:
        """One or two sentences on what the figure now shows: caption and alt text."""
        raise NotImplementedError

    def problem(self) -> str:
        """Why the current settings cannot be drawn (shown instead of a figure), or ``""``."""
        return ""

    # --- redrawing ---------------------------------------------------------------------------

    @property
    def full_redraw(self) -> bool:
        """Whether each change clears the figure, draws it all, lays it out and saves it as
        a PNG (how every widget redrew before; benchmarks compare with it). Settable."""
        return self._canvas is None

    @full_redraw.setter
    def full_redraw(self, value: bool) -> None:
        if value:
            self._canvas = None
            FigureCanvasBase(self.figure)           # savefig's own canvas, as before
        elif self._canvas is None:
            self._canvas = FastCanvas(self.figure)
        self._built = _UNBUILT                      # built afresh on the next redraw
        self._background = None
        self._pictures.clear()
        self._pngs.clear()
        self.figure.set_layout_engine(self._layout_engine)

    def _on_change(self, change: dict[str, Any]) -> None:
        self.redraw()

    @property
    def _in_place(self) -> bool:
        return (not self.full_redraw
                and type(self).update is not InteractiveFigure.update)

    def redraw(self) -> None:
        """Redraw the figure and caption for the controls' current values.

        Drawing in place, Python's cycle collector waits until the picture and caption are
        out: a full collection of a notebook kernel's objects can take longer than a whole
        redraw, and would otherwise land in whichever redraw crossed its threshold.
        """
        started, cpu_started = time.perf_counter(), time.process_time()
        with _collector_held(not self.full_redraw):
            self._show()
            self.last_redraw_seconds = time.perf_counter() - started
            self.last_redraw_cpu_seconds = time.process_time() - cpu_started

    def _show(self) -> None:
        problem = self.problem()
        self.message.value = (f'<p style="color:#D55E00"><b>{html.escape(problem)}</b></p>'
                              if problem else "")
        # An impossible setting hides the last picture and caption: they describe settings
        # that are no longer on the sliders.
        self.image.layout.display = "none" if problem else None
        self.caption.layout.display = "none" if problem else None
        if problem:
            self.caption.value = ""
            return
        if self._in_place:
            self.image.value = self._draw_in_place()
        elif self.full_redraw:
            self.figure.clear()
            self.draw()
            self.image.value = figure_png(self.figure)
        else:
            self.figure.clear()
            self.draw()
            self._canvas.draw()
            self.image.value = png(self._canvas)
        self.caption.value = f"<p>{html.escape(self.describe())}</p>"

    def _draw_in_place(self) -> bytes:
        structure = self.structure()
        if structure != self._built:
            self.figure.clear()
            self.figure.set_layout_engine(self._layout_engine)
            self.build()
            self._built = structure
            self._background = None
        self.update()
        layers = self.layers()
        if layers is None:
            self._canvas.draw()
            return self._finish(None)
        if self._background is None:
            self._draw_background(layers)
        keys = [tuple(key for key, _ in layers[:depth + 1]) for depth in range(len(layers))]
        if keys and keys[-1] in self._pngs:
            self._pngs.move_to_end(keys[-1])
            return self._pngs[keys[-1]]
        self._draw_layers(layers, keys)
        return self._finish(keys[-1] if keys else None)

    def _draw_background(self, layers: Sequence[tuple[Hashable, Sequence[Artist]]]) -> None:
        """Draw everything but the layers' artists (the layout engine lays the figure out
        then) and keep it; forget the pictures kept of the figure as it was built before."""
        for _, artists in layers:
            for artist in artists:
                artist.set_animated(True)
        self._canvas.draw()
        self._background = self._canvas.copy_from_bbox(self.figure.bbox)
        self._pictures = [OrderedDict() for _ in layers]
        self._pngs.clear()

    def _draw_layers(self, layers: Sequence[tuple[Hashable, Sequence[Artist]]],
                     keys: list[tuple]) -> None:
        """Draw the layers over the deepest picture kept for their keys (or the background),
        keeping a picture of each layer but the top one (its PNG is kept instead)."""
        canvas, pictures = self._canvas, self._pictures
        while len(pictures) < len(layers):
            pictures.append(OrderedDict())
        start = next((depth + 1 for depth in reversed(range(len(layers)))
                      if keys[depth] in pictures[depth]), 0)
        canvas.restore_region(pictures[start - 1][keys[start - 1]] if start
                              else self._background)
        renderer = canvas.get_renderer()
        for depth in range(start, len(layers)):
            _draw_artists(layers[depth][1], renderer)
            if None not in keys[depth] and depth < len(layers) - 1:
                _keep(pictures[depth], keys[depth], canvas.copy_from_bbox(self.figure.bbox),
                      self.KEPT_PICTURES)

    def _finish(self, key: tuple | None) -> bytes:
        """The canvas as a PNG, kept under ``key`` unless it has a ``None``; the layout as
        the layout engine made it, from now on."""
        if not isinstance(self.figure.get_layout_engine(), (type(None),
                                                            PlaceHolderLayoutEngine)):
            self.figure.set_layout_engine("none")
        picture = png(self._canvas)
        if key is not None and None not in key:
            _keep(self._pngs, key, picture, self.KEPT_PNGS)
        return picture

    @property
    def showing_figure(self) -> bool:
        """Whether the picture and caption are on screen (not hidden by a problem message)."""
        return self.image.layout.display != "none"

    def static(self) -> FigureDisplay:
        """The current state as a static figure with alt text."""
        return FigureDisplay(self.figure, alt=self.describe(),
                             png=bytes(self.image.value) or None)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = super()._repr_mimebundle_(**kwargs) or {}
        problem = self.problem()
        if problem:  # no picture of settings that cannot be drawn: the message alone
            bundle["text/html"] = f"<p><b>{html.escape(problem)}</b></p>"
            bundle["text/plain"] = f"[interactive figure] {problem}"
            bundle.pop("image/png", None)
            return bundle
        encoded = base64.b64encode(self.image.value).decode("ascii")
        alt = html.escape(self.describe(), quote=True)
        bundle["text/html"] = (f'<img src="data:image/png;base64,{encoded}" alt="{alt}" '
                               f'style="max-width: 100%"/><p>{alt}</p>')
        bundle["image/png"] = encoded
        bundle["text/plain"] = f"[interactive figure] {self.describe()}"
        return bundle


@contextmanager
def _collector_held(hold: bool) -> Iterator[None]:
    """Keep Python's cycle collector from running in the block, if ``hold``; it runs at the
    next allocation after."""
    held = hold and gc.isenabled()
    if held:
        gc.disable()
    try:
        yield
    finally:
        if held:
            gc.enable()


def _keep(kept: OrderedDict, key: Hashable, value: Any, most: int) -> None:
    kept[key] = value
    kept.move_to_end(key)
    if len(kept) > most:
        kept.popitem(last=False)


def _draw_artists(artists: Sequence[Artist], renderer: Any) -> None:
    """Draw ``artists`` in order, texts by :func:`~stridelab._canvas.draw_texts`."""
    texts: list[Text] = []
    for artist in artists:
        artist.set_animated(True)                   # new ones too: never in the background
        if type(artist) is Text:
            texts.append(artist)
            continue
        if texts:
            draw_texts(texts, renderer)
            texts = []
        artist.draw(renderer)
    draw_texts(texts, renderer)


def drawing_order(figure: Figure) -> list[Artist]:
    """Everything on ``figure`` but its background, in the order ``Figure.draw`` draws it."""
    return sorted(figure.get_children()[1:], key=lambda artist: artist.get_zorder())
