"""Undo commands: every change to a Document is one of these, pushed on its QUndoStack.

Commands hold Layer objects (not indexes), so they stay correct whatever happened to the order
of other layers in between. They change the document only through its private `_` methods,
which keep the composite cache and the signals right. Texts are what the history panel shows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QRect
from PySide6.QtGui import QImage, QUndoCommand

from .history import StrokeTiles
from .layer import Layer

if TYPE_CHECKING:
    from .document import Document

# QUndoCommand.id() values of mergeable property changes (one per property).
_MERGE_IDS = {"opacity": 1001, "offset": 1002, "name": 1003, "blend_mode": 1004}


class AddLayerCommand(QUndoCommand):
    """Insert a layer at an index (also used for duplicate and import)."""

    def __init__(self, doc: Document, layer: Layer, index: int, text: str):
        super().__init__(text)
        self.doc, self.layer, self.index = doc, layer, index
        self.prev_active: Layer | None = doc.active_layer

    def redo(self) -> None:
        self.doc._insert(self.layer, self.index)
        self.doc._set_active(self.layer)

    def undo(self) -> None:
        self.doc._remove(self.layer)
        self.doc._set_active(self.prev_active)


class RemoveLayerCommand(QUndoCommand):
    def __init__(self, doc: Document, layer: Layer, text: str):
        super().__init__(text)
        self.doc, self.layer = doc, layer
        self.index = doc.index_of(layer)
        self.was_active = doc.active_layer is layer

    def redo(self) -> None:
        self.doc._remove(self.layer)
        if self.was_active:
            layers = self.doc.layers
            if layers:
                self.doc._set_active(layers[max(0, min(self.index, len(layers)) - 1)])
            else:
                self.doc._set_active(None)

    def undo(self) -> None:
        self.doc._insert(self.layer, self.index)
        if self.was_active:
            self.doc._set_active(self.layer)


class MoveLayerCommand(QUndoCommand):
    def __init__(self, doc: Document, layer: Layer, new_index: int, text: str):
        super().__init__(text)
        self.doc, self.layer = doc, layer
        self.old_index = doc.index_of(layer)
        self.new_index = new_index

    def redo(self) -> None:
        self.doc._move(self.layer, self.new_index)

    def undo(self) -> None:
        self.doc._move(self.layer, self.old_index)


class SetLayerPropertyCommand(QUndoCommand):
    """One property of one layer. Consecutive changes of the same property of the same layer in
    the same merge generation (one slider drag) merge into one history entry."""

    def __init__(
        self, doc: Document, layer: Layer, prop: str, value: Any, text: str, merge_gen: int
    ):
        super().__init__(text)
        self.doc, self.layer, self.prop = doc, layer, prop
        self.old = doc._get_prop(layer, prop)
        self.new = value
        self.merge_gen = merge_gen

    def id(self) -> int:
        return _MERGE_IDS.get(self.prop, -1) if self.merge_gen >= 0 else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SetLayerPropertyCommand):
            return False
        if other.layer is not self.layer or other.prop != self.prop:
            return False
        if other.merge_gen != self.merge_gen:
            return False
        self.new = other.new
        if self.new == self.old:
            self.setObsolete(True)
        return True

    def redo(self) -> None:
        self.doc._set_prop(self.layer, self.prop, self.new)

    def undo(self) -> None:
        self.doc._set_prop(self.layer, self.prop, self.old)


class ReplaceImageCommand(QUndoCommand):
    """Give a layer new pixels (and position): clear, apply-edit "replace", merge down.

    QImage is implicitly shared, so keeping the old image costs nothing until it would be
    written to, and it never is.
    """

    def __init__(
        self,
        doc: Document,
        layer: Layer,
        image: QImage,
        x: int,
        y: int,
        text: str,
    ):
        super().__init__(text)
        self.doc, self.layer = doc, layer
        self.old = (layer.image, layer.x, layer.y)
        self.new = (image, x, y)

    def redo(self) -> None:
        self.doc._replace_image(self.layer, *self.new)

    def undo(self) -> None:
        self.doc._replace_image(self.layer, *self.old)


class RemoveLayerChild(QUndoCommand):
    """Remove a layer without changing the active one (a MacroCommand part)."""

    def __init__(self, doc: Document, layer: Layer):
        super().__init__("")
        self.doc, self.layer = doc, layer
        self.index = doc.index_of(layer)

    def redo(self) -> None:
        self.doc._remove(self.layer)

    def undo(self) -> None:
        self.doc._insert(self.layer, self.index)


class SetActiveChild(QUndoCommand):
    """Make a layer active on redo and restore the previous one on undo (a MacroCommand part)."""

    def __init__(self, doc: Document, layer: Layer | None):
        super().__init__("")
        self.doc, self.layer, self.prev = doc, layer, doc.active_layer

    def redo(self) -> None:
        self.doc._set_active(self.layer)

    def undo(self) -> None:
        self.doc._set_active(self.prev)


class MacroCommand(QUndoCommand):
    """Several commands as one history entry. The children are kept in a Python list and run
    here (not as Qt child commands), so their Python wrappers can never be collected while Qt
    still points at them."""

    def __init__(self, text: str, children: list[QUndoCommand]):
        super().__init__(text)
        self.children = list(children)

    def redo(self) -> None:
        for c in self.children:
            c.redo()

    def undo(self) -> None:
        for c in reversed(self.children):
            c.undo()


class ReplaceStackCommand(QUndoCommand):
    """Swap the whole layer list (flatten)."""

    def __init__(self, doc: Document, new_layers: list[Layer], active: Layer | None, text: str):
        super().__init__(text)
        self.doc = doc
        self.old_layers = list(doc.layers)
        self.old_active = doc.active_layer
        self.new_layers = list(new_layers)
        self.new_active = active

    def redo(self) -> None:
        self.doc._set_stack(self.new_layers, self.new_active)

    def undo(self) -> None:
        self.doc._set_stack(self.old_layers, self.old_active)


class StrokeCommand(QUndoCommand):
    """A finished brush stroke: only its touched tiles, swapped on undo/redo.

    The stroke was already drawn into the layer while dragging, so the first redo (QUndoStack
    calls it on push) does nothing.
    """

    def __init__(self, doc: Document, tiles: StrokeTiles, rect: QRect, text: str):
        super().__init__(text)
        self.doc, self.tiles, self.rect = doc, tiles, QRect(rect)
        self._first = True

    @property
    def layer(self) -> Layer:
        return self.tiles.layer

    def nbytes(self) -> int:
        """Uncompressed bytes of the stored tiles."""
        return self.tiles.stored_bytes()

    def _swap(self) -> None:
        self.doc.history_budget.ensure_loaded(self.tiles)
        box = self.tiles.swap()
        if box is not None:
            x, y, w, h = box
            layer = self.tiles.layer
            self.doc._pixels_changed(layer, QRect(x + layer.x, y + layer.y, w, h), final=True)

    def redo(self) -> None:
        if self._first:
            self._first = False
            return
        self._swap()

    def undo(self) -> None:
        self._swap()


class ApplyEditCommand(QUndoCommand):
    """An AI edit's result: a new layer above, or new pixels for a layer; plus a history entry."""

    def __init__(
        self,
        doc: Document,
        entry: dict,
        text: str,
        *,
        new_layer: Layer | None = None,
        index: int = 0,
        target: Layer | None = None,
        image: QImage | None = None,
    ):
        super().__init__(text)
        self.doc, self.entry = doc, entry
        self.new_layer, self.index = new_layer, index
        self.target, self.image = target, image
        self.prev_active = doc.active_layer
        self.old = (target.image, target.x, target.y) if target is not None else None

    def redo(self) -> None:
        if self.new_layer is not None:
            self.doc._insert(self.new_layer, self.index)
            self.doc._set_active(self.new_layer)
        else:
            self.doc._replace_image(self.target, self.image, 0, 0)
        self.doc._append_history(self.entry)

    def undo(self) -> None:
        self.doc._pop_history(self.entry)
        if self.new_layer is not None:
            self.doc._remove(self.new_layer)
            self.doc._set_active(self.prev_active)
        else:
            self.doc._replace_image(self.target, *self.old)
