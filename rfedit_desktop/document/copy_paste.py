"""Copy, cut and paste of pixels: what leaves the document and how pasted pixels arrive.

The system clipboard itself is the window's (ui/clipboard_actions); here a copy is an image
plus the document position it came from, and a paste becomes a new layer at a position.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, QRect
from PySide6.QtGui import QImage

from .errors import DocumentError
from .image_io import FORMAT, const_view, native_view
from .layer import Layer
from .limits import check_size
from .pixel_edit import edit_pixels, erase

if TYPE_CHECKING:
    from .document import Document


def copy_pixels(doc: Document, merged: bool = False) -> tuple[QImage, QPoint]:
    """(pixels, document position) of the selection on the active layer, or on the visible
    image with `merged`; the whole layer or picture without a selection. Soft selection
    edges become partial alpha."""
    sel = doc.selection.value
    if merged:
        source, origin = doc.composite(), QPoint(0, 0)
    else:
        layer = doc.active_layer
        if layer is None:
            raise DocumentError("Select a layer to copy from.")
        source, origin = layer.image, QPoint(layer.x, layer.y)
    bounds = QRect(origin, source.size())
    box = (sel.rect & bounds) if sel is not None else bounds
    if box.isEmpty():
        raise DocumentError("The selection does not touch this layer: nothing to copy.")
    out = source.copy(box.translated(-origin))
    if sel is not None:
        erase(native_view(out), 255 - sel.crop(box))
    if not const_view(out)[..., 3].any():
        raise DocumentError("The selected pixels are all transparent: nothing to copy.")
    return out, box.topLeft()


def cut_pixels(doc: Document) -> tuple[QImage, QPoint]:
    """Copy, then leave transparency where the pixels were (one undo step)."""
    image, at = copy_pixels(doc)
    layer = doc.active_layer
    sel = doc.selection.value
    if sel is None:
        doc.clear_layer(layer)
    else:
        edit_pixels(doc, layer, sel.rect, lambda px, box: erase(px, sel.crop(box)),
                    f'Cut from "{layer.name}"')
    return image, at


def paste_image(doc: Document, image: QImage, at: QPoint | None = None,
                name: str = "Pasted") -> Layer:
    """A new layer above the active one holding `image` with its top-left at `at` (default:
    centred). An image over the size limits is refused and the document is left as it was."""
    if image is None or image.isNull():
        raise DocumentError("The clipboard holds no image to paste.")
    check_size(image.width(), image.height(), "The pasted image")
    if at is None:
        at = QPoint((doc.width - image.width()) // 2, (doc.height - image.height()) // 2)
    img = image if image.format() == FORMAT else image.convertToFormat(FORMAT)
    if img.isNull():
        raise DocumentError("Not enough memory to paste this image.")
    return doc.add_layer(doc._unique_name(name), image=img, x=at.x(), y=at.y())

