"""The nodes of the layer stack: a raster Layer (pixels plus how they are composited) and a
LayerGroup (child nodes composited together, OpenRaster's nested <stack>).

Pixels are a QImage in ARGB32_Premultiplied rather than a numpy array: QPainter composites that
format in C++ (blend modes, opacity, offsets) without conversion, the window can draw a layer or
its thumbnail directly, and numpy still gets a zero-copy view for brush dabs (`array()`).

Both are plain data. Change them only through Document methods (they push undo commands, which
change the document's LayerStack, which signals); writing fields directly bypasses the history
and the composite cache.
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
    parent: LayerGroup | None = field(default=None, repr=False)
    """The group holding this layer (the stack's root for a top-level layer); set by LayerStack."""

    is_group = False

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


@dataclass(eq=False)
class LayerGroup:
    """Child nodes (bottom first) composited together, then onto what lies below.

    A group with opacity below 1, a blend mode other than normal or `isolated` set is
    composited as a unit first (OpenRaster's isolation rule, `isolation="isolate"` or "auto");
    a normal, fully opaque, non-isolated group passes its children through to the backdrop,
    which gives the same picture and costs no buffer.
    """

    name: str
    children: list[Layer | LayerGroup] = field(default_factory=list)
    visible: bool = True
    opacity: float = 1.0
    blend_mode: str = "normal"
    isolated: bool = False
    id: int = field(default_factory=next_layer_id)
    parent: LayerGroup | None = field(default=None, repr=False)

    is_group = True
    is_mask = False
    kind = "group"
    alpha_locked = False

    @property
    def composited_as_unit(self) -> bool:
        return self.isolated or self.opacity < 1.0 or self.blend_mode != "normal"

    def bounds(self) -> QRect:
        """The union of the children's rectangles (empty for an empty group)."""
        out = QRect()
        for child in self.children:
            out |= child.bounds()
        return out

    def descendants(self) -> list[Layer | LayerGroup]:
        """Every node inside, depth first, bottom first (a group after its children)."""
        out: list[Layer | LayerGroup] = []
        for child in self.children:
            if child.is_group:
                out.extend(child.descendants())
            out.append(child)
        return out

    def layers(self) -> list[Layer]:
        """The raster layers inside, bottom first."""
        return [n for n in self.descendants() if not n.is_group]

    def nbytes(self) -> int:
        return sum(la.nbytes() for la in self.layers())

    def copy(self, name: str | None = None) -> LayerGroup:
        """A deep copy with new ids (for duplicate)."""
        group = LayerGroup(
            name=self.name if name is None else name,
            visible=self.visible,
            opacity=self.opacity,
            blend_mode=self.blend_mode,
            isolated=self.isolated,
        )
        group.children = [child.copy() for child in self.children]
        for child in group.children:
            child.parent = group
        return group

    def properties(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "visible": self.visible,
            "opacity": self.opacity,
            "blend_mode": self.blend_mode,
            "isolated": self.isolated,
            "children": [child.id for child in self.children],
        }


Node = Layer | LayerGroup
"""Anything in the layer stack."""
