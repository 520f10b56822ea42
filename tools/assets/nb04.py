"""Assets of notebook 04 (feature maps)."""

from __future__ import annotations

from collections.abc import Callable

from tools.assets import widget_gif


def feature_map_strides_gif() -> bytes:
    """The vertical-edge map of the sample photograph at strides 1 to 4, one frame each."""
    from stridelab.featuremaps import FeatureMapExplorer

    explorer = FeatureMapExplorer()
    return widget_gif(explorer, explorer.stride, (1, 2, 3, 4), seconds_per_frame=1.5)


ASSETS: dict[str, Callable[[], bytes]] = {
    "feature_map_strides.gif": feature_map_strides_gif,
}
