"""The base of every interactive figure in the course: controls, a picture, a caption.

:class:`InteractiveFigure` redraws a matplotlib figure into an image whenever a control
changes, and writes a one-sentence caption saying what the picture shows (which doubles
as its text alternative). Where no widget front end is running — exported HTML, GitHub,
a test run by nbclient — it still shows the figure of its initial state, with alt text.

Subclasses implement :meth:`draw` and :meth:`describe`.
"""

from __future__ import annotations

import base64
import html
import time
from typing import Any

import ipywidgets as widgets

from stridelab.plotting import FigureDisplay, figure_png, new_figure

__all__ = ["InteractiveFigure"]


class InteractiveFigure(widgets.VBox):
    """A figure that redraws when its controls change, and a caption describing it."""

    def __init__(self, controls: list[widgets.Widget], width: float, height: float,
                 dpi: int = 80) -> None:
        self.figure = new_figure(width, height, dpi=dpi)
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.caption = widgets.HTML(layout=widgets.Layout(max_width="100%"))
        self.message = widgets.HTML()
        self.controls = controls
        self.last_redraw_seconds = 0.0
        """How long the latest redraw took (benchmarks read it)."""
        super().__init__([widgets.HBox(controls, layout=widgets.Layout(flex_flow="row wrap")),
                          self.message, self.image, self.caption])
        for control in controls:
            # A Play button drives a slider it is linked to; watching both would redraw twice.
            if not isinstance(control, widgets.Play):
                control.observe(self._on_change, names="value")
        self.redraw()

    def draw(self) -> None:
        """Draw the current state into ``self.figure`` (it has been cleared)."""
        raise NotImplementedError

    def describe(self) -> str:
        """One or two sentences on what the figure now shows: caption and alt text."""
        raise NotImplementedError

    def problem(self) -> str:
        """Why the current settings cannot be drawn (shown instead of a figure), or ``""``."""
        return ""

    def _on_change(self, change: dict[str, Any]) -> None:
        self.redraw()

    def redraw(self) -> None:
        """Redraw the figure and caption for the controls' current values."""
        started = time.perf_counter()
        problem = self.problem()
        self.message.value = (f'<p style="color:#D55E00"><b>{html.escape(problem)}</b></p>'
                              if problem else "")
        # An impossible setting hides the last picture and caption: they describe settings
        # that are no longer on the sliders.
        self.image.layout.display = "none" if problem else None
        self.caption.layout.display = "none" if problem else None
        if problem:
            self.caption.value = ""
        else:
            self.figure.clear()
            self.draw()
            self.image.value = figure_png(self.figure)
            self.caption.value = f"<p>{html.escape(self.describe())}</p>"
        self.last_redraw_seconds = time.perf_counter() - started

    @property
    def showing_figure(self) -> bool:
        """Whether the picture and caption are on screen (not hidden by a problem message)."""
        return self.image.layout.display != "none"

    def static(self) -> FigureDisplay:
        """The current state as a static figure with alt text."""
        return FigureDisplay(self.figure, alt=self.describe())

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
