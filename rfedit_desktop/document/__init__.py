"""The artist's data: layers, blend modes, brushes, undo commands and files.

QtCore/QtGui and numpy only: no widgets (the window is `ui/`) and no torch (a model result
arrives as pixels plus a metadata dict, see `Document.apply_edit`).

Main entry points::

    from rfedit_desktop.document import Document, Stroke, BrushSettings, load_ora, save_ora
    doc = Document.new(1024, 768)              # one white "Background" layer
    layer = doc.add_layer("Sketch")            # undoable; becomes active
    group = doc.group_layers([layer])          # Ctrl+G; doc.root is the tree, doc.layers flat
    s = Stroke(doc, BrushSettings(size=12, color=QColor("red")))
    s.begin(layer, QPointF(10, 10), 1.0); s.move(QPointF(200, 50), 0.7); s.end()
    doc.undo_stack.undo()                      # pixel-exact
    doc.save("picture.ora")                    # atomic

The photo-editing operations live in their own modules, each one undo step:
`doc.selection` (selection_state: shapes, magic wand, feather/grow/shrink, invert),
`fill` (fill, clear), `copy_paste`, `transform` (move/transform of lifted pixels) and
`image_ops` (crop, canvas size, image size, rotate, flip).
"""

from .blend import BLEND_LABELS, BLEND_MODES
from .brush import BrushSettings, Stroke, pick_color
from .commands import StrokeCommand
from .document import Document
from .errors import DocumentError
from .image_io import (
    array_to_qimage,
    export_image,
    qimage_to_array,
    read_image,
    read_image_array,
)
from .layer import MASK, PAINT, Layer, LayerGroup
from .layer_stack import LayerStack
from .opening import load_ora, open_image
from .ora import save_ora

__all__ = [
    "BLEND_LABELS",
    "BLEND_MODES",
    "BrushSettings",
    "Document",
    "DocumentError",
    "Layer",
    "LayerGroup",
    "LayerStack",
    "MASK",
    "PAINT",
    "Stroke",
    "StrokeCommand",
    "array_to_qimage",
    "export_image",
    "load_ora",
    "open_image",
    "pick_color",
    "qimage_to_array",
    "read_image",
    "read_image_array",
    "save_ora",
]
