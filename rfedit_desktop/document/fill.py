"""Fill: the selection with a colour, an area of similar colour (fill tool), and Delete.

Each is one undo step storing only the tiles it touched (see pixel_edit). Without a
selection, filling the selection fills the whole layer and Delete clears the whole layer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QPoint
from PySide6.QtGui import QColor

from . import flood
from .errors import DocumentError
from .layer import Layer
from .pixel_edit import blend_colour, edit_pixels, erase
from .selection import Selection
from .selection_state import sample_pixels

if TYPE_CHECKING:
    from .document import Document


def _target(doc: Document, layer: Layer | None) -> Layer:
    la = layer if layer is not None else doc.active_layer
    if la is None:
        raise DocumentError("Select a layer first.")
    if not la.visible:
        raise DocumentError(f'Layer "{la.name}" is hidden: show it to change it.')
    return la


def fill_selection(doc: Document, color: QColor, layer: Layer | None = None,
                   text: str = "Fill") -> None:
    """Paint `color` over the selection (soft edges blend), or the whole layer without one."""
    la = _target(doc, layer)
    sel = doc.selection.value
    rect = sel.rect if sel is not None else la.bounds()
    edit_pixels(doc, la, rect,
                lambda px, box: blend_colour(px, None if sel is None else sel.crop(box), color),
                text)


def clear_selection(doc: Document, layer: Layer | None = None) -> None:
    """Delete: make the selected pixels transparent (the whole layer without a selection)."""
    la = layer if layer is not None else doc.active_layer
    sel = doc.selection.value
    if sel is None:
        doc.clear_layer(la)
        return
    la = _target(doc, la)
    edit_pixels(doc, la, sel.rect, lambda px, box: erase(px, sel.crop(box)),
                f'Clear selection on "{la.name}"')


def fill_area(doc: Document, point: QPoint, color: QColor, tolerance: int = 32, *,
              contiguous: bool = True, merged: bool = False,
              layer: Layer | None = None) -> None:
    """The fill tool: paint the area of colour similar to the pixel at `point` (connected to
    it when `contiguous`), sampled from the layer or the visible image, inside the selection."""
    la = _target(doc, layer)
    x, y = int(point.x()), int(point.y())
    if not doc.rect().contains(x, y):
        raise DocumentError("Click inside the picture to fill.")
    area = flood.region(sample_pixels(doc, merged), (x, y), tolerance, contiguous)
    region = Selection.from_array(area.view(np.uint8) * np.uint8(255))
    sel = doc.selection.value
    if region is not None and sel is not None:
        region = region.combine(sel, "intersect")
    if region is None:
        raise DocumentError("Nothing to fill here: the area is outside the selection.")
    edit_pixels(doc, la, region.rect, lambda px, box: blend_colour(px, region.crop(box), color),
                "Fill area")

