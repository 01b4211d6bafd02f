"""Moving and transforming a layer or the selected pixels: lift, preview, apply as one step.

The move and transform tools lift the pixels off the layer (`FloatingPixels`), show them with
a QTransform while the artist drags, and on Enter resample once and push one undo step that
gives the layer its new pixels (undo puts back the very same image, so it is pixel-exact).
While dragging only a scaled-down preview copy is drawn, so a 4096² layer stays interactive.
The lifted state is not in the history: `cancel()` restores the layer exactly.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QImage, QPainter, QTransform

from . import commands as C
from .errors import DocumentError
from .image_io import native_view, new_image
from .layer import Layer
from .limits import check_size
from .pixel_edit import erase
from .selection import Selection, coverage_image, gray_to_array
from .selection_state import SelectionCommand

if TYPE_CHECKING:
    from .document import Document

PREVIEW_SIDE = 1536
"""Longest side of the copy drawn while dragging (the result is resampled from the original)."""


def is_translation(t: QTransform) -> bool:
    """True when `t` only moves by whole pixels (applied without resampling)."""
    kind = t.type()
    return (kind in (QTransform.TransformationType.TxNone, QTransform.TransformationType.TxTranslate)
            and float(t.dx()).is_integer() and float(t.dy()).is_integer())


def _is_quarter_turn(t: QTransform) -> bool:
    """True for flips and rotations by multiples of 90° (no scale, no shear)."""
    m = (t.m11(), t.m12(), t.m21(), t.m22())
    return all(v in (-1.0, 0.0, 1.0) for v in m) and abs(t.determinant()) == 1.0


def transformed(image: QImage, origin: QPointF, t: QTransform,
                mode: Qt.TransformationMode = Qt.TransformationMode.SmoothTransformation
                ) -> tuple[QImage, QPoint]:
    """`image` placed at `origin` (document) and mapped by `t` (document → document): the
    resampled pixels and their top-left position."""
    if is_translation(t):
        return image, QPoint(round(origin.x() + t.dx()), round(origin.y() + t.dy()))
    local = QTransform.fromTranslate(origin.x(), origin.y()) * t
    box = local.mapRect(QRectF(0, 0, image.width(), image.height()))
    check_size(math.ceil(box.width()), math.ceil(box.height()), "The transformed image")
    if _is_quarter_turn(local) and box.x().is_integer() and box.y().is_integer():
        # flips and 90° turns by whole pixels move pixels without resampling: exact
        out = image.transformed(local, Qt.TransformationMode.FastTransformation)
        return out, QPoint(int(box.x()), int(box.y()))
    out = image.transformed(local, mode)
    if out.isNull():
        raise DocumentError("Not enough memory for the transformed image.")
    # Qt places the result's pixel (0, 0) at the mapped box's top-left (its "true matrix")
    true = QImage.trueMatrix(local, image.width(), image.height())
    shift = local.map(QPointF(0, 0)) - true.map(QPointF(0, 0))
    return out, QPoint(round(shift.x()), round(shift.y()))


class FloatingPixels:
    """Pixels lifted off `layer` (the selected ones, or all) until `apply` or `cancel`."""

    def __init__(self, doc: Document, layer: Layer, selection: Selection | None):
        if layer.is_mask and selection is None:
            raise DocumentError("Select the paint layer to move, or select pixels of the mask.")
        if not layer.visible:
            raise DocumentError(f'Layer "{layer.name}" is hidden: show it to move it.')
        self.doc, self.layer, self.selection = doc, layer, selection
        self.original = (layer.image, layer.x, layer.y)
        pos = QPoint(layer.x, layer.y)
        if selection is None:
            self.image = layer.image
            self.origin = QPointF(pos)
            lifted, lifted_pos = new_image(1, 1), pos
        else:
            box = selection.rect & layer.bounds()
            if box.isEmpty():
                raise DocumentError(f'The selection does not touch layer "{layer.name}".')
            self.image = layer.image.copy(box.translated(-pos))
            erase(native_view(self.image), 255 - selection.crop(box))
            self.origin = QPointF(box.topLeft())
            lifted = layer.image.copy()
            view = native_view(lifted)
            local = box.translated(-pos)
            erase(view[local.top() : local.bottom() + 1, local.left() : local.right() + 1],
                  selection.crop(box))
            lifted_pos = pos
        self.lifted = (lifted, lifted_pos.x(), lifted_pos.y())
        side = max(self.image.width(), self.image.height())
        if side > PREVIEW_SIDE:
            self.preview = self.image.scaled(
                self.image.width() * PREVIEW_SIDE // side or 1,
                self.image.height() * PREVIEW_SIDE // side or 1,
                Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation)
        else:
            self.preview = self.image
        doc.stack.replace_image(layer, *self.lifted)
        self.done = False

    @property
    def rect(self) -> QRectF:
        """The lifted pixels' rectangle in document coordinates (before the transform)."""
        return QRectF(self.origin, QRectF(self.image.rect()).size())

    def preview_transform(self, t: QTransform) -> QTransform:
        """Maps the preview image's pixels to document coordinates under `t`."""
        sx = self.image.width() / self.preview.width()
        sy = self.image.height() / self.preview.height()
        return (QTransform.fromScale(sx, sy)
                * QTransform.fromTranslate(self.origin.x(), self.origin.y()) * t)

    def draw_preview(self, painter: QPainter, t: QTransform) -> None:
        """Draw the pixels under `t` with `painter` (its transform maps document → screen)."""
        painter.save()
        painter.setTransform(self.preview_transform(t) * painter.transform())
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        painter.drawImage(QPoint(0, 0), self.preview)
        painter.restore()

    def cancel(self) -> None:
        """Put the layer back exactly as it was; nothing enters the history."""
        if not self.done:
            self.done = True
            self.doc.stack.replace_image(self.layer, *self.original)

    def apply(self, t: QTransform, text: str = "Transform") -> None:
        """Resample once and push one undo step (layer pixels, and the selection with them)."""
        if self.done:
            raise DocumentError("This transform was already applied or cancelled.")
        img, pos = transformed(self.image, self.origin, t)
        if self.selection is None:
            new_img, nx, ny = img, pos.x(), pos.y()
        else:
            base, bx, by = self.lifted
            union = QRect(bx, by, base.width(), base.height()) | QRect(pos, img.size())
            check_size(union.width(), union.height(), "The transformed layer")
            new_img = new_image(union.width(), union.height())
            p = QPainter(new_img)
            p.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
            p.drawImage(QPoint(bx, by) - union.topLeft(), base)
            p.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)
            p.drawImage(pos - union.topLeft(), img)
            p.end()
            nx, ny = union.x(), union.y()
        doc, layer = self.doc, self.layer
        self.done = True
        doc.stack.replace_image(layer, *self.original)
        parts = [C.ReplaceImageCommand(doc, layer, new_img, nx, ny, "")]
        if self.selection is not None:
            parts.append(SelectionCommand(doc.selection, self._moved_selection(t), ""))
        doc.undo_stack.push(C.MacroCommand(text, parts))

    def _moved_selection(self, t: QTransform) -> Selection | None:
        sel = self.selection
        if is_translation(t):
            moved = Selection(sel.x + round(t.dx()), sel.y + round(t.dy()), sel.cov)
            return Selection.from_array(moved.crop(self.doc.rect()))
        cov = coverage_image(sel, QImage.Format.Format_Alpha8)
        local = QTransform.fromTranslate(sel.x, sel.y) * t
        out = cov.transformed(local, Qt.TransformationMode.SmoothTransformation)
        true = QImage.trueMatrix(local, cov.width(), cov.height())
        shift = local.map(QPointF(0, 0)) - true.map(QPointF(0, 0))
        arr = gray_to_array(out.convertToFormat(QImage.Format.Format_Alpha8))
        placed = Selection.from_array(arr, round(shift.x()), round(shift.y()))
        if placed is None:
            return None
        return Selection.from_array(placed.crop(self.doc.rect()))


def move_layer_pixels(doc: Document, layer: Layer, dx: int, dy: int) -> None:
    """Move the selected pixels of `layer` by whole pixels (the layer itself without a
    selection), one undo step."""
    sel = doc.selection.value
    if sel is None:
        doc.set_layer_offset(layer, layer.x + dx, layer.y + dy, merge=True)
        return
    floating = FloatingPixels(doc, layer, sel)
    floating.apply(QTransform.fromTranslate(dx, dy), "Move selection")
