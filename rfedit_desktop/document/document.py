"""The Document: a tree of layers and groups, its state and signals.

Layer order: `layers[0]` is the BOTTOM raster layer, `layers[-1]` the top (compositing order,
depth first through groups; the OpenRaster writer reverses it because stack.xml lists the top
first). Public methods that change anything push one QUndoCommand on `undo_stack`, so the
history panel shows every change; the commands change the `stack` (a LayerStack), whose
signals the Document turns into cache invalidation and its own signals.

Layers and groups are named in the API by the object or its integer `id` (ids are stable across
reordering; indexes are not). The public API is split by concern into mixins:
`layer_operations` (undoable layer changes), `pixel_access` (composite, layers and mask as
pixels) and `applied_edits` (AI results and their history).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QRect, QSize, Signal, Slot
from PySide6.QtGui import QColor, QUndoStack

from .applied_edits import AppliedEdits, EditLog
from .composite import CompositeCache
from .errors import DocumentError
from .history import DEFAULT_BUDGET, HistoryBudget
from .image_io import new_image
from .layer import Layer, LayerGroup, Node
from .layer_operations import LayerOperations
from .layer_stack import LayerStack
from .limits import check_size
from .pixel_access import PixelAccess
from .selection_state import DocumentSelection

LayerRef = Layer | LayerGroup | int

DEFAULT_UNDO_LIMIT = 1000
WHITE = QColor(255, 255, 255)

__all__ = ["DEFAULT_UNDO_LIMIT", "WHITE", "Document", "LayerRef"]


class Document(LayerOperations, PixelAccess, AppliedEdits, QObject):
    """An image being edited. Create with `Document(w, h)` (no layers) or `Document.new(...)`.

    Signals:
    - `region_changed(QRect)`: composite pixels changed in this document rectangle (repaint it).
      Also emitted for the mask layer's pixels, so the mask overlay repaints.
    - `layers_changed()`: the list or a property of a layer changed (refresh the layers panel).
    - `layer_pixels_changed(int)`: a layer's pixels changed (layer id; refresh its thumbnail).
      Emitted per finished command, not per dab.
    - `active_layer_changed(int)`: index of the new active layer in `layers` (-1: none, or a
      group is active).
    - `modified_changed(bool)`: unsaved changes appeared or disappeared (title mark).
    - `file_path_changed(str)`: after save-as or load.
    - `edit_history_changed()`: an AI edit was applied, undone or redone.
    - `size_changed(QSize)`: crop, canvas size, image size or a 90° rotation changed the size.

    `selection` (a `DocumentSelection`) is the current selection, changed as undo steps.
    """

    region_changed = Signal(QRect)
    layers_changed = Signal()
    layer_pixels_changed = Signal(int)
    active_layer_changed = Signal(int)
    modified_changed = Signal(bool)
    file_path_changed = Signal(str)
    edit_history_changed = Signal()
    size_changed = Signal(QSize)

    def __init__(
        self,
        width: int,
        height: int,
        parent: QObject | None = None,
        *,
        undo_limit: int = DEFAULT_UNDO_LIMIT,
        memory_budget: int = DEFAULT_BUDGET,
    ):
        super().__init__(parent)
        check_size(width, height, "The document")
        self._w, self._h = int(width), int(height)
        self.stack = LayerStack(self)
        """The layer tree; commands change the document through it."""
        self.stack.region_changed.connect(self._composite_changed)
        self.stack.structure_changed.connect(self.layers_changed)
        self.stack.pixels_changed.connect(self.layer_pixels_changed)
        self.stack.active_changed.connect(self._emit_active)
        self._file_path: str | None = None
        self.source_path: str | None = None
        """The image file this document was opened from (not a project file), if any."""
        self.edit_history: list[dict] = []
        """Applied AI edits, oldest first: prompt, parameters, seed, target layer, time."""
        self.edit_log = EditLog(self)
        self.extra_files: dict[str, bytes] = {}
        """Other rfedit data saved under data/rfedit/ in the .ora (e.g. cached latents)."""
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setUndoLimit(max(0, int(undo_limit)))
        self.undo_stack.cleanChanged.connect(self._on_clean_changed)
        self.history_budget = HistoryBudget(memory_budget)
        root = self.stack.root
        self._cache = CompositeCache(self._w, self._h, lambda: root.children)
        self._merge_gen = 0
        self.selection = DocumentSelection(self)

    # ----------------------------------------------------------------- construction
    @classmethod
    def new(
        cls,
        width: int,
        height: int,
        background: QColor | None = WHITE,
        name: str = "Background",
        parent: QObject | None = None,
        **options: Any,
    ) -> Document:
        """A document with one layer filled with `background` (transparent when None).

        The layer is not on the undo stack: a new document starts clean. `options` are the
        constructor's (undo_limit, memory_budget).
        """
        doc = cls(width, height, parent, **options)
        doc.add_layer(name, image=new_image(width, height, background), undoable=False)
        return doc

    # ----------------------------------------------------------------- geometry and state
    @property
    def width(self) -> int:
        return self._w

    @property
    def height(self) -> int:
        return self._h

    def size(self) -> QSize:
        return QSize(self._w, self._h)

    def rect(self) -> QRect:
        return QRect(0, 0, self._w, self._h)

    @property
    def layers(self) -> list[Layer]:
        """The raster layers, bottom first, depth first through groups. A copy: change it
        through the methods below."""
        return self.stack.layers()

    @property
    def root(self) -> LayerGroup:
        """The top of the layer tree (read it; change it through the methods below)."""
        return self.stack.root

    @property
    def nodes(self) -> list[Node]:
        """Every layer and group, bottom first (a group after its children)."""
        return self.stack.nodes()

    @property
    def paint_layers(self) -> list[Layer]:
        return [la for la in self.stack.layers() if not la.is_mask]

    @property
    def mask_layer(self) -> Layer | None:
        """The edit-region mask layer, if the document has one."""
        return next((la for la in self.stack.layers() if la.is_mask), None)

    @property
    def active_node(self) -> Node | None:
        """The selected layer or group (the layers panel's current row)."""
        return self.stack.active

    @property
    def active_layer(self) -> Layer | None:
        """The selected raster layer (None while a group is selected)."""
        node = self.stack.active
        return None if node is None or node.is_group else node

    @property
    def active_index(self) -> int:
        layer = self.active_layer
        return self.index_of(layer) if layer is not None else -1

    def set_active_layer(self, layer: LayerRef | None) -> None:
        """Select the layer or group brushes and layer actions work on (not undoable)."""
        self.stack.set_active(None if layer is None else self.layer(layer))

    def edit_target_layer(self) -> Layer | None:
        """The paint layer an AI edit reads or replaces: the active layer, or while the mask is
        active (the artist just painted the region) the top paint layer."""
        active = self.active_layer
        if active is not None and not active.is_mask:
            return active
        paint = self.paint_layers
        return paint[-1] if paint else None

    def layer(self, ref: LayerRef) -> Node:
        """The layer or group for an object or id; DocumentError if it is not in this
        document."""
        if isinstance(ref, (Layer, LayerGroup)):
            if ref is not self.stack.root and self.stack.contains(ref):
                return ref
            raise DocumentError(f'Layer "{ref.name}" is not in this document.')
        node = self.stack.find(ref)
        if node is None:
            raise DocumentError(f"No layer with id {ref}.")
        return node

    def layer_by_id(self, layer_id: int) -> Node | None:
        return self.stack.find(layer_id)

    def index_of(self, layer: LayerRef) -> int:
        """A raster layer's index in `layers`."""
        node = self.layer(layer)
        if node.is_group:
            raise DocumentError(f'"{node.name}" is a group, not one of the layers.')
        return next(i for i, la in enumerate(self.stack.layers()) if la is node)

    @property
    def file_path(self) -> str | None:
        """The .ora this document was loaded from or last saved to."""
        return self._file_path

    def set_file_path(self, path: str | None) -> None:
        self._file_path = None if path is None else str(path)
        self.file_path_changed.emit(self._file_path or "")

    @property
    def display_name(self) -> str:
        """A name for the window title: the file name, or "Untitled"."""
        p = self._file_path or self.source_path
        return Path(p).name if p else "Untitled"

    @property
    def modified(self) -> bool:
        """True when there are changes since the last save (from the undo stack's clean state)."""
        return not self.undo_stack.isClean()

    def mark_clean(self) -> None:
        self.undo_stack.setClean()

    # ----------------------------------------------------------------- undo settings
    def set_undo_limit(self, limit: int) -> bool:
        """Set the maximum number of undo steps (0 = unlimited).

        Qt only allows this on an empty stack; returns False (nothing changed) otherwise, and
        the window should apply it to the next document. The memory budget applies at once.
        """
        if self.undo_stack.count() != 0:
            return False
        self.undo_stack.setUndoLimit(max(0, int(limit)))
        return True

    def set_memory_budget(self, nbytes: int) -> None:
        """RAM allowed for stroke undo tiles; older strokes move to a temporary file beyond it."""
        self.history_budget.set_budget(nbytes)

    def end_property_merge(self) -> None:
        """Stop merging property changes: call when a slider is released, so the next drag
        becomes a new history entry."""
        self._merge_gen += 1

    # ----------------------------------------------------------------- stack signals
    @Slot(bool)
    def _on_clean_changed(self, clean: bool) -> None:
        # a method slot (not a lambda), so Qt drops the connection when the document dies
        self.modified_changed.emit(not clean)

    @Slot()
    def _emit_active(self) -> None:
        self.active_layer_changed.emit(self.active_index)

    @Slot(QRect, bool)
    def _composite_changed(self, rect: QRect, mask_only: bool = False) -> None:
        rect = rect & self.rect()
        if rect.isEmpty():
            return
        if not mask_only:
            self._cache.invalidate(rect)
        self.region_changed.emit(rect)

    def _set_size(self, width: int, height: int) -> None:
        """New canvas size (image_ops' commands move the layers and selection themselves)."""
        self._w, self._h = int(width), int(height)
        root = self.stack.root
        self._cache = CompositeCache(self._w, self._h, lambda: root.children)
        self.size_changed.emit(self.size())
        self.region_changed.emit(self.rect())

    # ----------------------------------------------------------------- files
    def save(self, path: str | Path | None = None) -> None:
        """Save as OpenRaster to `path` (default: the current file path), atomically; on
        success the document is clean and `file_path` is `path`."""
        from .ora import save_ora

        target = path if path is not None else self._file_path
        if not target:
            raise DocumentError("Choose a file name to save to.")
        save_ora(self, target)
        self.set_file_path(str(target))
        self.mark_clean()

    def nbytes(self) -> int:
        """Bytes of pixels in layers (the undo history and caches not included)."""
        return sum(la.nbytes() for la in self.stack.layers())

    def __deepcopy__(self, memo):  # pragma: no cover - guard against accidental copies
        raise TypeError("Documents are not copyable; save and load instead.")
