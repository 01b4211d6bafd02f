"""Undo commands: every change to a Document is one of these, pushed on its QUndoStack.

Commands hold nodes (layers and groups, not indexes), so they stay correct whatever happened to
the order of other nodes in between, and record where a node was when they run, not when they
were made. They change the document only through its LayerStack (`doc.stack`), which keeps the
composite cache and the signals right. Texts are what the history panel shows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QRect
from PySide6.QtGui import QImage, QUndoCommand

from .history import StrokeTiles
from .layer import Layer, LayerGroup, Node

if TYPE_CHECKING:
    from .document import Document

# QUndoCommand.id() values of mergeable property changes (one per property).
_MERGE_IDS = {"opacity": 1001, "offset": 1002, "name": 1003, "blend_mode": 1004}


class AddLayerCommand(QUndoCommand):
    """Insert a layer or group into a group at an index and make it active (also used for
    duplicate and import)."""

    def __init__(self, doc: Document, node: Node, parent: LayerGroup, index: int, text: str):
        super().__init__(text)
        self.stack, self.layer, self.parent, self.index = doc.stack, node, parent, index
        self.prev_active: Node | None = doc.active_node

    def redo(self) -> None:
        self.stack.insert(self.layer, self.parent, self.index)
        self.stack.set_active(self.layer)

    def undo(self) -> None:
        self.stack.remove(self.layer)
        self.stack.set_active(self.prev_active)


class RemoveLayerCommand(QUndoCommand):
    """Delete a layer or a group with everything in it; the node below becomes active."""

    def __init__(self, doc: Document, node: Node, text: str):
        super().__init__(text)
        self.stack, self.layer = doc.stack, node
        self.was_active = doc.active_node is node
        self.where = doc.stack.position(node)

    def redo(self) -> None:
        self.where = self.stack.remove(self.layer)
        if self.was_active:
            parent, index = self.where
            siblings = parent.children
            if siblings:
                self.stack.set_active(siblings[max(0, min(index, len(siblings)) - 1)])
            elif parent is not self.stack.root:
                self.stack.set_active(parent)
            else:
                self.stack.set_active(None)

    def undo(self) -> None:
        self.stack.insert(self.layer, *self.where)
        if self.was_active:
            self.stack.set_active(self.layer)


class MoveLayerCommand(QUndoCommand):
    """Move a node to an index of a group (the same or another: drag into and out of groups)."""

    def __init__(self, doc: Document, node: Node, parent: LayerGroup, index: int, text: str):
        super().__init__(text)
        self.stack, self.layer = doc.stack, node
        self.target = (parent, index)
        self.old = doc.stack.position(node)

    def redo(self) -> None:
        self.old = self.stack.move(self.layer, *self.target)

    def undo(self) -> None:
        self.stack.move(self.layer, *self.old)


class SetLayerPropertyCommand(QUndoCommand):
    """One property of one node. Consecutive changes of the same property of the same node in
    the same merge generation (one slider drag) merge into one history entry."""

    def __init__(
        self, doc: Document, layer: Node, prop: str, value: Any, text: str, merge_gen: int
    ):
        super().__init__(text)
        self.stack, self.layer, self.prop = doc.stack, layer, prop
        self.old = doc.stack.get_property(layer, prop)
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
        self.stack.set_property(self.layer, self.prop, self.new)

    def undo(self) -> None:
        self.stack.set_property(self.layer, self.prop, self.old)


class ReplaceImageCommand(QUndoCommand):
    """Give a layer new pixels (and position): clear, apply-edit "replace", merge down.

    QImage is implicitly shared, so keeping the old image costs nothing until it would be
    written to, and it never is.
    """

    def __init__(self, doc: Document, layer: Layer, image: QImage, x: int, y: int, text: str):
        super().__init__(text)
        self.stack, self.layer = doc.stack, layer
        self.old = (layer.image, layer.x, layer.y)
        self.new = (image, x, y)

    def redo(self) -> None:
        self.stack.replace_image(self.layer, *self.new)

    def undo(self) -> None:
        self.stack.replace_image(self.layer, *self.old)


class RemoveLayerChild(QUndoCommand):
    """Remove a node without changing the active one (a MacroCommand part)."""

    def __init__(self, doc: Document, layer: Node):
        super().__init__("")
        self.stack, self.layer = doc.stack, layer
        self.where = doc.stack.position(layer)

    def redo(self) -> None:
        self.where = self.stack.remove(self.layer)

    def undo(self) -> None:
        self.stack.insert(self.layer, *self.where)


class SetActiveChild(QUndoCommand):
    """Make a node active on redo and restore the previous one on undo (a MacroCommand part)."""

    def __init__(self, doc: Document, layer: Node | None):
        super().__init__("")
        self.stack, self.layer, self.prev = doc.stack, layer, doc.active_node

    def redo(self) -> None:
        self.stack.set_active(self.layer)

    def undo(self) -> None:
        self.stack.set_active(self.prev)


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


class RearrangeCommand(QUndoCommand):
    """New child lists for some groups at once (group, ungroup), and a new active node."""

    def __init__(
        self,
        doc: Document,
        arrangement: dict[LayerGroup, list[Node]],
        active: Node | None,
        text: str,
    ):
        super().__init__(text)
        self.stack = doc.stack
        self.new = {g: list(c) for g, c in arrangement.items()}
        self.old: dict[LayerGroup, list[Node]] = {}
        self.new_active, self.old_active = active, doc.active_node

    def redo(self) -> None:
        self.old = self.stack.set_children(self.new)
        self.stack.set_active(self.new_active)

    def undo(self) -> None:
        self.stack.set_children(self.old)
        self.stack.set_active(self.old_active)


class ReplaceStackCommand(QUndoCommand):
    """Swap the whole top level of the tree (flatten)."""

    def __init__(self, doc: Document, new_nodes: list[Node], active: Node | None, text: str):
        super().__init__(text)
        self.stack = doc.stack
        self.old_nodes = list(doc.root.children)
        self.old_active = doc.active_node
        self.new_nodes = list(new_nodes)
        self.new_active = active

    def redo(self) -> None:
        self.stack.replace_all(self.new_nodes, self.new_active)

    def undo(self) -> None:
        self.stack.replace_all(self.old_nodes, self.old_active)


class StrokeCommand(QUndoCommand):
    """A finished brush stroke: only its touched tiles, swapped on undo/redo.

    The stroke was already drawn into the layer while dragging, so the first redo (QUndoStack
    calls it on push) does nothing. `prelude`: commands already run before the first dab
    (the first mask stroke adds the mask layer and shows it), undone and redone with the
    stroke as one history entry.
    """

    def __init__(
        self,
        doc: Document,
        tiles: StrokeTiles,
        rect: QRect,
        text: str,
        prelude: list[QUndoCommand] | None = None,
    ):
        super().__init__(text)
        self.doc, self.tiles, self.rect = doc, tiles, QRect(rect)
        self.prelude = list(prelude or [])
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
            self.doc.stack.pixels_touched(layer, QRect(x + layer.x, y + layer.y, w, h), final=True)

    def redo(self) -> None:
        if self._first:
            self._first = False
            return
        for c in self.prelude:
            c.redo()
        self._swap()

    def undo(self) -> None:
        self._swap()
        for c in reversed(self.prelude):
            c.undo()


class ApplyEditCommand(QUndoCommand):
    """An AI edit's result: a new layer above, or new pixels for a layer; plus a history entry."""

    def __init__(
        self,
        doc: Document,
        entry: dict,
        text: str,
        *,
        new_layer: Layer | None = None,
        parent: LayerGroup | None = None,
        index: int = 0,
        target: Layer | None = None,
        image: QImage | None = None,
    ):
        super().__init__(text)
        self.doc, self.stack, self.entry = doc, doc.stack, entry
        self.new_layer, self.parent, self.index = new_layer, parent or doc.root, index
        self.target, self.image = target, image
        self.prev_active = doc.active_node
        self.old = (target.image, target.x, target.y) if target is not None else None

    def redo(self) -> None:
        if self.new_layer is not None:
            self.stack.insert(self.new_layer, self.parent, self.index)
            self.stack.set_active(self.new_layer)
        else:
            self.stack.replace_image(self.target, self.image, 0, 0)
        self.doc.edit_log.append(self.entry)

    def undo(self) -> None:
        self.doc.edit_log.remove(self.entry)
        if self.new_layer is not None:
            self.stack.remove(self.new_layer)
            self.stack.set_active(self.prev_active)
        else:
            self.stack.replace_image(self.target, *self.old)
