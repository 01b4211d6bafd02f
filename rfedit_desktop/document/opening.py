"""Documents from files: an .ora project, or an image as a one-layer document.

The readers (`ora`, `image_io`) return pixels and properties; only this module builds a
`Document` from them, so neither reader imports the Document that imports them.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QImage

from .document import Document
from .image_io import read_image
from .layer import next_layer_id, reserve_layer_id
from .ora import OraContents, ProgressFn, read_ora


def load_ora(path: str | Path, progress: ProgressFn | None = None) -> Document:
    """Read an .ora into a new, clean Document (file_path set). Raises DocumentError for any
    problem; `doc.load_warnings` lists what was read with a fallback (e.g. unknown blend)."""
    return ora_document(read_ora(path, progress), path)


def ora_document(contents: OraContents, path: str | Path) -> Document:
    """The Document of what `read_ora` read from `path` (on the thread that will own it)."""
    used: set[int] = set()
    for node, stored in contents.stored_ids:
        if stored is not None and stored not in used:
            node.id = stored  # keep ids stable, edit history entries refer to them
            used.add(stored)
            reserve_layer_id(stored)
    # nodes without a usable stored id got a fresh one before a later node claimed it
    seen: set[int] = set()
    for node, _ in contents.stored_ids:
        if node.id in seen:
            node.id = next_layer_id()
        seen.add(node.id)
    doc = Document(contents.width, contents.height)
    for node in contents.top:
        doc.stack.insert(node, doc.root, len(doc.root.children))
    doc.stack.set_active(contents.active or (doc.paint_layers[-1] if doc.paint_layers else None))
    doc.edit_history = contents.history
    doc.extra_files = contents.extras
    doc.load_warnings = contents.warnings
    doc.set_file_path(str(path))
    doc.mark_clean()
    return doc


def open_image(path: str | Path) -> Document:
    """An image file as a new one-layer Document: clean, no project file path yet, and
    `source_path` set to the image (Save then asks for an .ora name)."""
    return image_document(read_image(path), path)


def image_document(img: QImage, path: str | Path) -> Document:
    """The one-layer Document of an image `read_image(path)` returned."""
    path = Path(path)
    doc = Document(img.width(), img.height())
    doc.add_layer(path.stem or "Background", image=img, undoable=False)
    doc.source_path = str(path)
    return doc
