"""Checks shared by the tests of the notebooks' interactive figures."""

from __future__ import annotations

from typing import Any


def assert_control_redraws(widget: Any, control: str, value: Any) -> None:
    """Setting ``widget.<control>`` to ``value`` shows a new picture and a new caption."""
    before_caption, before_image = widget.caption.value, widget.image.value
    getattr(widget, control).value = value
    assert widget.caption.value != before_caption, f"{control} = {value!r}: same caption"
    assert widget.image.value != before_image, f"{control} = {value!r}: same picture"
