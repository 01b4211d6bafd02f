"""Whole-image geometry: crop, canvas size, image size, rotate by 90°, flip; one undo step each.

Memory matters on a 4096² x 10-layer picture (640 MB of layers), so no command keeps a second
copy of every layer:
- rotations and flips are exact and their own inverse, so undo runs the opposite operation
  and stores no pixels;
- crop (and canvas size, a crop to a rectangle that may reach past the picture) keeps the
  pixels it cuts away as the bands around the kept part, never the whole old layer;
- image size resamples, which cannot be undone exactly: it keeps the old images, as any
  resampling editor must (the old pixels are the undo data).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QImage, QPainter, QTransform, QUndoCommand

from .errors import DocumentError
from .image_io import NATIVE_RGBA, const_view, native_view, new_image
from .layer import Layer
from .limits import check_size
from .selection import Selection, coverage_image, gray_to_array

if TYPE_CHECKING:
    from .document import Document

ANCHORS = {
    "top-left": (0.0, 0.0), "top": (0.5, 0.0), "top-right": (1.0, 0.0),
    "left": (0.0, 0.5), "center": (0.5, 0.5), "right": (1.0, 0.5),
    "bottom-left": (0.0, 1.0), "bottom": (0.5, 1.0), "bottom-right": (1.0, 1.0),
}
"""Where the old picture sits in a new canvas (fractions of the added width and height)."""

RESAMPLING = ("smooth", "lanczos", "nearest")


def _layers(doc: Document) -> list[Layer]:
    """Every raster layer whose pixels geometry changes (the mask included)."""
    return doc.layers


# ------------------------------------------------------------------ crop and canvas size
class _CroppedLayer:
    """One layer's crop: the kept part is the layer's image after redo; the cut-away bands
    are kept until undo puts them back."""

    def __init__(self, layer: Layer):
        self.layer = layer
        self.old_rect = layer.bounds()
        self.bands: list[tuple[QPoint, QImage]] = []

    def cut(self, rect: QRect) -> tuple[QImage, QPoint]:
        """The kept image and its position in the new canvas; the rest goes to `bands`."""
        la, old = self.layer, self.old_rect
        keep = old & rect
        if keep == old:
            self.bands = []
            return la.image, old.topLeft() - rect.topLeft()
        if keep.isEmpty():
            self.bands = [(QPoint(0, 0), la.image)]
            new, pos = new_image(1, 1), QPoint(0, 0)
        else:
            local = keep.translated(-old.topLeft())
            w, h = old.width(), old.height()
            parts = [
                QRect(0, 0, w, local.top()),
                QRect(0, local.bottom() + 1, w, h - local.bottom() - 1),
                QRect(0, local.top(), local.left(), local.height()),
                QRect(local.right() + 1, local.top(), w - local.right() - 1, local.height()),
            ]
            self.bands = [(r.topLeft(), la.image.copy(r)) for r in parts if not r.isEmpty()]
            new, pos = la.image.copy(local), keep.topLeft() - rect.topLeft()
        return new, pos

    def restore(self, offset: QPoint) -> tuple[QImage, QPoint]:
        """The old image rebuilt from the kept part (at `offset` inside it) and the bands."""
        old = self.old_rect
        if not self.bands:
            return self.layer.image, old.topLeft()
        if len(self.bands) == 1 and self.bands[0][1].size() == old.size():
            img = self.bands[0][1]
        else:
            img = new_image(old.width(), old.height())
            p = QPainter(img)
            p.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
            p.drawImage(offset, self.layer.image)
            for at, band in self.bands:
                p.drawImage(at, band)
            p.end()
        self.bands = []
        return img, old.topLeft()


class CropCommand(QUndoCommand):
    """Make `rect` (document coordinates, may reach outside) the new canvas."""

    def __init__(self, doc: Document, rect: QRect, text: str):
        super().__init__(text)
        self.doc, self.rect = doc, QRect(rect)
        self.old_size = (doc.width, doc.height)
        self.parts = [_CroppedLayer(la) for la in _layers(doc)]
        self.old_selection = doc.selection.value

    def redo(self) -> None:
        doc, rect = self.doc, self.rect
        doc._set_size(rect.width(), rect.height())
        for part in self.parts:
            img, pos = part.cut(rect)
            doc.stack.replace_image(part.layer, img, pos.x(), pos.y())
        sel = self.old_selection
        new_sel = None
        if sel is not None:
            new_sel = Selection.from_array(sel.crop(rect))
        doc.selection._set(new_sel)

    def undo(self) -> None:
        doc = self.doc
        doc._set_size(*self.old_size)
        for part in self.parts:
            keep = part.old_rect & self.rect
            offset = keep.topLeft() - part.old_rect.topLeft() if not keep.isEmpty() else QPoint()
            img, pos = part.restore(offset)
            doc.stack.replace_image(part.layer, img, pos.x(), pos.y())
        doc.selection._set(self.old_selection)


def crop(doc: Document, rect: QRect, text: str = "Crop") -> None:
    """Crop the picture to `rect` (clipped to the picture)."""
    r = QRect(rect).normalized() & doc.rect()
    if r.isEmpty():
        raise DocumentError("The crop rectangle is empty or outside the picture: nothing to crop to.")
    if r == doc.rect():
        return
    doc.undo_stack.push(CropCommand(doc, r, text))


def crop_to_selection(doc: Document) -> None:
    sel = doc.selection.value
    if sel is None:
        raise DocumentError("Select something first: the picture is cropped to the selection.")
    crop(doc, sel.rect, "Crop to selection")


def canvas_rect(doc: Document, width: int, height: int, anchor: str = "center") -> QRect:
    """The document rectangle a canvas of this size covers, the old picture at `anchor`."""
    if anchor not in ANCHORS:
        raise DocumentError(f"Unknown anchor {anchor!r}.")
    fx, fy = ANCHORS[anchor]
    dx = round((width - doc.width) * fx)
    dy = round((height - doc.height) * fy)
    return QRect(-dx, -dy, width, height)


def resize_canvas(doc: Document, width: int, height: int, anchor: str = "center") -> None:
    """Canvas size: add transparent space or cut the edges; the pixels keep their size."""
    check_size(int(width), int(height), "The new canvas")
    if (width, height) == (doc.width, doc.height):
        return
    doc.undo_stack.push(CropCommand(doc, canvas_rect(doc, int(width), int(height), anchor),
                                    "Canvas size"))


# ------------------------------------------------------------------ rotate and flip
def _rotate_image(img: QImage, kind: str) -> QImage:
    if kind == "flip-h":
        return img.mirrored(True, False)
    if kind == "flip-v":
        return img.mirrored(False, True)
    angle = {"cw": 90, "ccw": 270, "180": 180}[kind]
    return img.transformed(QTransform().rotate(angle), Qt.TransformationMode.FastTransformation)


_INVERSE = {"cw": "ccw", "ccw": "cw", "180": "180", "flip-h": "flip-h", "flip-v": "flip-v"}


def _rotate_doc(doc: Document, kind: str) -> None:
    W, H = doc.width, doc.height
    new_w, new_h = (H, W) if kind in ("cw", "ccw") else (W, H)
    if (new_w, new_h) != (W, H):
        doc._set_size(new_w, new_h)
    for la in _layers(doc):
        x, y, w, h = la.x, la.y, la.width, la.height
        pos = {
            "cw": (H - (y + h), x),
            "ccw": (y, W - (x + w)),
            "180": (W - (x + w), H - (y + h)),
            "flip-h": (W - (x + w), y),
            "flip-v": (x, H - (y + h)),
        }[kind]
        img = _rotate_image(la.image, kind)
        doc.stack.replace_image(la, img, *pos)
    sel = doc.selection.value
    if sel is not None:
        full = sel.full(W, H)
        full = {
            "cw": lambda a: np.rot90(a, -1),
            "ccw": lambda a: np.rot90(a, 1),
            "180": lambda a: a[::-1, ::-1],
            "flip-h": lambda a: a[:, ::-1],
            "flip-v": lambda a: a[::-1, :],
        }[kind](full)
        doc.selection._set(Selection.from_array(np.ascontiguousarray(full)))


class RotateCommand(QUndoCommand):
    """Rotate by a multiple of 90° or flip the whole picture; undo is the opposite turn."""

    def __init__(self, doc: Document, kind: str, text: str):
        super().__init__(text)
        self.doc, self.kind = doc, kind

    def redo(self) -> None:
        _rotate_doc(self.doc, self.kind)

    def undo(self) -> None:
        _rotate_doc(self.doc, _INVERSE[self.kind])


ROTATIONS = {
    "cw": "Rotate 90° clockwise",
    "ccw": "Rotate 90° counter-clockwise",
    "180": "Rotate 180°",
    "flip-h": "Flip horizontally",
    "flip-v": "Flip vertically",
}


def rotate(doc: Document, kind: str) -> None:
    if kind not in ROTATIONS:
        raise DocumentError(f"Unknown rotation {kind!r}.")
    doc.undo_stack.push(RotateCommand(doc, kind, ROTATIONS[kind]))


# ------------------------------------------------------------------ image size
def resample(img: QImage, width: int, height: int, method: str = "smooth") -> QImage:
    """`img` scaled to width x height: Qt's smooth (area-averaging down, bilinear up),
    Lanczos (Pillow, on premultiplied pixels so edges get no dark halo) or nearest."""
    if method == "nearest":
        return img.scaled(width, height, Qt.AspectRatioMode.IgnoreAspectRatio,
                          Qt.TransformationMode.FastTransformation)
    if method == "smooth":
        return img.scaled(width, height, Qt.AspectRatioMode.IgnoreAspectRatio,
                          Qt.TransformationMode.SmoothTransformation)
    if method != "lanczos":
        raise DocumentError(f"Unknown resampling {method!r}.")
    from PIL import Image

    rgba = np.ascontiguousarray(const_view(img)[..., list(NATIVE_RGBA)])
    src = Image.frombuffer("RGBa", (img.width(), img.height()), rgba.tobytes(), "raw", "RGBa", 0, 1)
    out = np.asarray(src.resize((width, height), Image.Resampling.LANCZOS))
    result = new_image(width, height)
    view = native_view(result)
    alpha = out[..., 3:4]
    view[..., list(NATIVE_RGBA)] = np.concatenate([np.minimum(out[..., :3], alpha), alpha], -1)
    return result


class ImageSizeCommand(QUndoCommand):
    def __init__(self, doc: Document, width: int, height: int, method: str):
        super().__init__(f"Image size {width}×{height}")
        self.doc = doc
        self.old_size = (doc.width, doc.height)
        self.new_size = (width, height)
        sx, sy = width / doc.width, height / doc.height
        self.old = [(la, la.image, la.x, la.y) for la in _layers(doc)]
        self.new = []
        for la in _layers(doc):
            w = max(1, round(la.width * sx))
            h = max(1, round(la.height * sy))
            self.new.append((la, resample(la.image, w, h, method), round(la.x * sx),
                             round(la.y * sy)))
        sel = doc.selection.value
        self.old_selection = sel
        self.new_selection = None
        if sel is not None:
            r = sel.rect
            scaled = coverage_image(sel).scaled(
                max(1, round(r.width() * sx)), max(1, round(r.height() * sy)),
                Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation)
            placed = Selection.from_array(gray_to_array(scaled), round(r.x() * sx),
                                          round(r.y() * sy))
            if placed is not None:
                self.new_selection = Selection.from_array(placed.crop(QRect(0, 0, width, height)))

    def _apply(self, size, entries, sel) -> None:
        self.doc._set_size(*size)
        for la, img, x, y in entries:
            self.doc.stack.replace_image(la, img, x, y)
        self.doc.selection._set(sel)

    def redo(self) -> None:
        self._apply(self.new_size, self.new, self.new_selection)

    def undo(self) -> None:
        self._apply(self.old_size, self.old, self.old_selection)


def resize_image(doc: Document, width: int, height: int, method: str = "smooth") -> None:
    """Image size: scale every layer (and the selection) to a new picture size."""
    check_size(int(width), int(height), "The new image size")
    if method not in RESAMPLING:
        raise DocumentError(f"Unknown resampling {method!r}.")
    if (width, height) == (doc.width, doc.height):
        return
    doc.undo_stack.push(ImageSizeCommand(doc, int(width), int(height), method))

