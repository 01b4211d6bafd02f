"""Reading the Document's pixels: the composite, single layers, the mask, thumbnails.

A mixin of `Document`: what the canvas, the AI edit and the layers panel read, apart from
what changes the document.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QPoint, QRect
from PySide6.QtGui import QImage, QPainter

from .composite import composite_layers
from .errors import DocumentError
from .image_io import fit_smoothly, new_image, qimage_to_array

if TYPE_CHECKING:
    from .document import LayerRef
    from .layer import Layer

class PixelAccess:
    """The document's pixels as QImages and numpy arrays, at document size.

    Mixed into `Document`: uses its size, composite cache (`_cache`) and layer lookups.
    """

    def composite(self, rect: QRect | None = None) -> QImage:
        """The visible picture (no mask) over `rect` (default all), ARGB32_Premultiplied."""
        return self._cache.render(rect)

    def composite_for_edit(self, source: str = "visible") -> np.ndarray:
        """Pixels for the AI edit as HxWx4 straight RGBA uint8 at document size.

        `source="visible"`: the composite (no mask). `source="active"`: the active layer alone,
        placed at its offset on a transparent canvas.
        """
        return qimage_to_array(self.picture_for_edit(source), straight=True)

    def picture_for_edit(self, source: str = "visible") -> QImage:
        """The same picture as `composite_for_edit`, as the QImage it is made from (to show
        it as the edit's original without converting it back)."""
        if source == "visible":
            return self.composite()
        if source == "active":
            layer = self.edit_target_layer()
            if layer is None:
                raise DocumentError("There is no paint layer to edit.")
            return self._layer_on_canvas(layer)
        raise ValueError(f"source must be 'visible' or 'active', not {source!r}")

    def layer_array(self, layer: LayerRef, straight: bool = True) -> np.ndarray:
        """One layer (or a group's picture) at document size as HxWx4 RGBA uint8 (outside its
        bounds: transparent)."""
        return qimage_to_array(self._layer_on_canvas(self.layer(layer)), straight=straight)

    def mask_coverage(self) -> np.ndarray | None:
        """The edit region as HxW uint8 coverage (255 = may change), or None.

        None when there is no mask layer or it is empty (an empty region would forbid every
        change). The mask applies even while its overlay is hidden. Edit requests carry this
        8-bit form: the engine reads it as coverage / 255, a quarter of a float mask's bytes.
        """
        mask = self.mask_layer
        if mask is None:
            return None
        canvas = self._layer_on_canvas(mask)
        alpha = qimage_to_array(canvas, straight=False)[..., 3]
        if not alpha.any():
            return None
        return np.ascontiguousarray(alpha)

    def mask_array(self) -> np.ndarray | None:
        """The edit region as HxW float32 in [0, 1] (1 = may change), or None."""
        coverage = self.mask_coverage()
        return None if coverage is None else coverage.astype(np.float32) / 255.0

    def thumbnail(self, max_side: int = 256) -> QImage:
        """The composite scaled down to fit `max_side` (OpenRaster thumbnail, recent files);
        a smaller picture is its own thumbnail, never blown up."""
        composite = self.composite()
        if max(composite.width(), composite.height()) <= max_side:
            return composite
        return fit_smoothly(composite, max_side)

    def _layer_on_canvas(self, layer: Layer) -> QImage:
        if layer.is_group:  # the group's own picture, composited alone
            canvas = new_image(self._w, self._h)
            composite_layers([layer], canvas, QPoint(0, 0), self.rect())
            return canvas
        if layer.bounds() == self.rect():
            return layer.image
        canvas = new_image(self._w, self._h)
        p = QPainter(canvas)
        p.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
        p.drawImage(QPoint(layer.x, layer.y), layer.image)
        p.end()
        return canvas
