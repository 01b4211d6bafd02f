"""The Document's undoable layer-tree operations: each checks its input and pushes one command.

A mixin of `Document`, kept apart from its state and signals so the rules for what an artist may
do to layers and groups read in one place; the commands (`commands.py`) change the LayerStack.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QImage, QPainter

from . import commands as C
from .blend import BLEND_MODES
from .composite import blend_image
from .errors import DocumentError
from .image_io import new_image
from .layer import MASK, PAINT, Layer, LayerGroup, Node
from .limits import check_size

if TYPE_CHECKING:
    from .document import LayerRef


class LayerOperations:
    """Add, delete, duplicate, move, group, merge, flatten and restyle layers, one undo step
    each.

    Mixed into `Document`: uses its `stack`, `undo_stack` and lookups.
    """

    def add_layer(
        self,
        name: str | None = None,
        *,
        image: QImage | None = None,
        kind: str = PAINT,
        index: int | None = None,
        x: int = 0,
        y: int = 0,
        undoable: bool = True,
        parent: LayerGroup | None = None,
    ) -> Layer:
        """Add a layer above the active node in its group (or at `index` of `parent`, default
        the top level) and make it active.

        Without `image` it is a transparent layer of document size. `undoable=False` builds a
        document without history (new documents, loaders).
        """
        if kind not in (PAINT, MASK):
            raise DocumentError(f"Unknown layer kind {kind!r}.")
        if kind == MASK and self.mask_layer is not None:
            raise DocumentError("The document already has a mask layer.")
        if image is None:
            image = new_image(self._w, self._h)
        elif image.format() != QImage.Format.Format_ARGB32_Premultiplied:
            image = image.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)
        else:
            image = image.copy()  # never share pixels with the caller's image
        check_size(image.width(), image.height(), "The layer")
        if name is None:
            name = "Mask" if kind == MASK else self._unique_name("Layer")
        layer = Layer(name=name, image=image, kind=kind, x=int(x), y=int(y))
        parent, index = self._insertion_point(parent, index)
        if undoable:
            self.undo_stack.push(
                C.AddLayerCommand(self, layer, parent, index, f'Add layer "{name}"')
            )
        else:
            self.stack.insert(layer, parent, index)
            self.stack.set_active(layer)
        return layer

    def add_mask_layer(self, name: str = "Edit mask") -> Layer:
        """Add the (single) mask layer on top; DocumentError if there already is one."""
        return self.add_layer(name, kind=MASK, index=len(self.root.children))

    def add_group(
        self,
        name: str | None = None,
        *,
        parent: LayerGroup | None = None,
        index: int | None = None,
        undoable: bool = True,
    ) -> LayerGroup:
        """Add an empty group above the active node (or at `index` of `parent`), active."""
        group = LayerGroup(name=name or self._unique_name("Group"))
        parent, index = self._insertion_point(parent, index)
        if undoable:
            self.undo_stack.push(
                C.AddLayerCommand(self, group, parent, index, f'Add group "{group.name}"')
            )
        else:
            self.stack.insert(group, parent, index)
            self.stack.set_active(group)
        return group

    def group_layers(
        self, nodes: list[LayerRef] | None = None, name: str | None = None
    ) -> LayerGroup:
        """Put `nodes` (default: the active node) into a new group where the topmost was, as
        one undo step (Ctrl+G). They must share a group; the mask cannot be grouped."""
        if nodes is None:
            nodes = [self._require_active()]
        chosen = [self.layer(n) for n in nodes]
        if not chosen:
            raise DocumentError("Choose the layers to group.")
        if any(n.is_mask for n in chosen):
            raise DocumentError("The mask layer cannot go into a group.")
        parent = chosen[0].parent
        if any(n.parent is not parent for n in chosen):
            raise DocumentError("Only layers in the same group can be grouped together.")
        picked = {id(n) for n in chosen}
        inside = [c for c in parent.children if id(c) in picked]  # bottom first
        top = max(i for i, c in enumerate(parent.children) if id(c) in picked)
        rest = [c for c in parent.children if id(c) not in picked]
        at = top + 1 - len(inside)
        group = LayerGroup(name=name or self._unique_name("Group"))
        arrangement = {parent: rest[:at] + [group] + rest[at:], group: inside}
        self.undo_stack.push(
            C.RearrangeCommand(self, arrangement, group, f'Group into "{group.name}"')
        )
        return group

    def ungroup(self, group: LayerRef | None = None) -> list[Node]:
        """Put a group's children in its place and remove it, as one undo step (Ctrl+Alt+G).

        The group's own opacity and blend mode are dropped, as in Krita."""
        node = self.layer(group) if group is not None else self._require_active()
        if not node.is_group:
            node = node.parent
            if node is None or node is self.root:
                raise DocumentError("The selected layer is not in a group.")
        parent, index = self.stack.position(node)
        children = list(node.children)
        siblings = list(parent.children)
        arrangement = {parent: siblings[:index] + children + siblings[index + 1 :], node: []}
        active = self.active_node
        if active is node or active is None:
            active = children[-1] if children else None
        self.undo_stack.push(
            C.RearrangeCommand(self, arrangement, active, f'Ungroup "{node.name}"')
        )
        return children

    def mask_for_stroke(self) -> tuple[Layer, list]:
        """The mask layer ready for the mask brush: added on top (the active layer stays
        active) and shown when needed. Returns it and the commands that did that; they have
        run already and belong in the stroke's one history entry (StrokeCommand prelude)."""
        prelude = []
        mask = self.mask_layer
        if mask is None:
            mask = Layer(name="Edit mask", image=new_image(self._w, self._h), kind=MASK)
            previous = self.active_node
            prelude.append(C.AddLayerCommand(self, mask, self.root, len(self.root.children), ""))
            prelude[-1].redo()
            prelude.append(C.SetActiveChild(self, previous))
            prelude[-1].redo()
        if not mask.visible:
            prelude.append(C.SetLayerPropertyCommand(self, mask, "visible", True, "", -1))
            prelude[-1].redo()
        return mask, prelude

    def delete_layer(self, layer: LayerRef) -> None:
        """Delete a layer, or a group with everything in it."""
        la = self.layer(layer)
        self.undo_stack.push(C.RemoveLayerCommand(self, la, f'Delete layer "{la.name}"'))

    def duplicate_layer(self, layer: LayerRef) -> Node:
        """A copy above the original, groups with their contents (a mask cannot be duplicated:
        one per document)."""
        la = self.layer(layer)
        if la.is_mask:
            raise DocumentError("The mask layer cannot be duplicated.")
        dup = la.copy(name=self._unique_name(f"{la.name} copy"))
        parent, index = self.stack.position(la)
        self.undo_stack.push(
            C.AddLayerCommand(self, dup, parent, index + 1, f'Duplicate layer "{la.name}"')
        )
        return dup

    def move_layer(self, layer: LayerRef, new_index: int, parent: LayerRef | None = None) -> None:
        """Move a node to `new_index` among the children of `parent` (default: its own group;
        with no groups, `new_index` is its index in the bottom-first `layers`), clamped.
        A `parent` other than its own moves it into or out of a group."""
        la = self.layer(layer)
        old_parent, old_index = self.stack.position(la)
        target = old_parent if parent is None else self._group(parent)
        if target is la or (la.is_group and self.stack.is_inside(target, la)):
            raise DocumentError(f'A group cannot go inside itself ("{la.name}").')
        count = len(target.children) - (1 if target is old_parent else 0)
        new_index = max(0, min(int(new_index), count))
        if target is old_parent and new_index == old_index:
            return
        self.undo_stack.push(
            C.MoveLayerCommand(self, la, target, new_index, f'Move layer "{la.name}"')
        )

    def rename_layer(self, layer: LayerRef, name: str) -> None:
        self._push_prop(layer, "name", str(name), f'Rename layer to "{name}"', merge=False)

    def set_layer_visible(self, layer: LayerRef, visible: bool) -> None:
        la = self.layer(layer)
        text = f'{"Show" if visible else "Hide"} layer "{la.name}"'
        self._push_prop(la, "visible", bool(visible), text, merge=False)

    def set_layer_opacity(self, layer: LayerRef, opacity: float, merge: bool = True) -> None:
        """Opacity 0..1. While a slider drags, calls merge into one entry (see
        end_property_merge)."""
        la = self.layer(layer)
        value = float(min(1.0, max(0.0, opacity)))
        self._push_prop(la, "opacity", value, f'Opacity of "{la.name}"', merge=merge)

    def set_layer_blend_mode(self, layer: LayerRef, mode: str) -> None:
        if mode not in BLEND_MODES:
            raise DocumentError(f"Unknown blend mode {mode!r}.")
        la = self.layer(layer)
        self._push_prop(la, "blend_mode", mode, f'Blend mode of "{la.name}"', merge=False)

    def set_group_isolated(self, group: LayerRef, isolated: bool) -> None:
        """Composite a normal, opaque group as a unit too (OpenRaster `isolation`)."""
        node = self._group(group)
        text = f'{"Isolate" if isolated else "Pass through"} group "{node.name}"'
        self._push_prop(node, "isolated", bool(isolated), text, merge=False)

    def set_layer_offset(self, layer: LayerRef, x: int, y: int, merge: bool = True) -> None:
        """Move a layer's pixels to (x, y) in the document (merges while dragging)."""
        la = self._raster(layer)
        self._push_prop(la, "offset", (int(x), int(y)), f'Move "{la.name}"', merge=merge)

    def set_layer_alpha_locked(self, layer: LayerRef, locked: bool) -> None:
        la = self._raster(layer)
        text = f'{"Lock" if locked else "Unlock"} alpha of "{la.name}"'
        self._push_prop(la, "alpha_locked", bool(locked), text, merge=False)

    def clear_layer(self, layer: LayerRef | None = None) -> None:
        """Make a layer (default: the active one) fully transparent."""
        la = self._raster(layer) if layer is not None else self._require_layer()
        blank = new_image(la.width, la.height)
        self.undo_stack.push(
            C.ReplaceImageCommand(self, la, blank, la.x, la.y, f'Clear layer "{la.name}"')
        )

    def merge_down(self, layer: LayerRef | None = None) -> Layer:
        """Draw a layer onto the paint layer below it (with its blend mode and opacity) and
        remove it. The lower layer keeps its own properties and grows to cover both."""
        upper = self.layer(layer) if layer is not None else self._require_active()
        parent, i = self.stack.position(upper)
        below = [n for n in parent.children[:i] if not n.is_mask]
        if upper.is_mask or upper.is_group or not below or below[-1].is_group:
            raise DocumentError(f'"{upper.name}" has no paint layer below it to merge into.')
        lower = below[-1]
        union = lower.bounds() | upper.bounds()
        img = new_image(union.width(), union.height())
        p = QPainter(img)
        p.drawImage(lower.bounds().topLeft() - union.topLeft(), lower.image)
        p.end()
        if upper.visible:
            at = upper.bounds().topLeft() - union.topLeft()
            blend_image(img, at, upper.image, upper.image.rect(), upper.blend_mode, upper.opacity)
        parts = [
            C.ReplaceImageCommand(self, lower, img, union.x(), union.y(), ""),
            C.RemoveLayerChild(self, upper),
            C.SetActiveChild(self, lower),
        ]
        self.undo_stack.push(C.MacroCommand(f'Merge "{upper.name}" down', parts))
        return lower

    def flatten(self) -> Layer:
        """Replace all visible paint layers and groups by one layer of the composite.

        Hidden paint layers are discarded (as in GIMP and Krita); the mask layer is kept.
        """
        flat = Layer(name="Background", image=self.composite())
        new_layers = [flat] + [la for la in self.stack.layers() if la.is_mask]
        self.undo_stack.push(C.ReplaceStackCommand(self, new_layers, flat, "Flatten image"))
        return flat

    def import_image_as_layer(self, path: str | Path, index: int | None = None) -> Layer:
        """Read an image file (see image_io.read_image) into a new layer above the active one."""
        from .image_io import read_image

        img = read_image(path)
        return self.add_layer(Path(path).stem or "Imported", image=img, index=index)

    def set_layer_image(self, layer: LayerRef, image: QImage, text: str = "Change pixels") -> None:
        """Give a layer new pixels (placed at the document origin) as one undo step."""
        la = self._raster(layer)
        img = image.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)
        self.undo_stack.push(C.ReplaceImageCommand(self, la, img, 0, 0, text))

    # ----------------------------------------------------------------- helpers
    def _require_active(self) -> Node:
        if self.active_node is None:
            raise DocumentError("No layer is selected.")
        return self.active_node

    def _require_layer(self) -> Layer:
        node = self._require_active()
        if node.is_group:
            raise DocumentError(f'"{node.name}" is a group: select one of its layers.')
        return node

    def _raster(self, ref: LayerRef) -> Layer:
        node = self.layer(ref)
        if node.is_group:
            raise DocumentError(f'"{node.name}" is a group, not a layer with pixels.')
        return node

    def _group(self, ref: LayerRef) -> LayerGroup:
        if ref is self.root:
            return self.root
        node = self.layer(ref)
        if not node.is_group:
            raise DocumentError(f'"{node.name}" is not a group.')
        return node

    def _insertion_point(
        self, parent: LayerGroup | None, index: int | None
    ) -> tuple[LayerGroup, int]:
        """Where a new node goes: `index` of `parent` (default the top level), or above the
        active node in its group, or on top."""
        if index is not None:
            group = self.root if parent is None else self._group(parent)
            return group, max(0, min(int(index), len(group.children)))
        if parent is not None:
            group = self._group(parent)
            return group, len(group.children)
        active = self.active_node
        if active is not None:
            group, i = self.stack.position(active)
            return group, i + 1
        return self.root, len(self.root.children)

    def _unique_name(self, base: str) -> str:
        names = {n.name for n in self.stack.nodes()}
        if base not in names:
            return base
        n = 2
        while f"{base} {n}" in names:
            n += 1
        return f"{base} {n}"

    def _push_prop(self, layer: LayerRef, prop: str, value: Any, text: str, merge: bool) -> None:
        la = self.layer(layer)
        if self._get_prop(la, prop) == value:
            return
        gen = self._merge_gen if merge else -1
        self.undo_stack.push(C.SetLayerPropertyCommand(self, la, prop, value, text, gen))

    def _get_prop(self, layer: Node, prop: str) -> Any:
        return self.stack.get_property(layer, prop)
