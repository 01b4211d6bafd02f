"""The document's current selection: what is selected, changed as undoable steps.

As in Krita and Photoshop, selecting is part of the history (Ctrl+Z after a wrong click of the
magic wand gives the old selection back). `Document.selection` is one of these; tools and
menus call the methods below, each one step in the History panel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, QPoint, QPointF, QRectF, Signal
from PySide6.QtGui import QImage, QPainterPath, QUndoCommand

from . import flood
from .errors import DocumentError
from .image_io import const_view, native_view, new_image
from .selection import (
    MODES,
    Selection,
    check_shape,
    ellipse_path,
    polygon_path,
    rect_path,
)

if TYPE_CHECKING:
    from .document import Document

MAX_RADIUS = 500
"""Largest feather, grow or shrink radius in pixels."""


class SelectionCommand(QUndoCommand):
    def __init__(self, state: DocumentSelection, new: Selection | None, text: str):
        super().__init__(text)
        self.state, self.old, self.new = state, state.value, new

    def redo(self) -> None:
        self.state._set(self.new)

    def undo(self) -> None:
        self.state._set(self.old)


class DocumentSelection(QObject):
    """The selection of one document. `changed` fires after every change (also undo/redo)."""

    changed = Signal()

    def __init__(self, doc: Document):
        super().__init__(doc)
        self._doc = doc
        self._value: Selection | None = None

    # ---------------------------------------------------------------- reading
    @property
    def value(self) -> Selection | None:
        """The selection, or None when nothing is selected (operations use the whole layer)."""
        return self._value

    @property
    def active(self) -> bool:
        return self._value is not None

    def coverage(self) -> np.ndarray | None:
        """HxW uint8 at document size (255 = selected), or None."""
        if self._value is None:
            return None
        return self._value.full(self._doc.width, self._doc.height)

    def mask_array(self) -> np.ndarray | None:
        """HxW float32 in [0, 1] at document size, or None."""
        if self._value is None:
            return None
        return self._value.mask_array(self._doc.width, self._doc.height)

    def edit_coverage(self) -> np.ndarray | None:
        """The region an AI edit may change, as HxW uint8 coverage: the selection (feathered
        as it is) when there is one, else the painted edit mask, else None (the whole
        picture)."""
        if self._value is not None:
            return self.coverage()
        return self._doc.mask_coverage()

    def edit_mask(self) -> np.ndarray | None:
        """`edit_coverage` as HxW float32 in [0, 1]."""
        coverage = self.edit_coverage()
        return None if coverage is None else coverage.astype(np.float32) / 255.0

    # ---------------------------------------------------------------- changing
    def set(self, value: Selection | None, text: str) -> None:
        """Make `value` the selection as one undo step (nothing happens if it is unchanged)."""
        if value is self._value:
            return
        self._doc.undo_stack.push(SelectionCommand(self, value, text))

    def select_shape(self, path: QPainterPath, mode: str = "replace", text: str = "Select") -> None:
        """Combine an anti-aliased shape (document coordinates) with the selection."""
        if mode not in MODES:
            raise DocumentError(f"Unknown selection mode {mode!r}.")
        shape = Selection.from_path(path, self._doc.width, self._doc.height)
        if shape is None and mode in ("replace", "add"):
            raise DocumentError("The shape lies outside the picture: nothing to select.")
        self._combine(shape, mode, text)

    def select_rect(self, rect: QRectF, mode: str = "replace") -> None:
        check_shape(QRectF(rect))
        self.select_shape(rect_path(QRectF(rect)), mode, "Rectangle selection")

    def select_ellipse(self, rect: QRectF, mode: str = "replace") -> None:
        check_shape(QRectF(rect))
        self.select_shape(ellipse_path(QRectF(rect)), mode, "Ellipse selection")

    def select_polygon(self, points: list[QPointF], mode: str = "replace",
                       text: str = "Lasso selection") -> None:
        if len(points) < 3:
            raise DocumentError("A lasso needs at least three points.")
        path = polygon_path([QPointF(p) for p in points])
        check_shape(path.boundingRect())
        self.select_shape(path, mode, text)

    def magic_wand(self, point: QPoint, tolerance: int = 32, *, merged: bool = False,
                   mode: str = "replace") -> None:
        """Select the contiguous area of similar colour around `point` on the active layer
        (or the visible image with `merged`)."""
        x, y = int(point.x()), int(point.y())
        if not (0 <= x < self._doc.width and 0 <= y < self._doc.height):
            raise DocumentError("Click inside the picture to select by colour.")
        pixels = sample_pixels(self._doc, merged)
        area = flood.region(pixels, (x, y), tolerance)
        shape = Selection.from_array(area.view(np.uint8) * np.uint8(255))
        self._combine(shape, mode, "Magic wand")

    def select_all(self) -> None:
        full = np.full((self._doc.height, self._doc.width), 255, np.uint8)
        self.set(Selection.from_array(full), "Select all")

    def deselect(self) -> None:
        if self._value is not None:
            self.set(None, "Deselect")

    def invert(self) -> None:
        w, h = self._doc.width, self._doc.height
        if self._value is None:
            self.select_all()
            return
        self.set(self._value.inverted(w, h), "Invert selection")

    def feather(self, radius: float) -> None:
        self._morph("feathered", radius, "Feather selection")

    def grow(self, radius: int) -> None:
        self._morph("grown", radius, "Grow selection")

    def shrink(self, radius: int) -> None:
        self._morph("shrunk", radius, "Shrink selection")

    def from_mask_layer(self) -> None:
        """Mask to selection: the edit mask's coverage becomes the selection."""
        mask = self._doc.mask_array()
        if mask is None:
            raise DocumentError("There is no edit mask to select: paint one with the mask brush.")
        cov = np.rint(mask * 255.0).astype(np.uint8)
        self.set(Selection.from_array(cov), "Mask to selection")

    def to_mask_layer(self) -> None:
        """Selection to mask: the edit mask becomes the selection's coverage (one step)."""
        if self._value is None:
            raise DocumentError("Select something first: the mask becomes the selection.")
        from . import commands as C

        doc = self._doc
        cov = self.coverage()
        img = new_image(doc.width, doc.height)
        view = native_view(img)
        view[...] = cov[..., None]  # white at the coverage, premultiplied
        mask = doc.mask_layer
        if mask is None:
            previous = doc.active_layer
            layer = _mask_layer(img)
            parts = [C.AddLayerCommand(doc, layer, doc.root, len(doc.root.children), ""),
                     C.SetActiveChild(doc, previous)]
            doc.undo_stack.push(C.MacroCommand("Selection to mask", parts))
        else:
            parts = [C.ReplaceImageCommand(doc, mask, img, 0, 0, "")]
            if not mask.visible:
                parts.append(C.SetLayerPropertyCommand(doc, mask, "visible", True, "", -1))
            doc.undo_stack.push(C.MacroCommand("Selection to mask", parts))

    # ---------------------------------------------------------------- internals
    def _combine(self, shape: Selection | None, mode: str, text: str) -> None:
        if self._value is None:
            new = shape if mode in ("replace", "add") else None
            if new is None and mode == "intersect":
                return
            if mode == "subtract":
                return
        else:
            new = self._value.combine(shape, mode)
        self.set(new, text)

    def _morph(self, op: str, radius: float, text: str) -> None:
        if self._value is None:
            raise DocumentError("Select something first.")
        if not 0 < radius <= MAX_RADIUS:
            raise DocumentError(f"The radius must be between 1 and {MAX_RADIUS} pixels.")
        new = getattr(self._value, op)(radius, self._doc.width, self._doc.height)
        self.set(new, text)

    def _set(self, value: Selection | None) -> None:
        self._value = value
        self.changed.emit()


def sample_pixels(doc: Document, merged: bool) -> np.ndarray:
    """HxWx4 premultiplied pixels at document size for colour tests: the visible image, or the
    active paint layer (transparent outside its bounds)."""
    if merged:
        return const_view(doc.composite()).copy()  # the view must not outlive the image
    layer = doc.edit_target_layer()
    if layer is None:
        raise DocumentError("There is no paint layer to sample.")
    image = doc._layer_on_canvas(layer)
    return const_view(image) if image is layer.image else const_view(image).copy()


def _mask_layer(image: QImage):
    from .layer import MASK, Layer

    return Layer(name="Edit mask", image=image, kind=MASK)
