"""The layer tree and the narrow set of changes undo commands make to it, each signalled.

Commands (commands.py) change a document only through a LayerStack: insert, remove, move a
node, set one property, give a layer new pixels, rearrange the children of groups (group and
ungroup), choose the active node. Each change emits what it changed, and the Document turns
that into cache invalidation and its own public signals, so no command reaches into the
Document's private state.

The tree: `root` is an unnamed LayerGroup; every group's `children` are bottom first (the
compositing order). `layers()` is the raster layers depth first, bottom first.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, QRect, Signal
from PySide6.QtGui import QImage

from .errors import DocumentError
from .layer import Layer, LayerGroup, Node

EVERYWHERE = QRect(-(1 << 29), -(1 << 29), 1 << 30, 1 << 30)

Position = tuple[LayerGroup, int]
"""Where a node sits: its parent group and its index among that group's children."""


class LayerStack(QObject):
    """The document's tree of layers and groups, and the active node.

    Signals:
    - `structure_changed()`: nodes were added, removed, moved, or a property changed.
    - `region_changed(QRect, bool)`: pixels of the picture changed in this rectangle; the
      flag is True when only the mask (not the composite) changed.
    - `pixels_changed(int)`: a layer's pixels changed (layer id), once per finished change.
    - `active_changed()`: another node became active.
    """

    structure_changed = Signal()
    region_changed = Signal(QRect, bool)
    pixels_changed = Signal(int)
    active_changed = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.root = LayerGroup(name="")
        self.active: Node | None = None

    # ----------------------------------------------------------------- reading
    def layers(self) -> list[Layer]:
        return self.root.layers()

    def nodes(self) -> list[Node]:
        """Every node, depth first, bottom first (a group after its children)."""
        return self.root.descendants()

    def contains(self, node: Node) -> bool:
        while node is not None:
            if node is self.root:
                return True
            node = node.parent
        return False

    def find(self, node_id: int) -> Node | None:
        return next((n for n in self.nodes() if n.id == node_id), None)

    def position(self, node: Node) -> Position:
        parent = node.parent
        if parent is None or not self.contains(node):
            raise DocumentError(f'"{node.name}" is not in this document.')
        return parent, next(i for i, c in enumerate(parent.children) if c is node)

    # ----------------------------------------------------------------- changing
    def insert(self, node: Node, parent: LayerGroup, index: int) -> None:
        """Put `node` at `index` among `parent`'s children."""
        index = max(0, min(int(index), len(parent.children)))
        parent.children.insert(index, node)
        node.parent = parent
        self._changed(node.bounds(), node)
        self.structure_changed.emit()

    def remove(self, node: Node) -> Position:
        """Take `node` (with its children) out; returns where it was. The active node stays
        active only if it is outside what was removed."""
        where = self.position(node)
        del where[0].children[where[1]]
        node.parent = None
        self._changed(node.bounds(), node)
        self._announce_structure()
        return where

    def move(self, node: Node, parent: LayerGroup, index: int) -> Position:
        """Move `node` to `index` among `parent`'s children (counted without `node`); returns
        where it was."""
        if node.is_group and (parent is node or self.is_inside(parent, node)):
            raise DocumentError(f'A group cannot go inside itself ("{node.name}").')
        where = self.position(node)
        del where[0].children[where[1]]
        index = max(0, min(int(index), len(parent.children)))
        parent.children.insert(index, node)
        node.parent = parent
        self._changed(node.bounds(), node)
        self.structure_changed.emit()
        return where

    def set_children(self, arrangement: dict[LayerGroup, list[Node]]) -> dict:
        """Give several groups new child lists at once (group, ungroup); returns the old lists.

        Every node must end up in exactly one list; nodes listed nowhere leave the tree.
        """
        old = {group: list(group.children) for group in arrangement}
        area = QRect()
        for group in arrangement:
            area |= group.bounds()
        for children in old.values():
            for child in children:
                child.parent = None
        for group, children in arrangement.items():
            group.children = list(children)
            for child in children:
                child.parent = group
        for group in arrangement:
            area |= group.bounds()
        self._changed(area, None)
        self._announce_structure()
        return old

    def set_property(self, node: Node, prop: str, value: Any) -> None:
        """One property: name, visible, opacity, blend_mode, isolated, alpha_locked, or
        "offset" (an (x, y) pair, layers only)."""
        before = node.bounds()
        if prop == "offset":
            node.x, node.y = value
        else:
            setattr(node, prop, value)
        if prop not in ("name", "alpha_locked"):
            self._changed(before | node.bounds(), node)
        self.structure_changed.emit()

    def get_property(self, node: Node, prop: str) -> Any:
        if prop == "offset":
            return (node.x, node.y)
        return getattr(node, prop)

    def replace_image(self, layer: Layer, image: QImage, x: int, y: int) -> None:
        """Give a layer new pixels placed at (x, y)."""
        before = layer.bounds()
        layer.image, layer.x, layer.y = image, x, y
        self._changed(before | layer.bounds(), layer)
        self.pixels_changed.emit(layer.id)
        self.structure_changed.emit()

    def pixels_touched(self, layer: Layer, rect: QRect, final: bool = False) -> None:
        """A brush or a stroke's undo changed `rect` (document coordinates) of `layer`."""
        self._changed(rect, layer)
        if final:
            self.pixels_changed.emit(layer.id)

    def set_active(self, node: Node | None) -> None:
        if node is not None and not self.contains(node):
            node = None
        if node is self.active:
            return
        self.active = node
        self.active_changed.emit()

    def replace_all(self, children: list[Node], active: Node | None) -> list[Node]:
        """Swap the whole tree's top level (flatten); returns the old top level."""
        old = list(self.root.children)
        for child in old:
            child.parent = None
        self.root.children = list(children)
        for child in children:
            child.parent = self.root
        self.active = active if active is not None and self.contains(active) else None
        self._changed(None, None)
        self.structure_changed.emit()
        self.active_changed.emit()
        return old

    # ----------------------------------------------------------------- internals
    @staticmethod
    def is_inside(node: Node, group: LayerGroup) -> bool:
        """True when `node` is `group` or somewhere inside it."""
        while node is not None:
            if node is group:
                return True
            node = node.parent
        return False

    def _announce_structure(self) -> None:
        """structure_changed, after dropping an active node that left the tree (listeners
        read the active node)."""
        lost = self.active is not None and not self.contains(self.active)
        if lost:
            self.active = None
        self.structure_changed.emit()
        if lost:
            self.active_changed.emit()

    def _changed(self, rect: QRect | None, node: Node | None) -> None:
        mask_only = node is not None and node.is_mask
        self.region_changed.emit(EVERYWHERE if rect is None else QRect(rect), mask_only)
