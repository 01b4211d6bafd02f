"""One layer of the stack: pixels plus the properties that say how they are composited.

Pixels are a QImage in ARGB32_Premultiplied rather than a numpy array: QPainter composites that
format in C++ (blend modes, opacity, offsets) without conversion, the window can draw a layer or
its thumbnail directly, and numpy still gets a zero-copy view for brush dabs (`array()`).

A Layer is plain data. Change it only through Document methods (they push undo commands and
emit signals); writing its fields directly bypasses the history and the composite cache.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QRect
from PySide6.QtGui import QImage

from .image_io import native_view, qimage_to_array

PAINT = "paint"
MASK = "mask"
KINDS = (PAINT, MASK)

_ids = itertools.count(1)


def next_layer_id() -> int:
    """A fresh layer id. Ids are unique within a document and stable across save and load
    (stored as rfedit:id), so edit-history entries can name the layer they created."""
    return next(_ids)


def reserve_layer_id(used: int) -> None:
    """Make sure later ids are above `used` (after loading ids from a file)."""
    global _ids
    current = next(_ids)
    _ids = itertools.count(max(current, used + 1))


@dataclass(eq=False)
class Layer:
    """A raster layer (kind "paint") or the edit-region mask (kind "mask").

    - `image`: the pixels, ARGB32_Premultiplied, any size; placed at (`x`, `y`) in the document.
    - `opacity` 0..1, `blend_mode` a key of blend.BLEND_MODES, `visible`.
    - A mask layer is never composited into the picture nor exported as pixels of it; its alpha
      is the region an AI edit may change (see Document.mask_array) and the window draws it as
      a tinted overlay. `visible` on a mask only shows or hides that overlay.
    - `alpha_locked`: brushes change colour but not coverage (painting inside existing pixels).
    """

    name: str
    image: QImage
    kind: str = PAINT
    visible: bool = True
    opacity: float = 1.0
    blend_mode: str = "normal"
    x: int = 0
    y: int = 0
    alpha_locked: bool = False
    id: int = field(default_factory=next_layer_id)

    @property
    def is_mask(self) -> bool:
        return self.kind == MASK

    @property
    def width(self) -> int:
        return self.image.width()

    @property
    def height(self) -> int:
        return self.image.height()

    def bounds(self) -> QRect:
        """The layer's rectangle in document coordinates."""
        return QRect(self.x, self.y, self.image.width(), self.image.height())

    def array(self) -> np.ndarray:
        """Writable HxWx4 uint8 view of the premultiplied pixels, bytes in image_io.NATIVE_RGBA
        order (B, G, R, A on little-endian). Take a fresh view per operation."""
        return native_view(self.image)

    def rgba(self, straight: bool = True) -> np.ndarray:
        """A copy of the pixels as HxWx4 RGBA (straight alpha unless `straight=False`)."""
        return qimage_to_array(self.image, straight=straight)

    def nbytes(self) -> int:
        return int(self.image.sizeInBytes())

    def copy(self, name: str | None = None) -> Layer:
        """A deep copy with a new id (for duplicate)."""
        return Layer(
            name=self.name if name is None else name,
            image=self.image.copy(),
            kind=self.kind,
            visible=self.visible,
            opacity=self.opacity,
            blend_mode=self.blend_mode,
            x=self.x,
            y=self.y,
            alpha_locked=self.alpha_locked,
        )

    def properties(self) -> dict:
        """Everything but the pixels, for tests, files and the layers panel."""
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "visible": self.visible,
            "opacity": self.opacity,
            "blend_mode": self.blend_mode,
            "x": self.x,
            "y": self.y,
            "alpha_locked": self.alpha_locked,
            "width": self.width,
            "height": self.height,
        }
