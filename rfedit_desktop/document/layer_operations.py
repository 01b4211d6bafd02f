"""The Document's undoable layer-stack operations: each checks its input and pushes one command.

A mixin of `Document`, kept apart from its state and signals so the rules for what an artist may
do to layers read in one place; the commands (`commands.py`) call back into `Document`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QImage, QPainter

from . import commands as C
from .blend import BLEND_MODES, composition_mode
from .errors import DocumentError
from .image_io import new_image
from .layer import MASK, PAINT, Layer
from .limits import check_size

if TYPE_CHECKING:
    from .document import LayerRef


class LayerOperations:
    """Add, delete, duplicate, move, merge, flatten and restyle layers, one undo step each.

    Mixed into `Document`: uses its stack (`_layers`, `_active`), `undo_stack` and lookups.
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
    ) -> Layer:
        """Add a layer above the active one (or at `index`) and make it active.

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
        if index is None:
            index = self.active_index + 1 if self._active is not None else len(self._layers)
        index = max(0, min(int(index), len(self._layers)))
        if undoable:
            self.undo_stack.push(C.AddLayerCommand(self, layer, index, f'Add layer "{name}"'))
        else:
            self._insert(layer, index)
            self._set_active(layer)
        return layer

    def add_mask_layer(self, name: str = "Edit mask") -> Layer:
        """Add the (single) mask layer on top; DocumentError if there already is one."""
        return self.add_layer(name, kind=MASK, index=len(self._layers))

    def delete_layer(self, layer: LayerRef) -> None:
        la = self.layer(layer)
        self.undo_stack.push(C.RemoveLayerCommand(self, la, f'Delete layer "{la.name}"'))

    def duplicate_layer(self, layer: LayerRef) -> Layer:
        """A copy above the original (a mask cannot be duplicated: one per document)."""
        la = self.layer(layer)
        if la.is_mask:
            raise DocumentError("The mask layer cannot be duplicated.")
        dup = la.copy(name=self._unique_name(f"{la.name} copy"))
        self.undo_stack.push(
            C.AddLayerCommand(self, dup, self.index_of(la) + 1, f'Duplicate layer "{la.name}"')
        )
        return dup

    def move_layer(self, layer: LayerRef, new_index: int) -> None:
        """Move a layer to `new_index` in the bottom-first list (clamped)."""
        la = self.layer(layer)
        new_index = max(0, min(int(new_index), len(self._layers) - 1))
        if new_index == self.index_of(la):
            return
        self.undo_stack.push(C.MoveLayerCommand(self, la, new_index, f'Move layer "{la.name}"'))

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

    def set_layer_offset(self, layer: LayerRef, x: int, y: int, merge: bool = True) -> None:
        """Move a layer's pixels to (x, y) in the document (merges while dragging)."""
        la = self.layer(layer)
        self._push_prop(la, "offset", (int(x), int(y)), f'Move "{la.name}"', merge=merge)

    def set_layer_alpha_locked(self, layer: LayerRef, locked: bool) -> None:
        la = self.layer(layer)
        text = f'{"Lock" if locked else "Unlock"} alpha of "{la.name}"'
        self._push_prop(la, "alpha_locked", bool(locked), text, merge=False)

    def clear_layer(self, layer: LayerRef | None = None) -> None:
        """Make a layer (default: the active one) fully transparent."""
        la = self.layer(layer) if layer is not None else self._require_active()
        blank = new_image(la.width, la.height)
        self.undo_stack.push(
            C.ReplaceImageCommand(self, la, blank, la.x, la.y, f'Clear layer "{la.name}"')
        )

    def merge_down(self, layer: LayerRef | None = None) -> Layer:
        """Draw a layer onto the paint layer below it (with its blend mode and opacity) and
        remove it. The lower layer keeps its own properties and grows to cover both."""
        upper = self.layer(layer) if layer is not None else self._require_active()
        i = self.index_of(upper)
        below = [la for la in self._layers[:i] if not la.is_mask]
        if upper.is_mask or not below:
            raise DocumentError(f'"{upper.name}" has no paint layer below it to merge into.')
        lower = below[-1]
        union = lower.bounds() | upper.bounds()
        img = new_image(union.width(), union.height())
        p = QPainter(img)
        p.drawImage(lower.bounds().topLeft() - union.topLeft(), lower.image)
        if upper.visible:
            p.setCompositionMode(composition_mode(upper.blend_mode))
            p.setOpacity(upper.opacity)
            p.drawImage(upper.bounds().topLeft() - union.topLeft(), upper.image)
        p.end()
        parts = [
            C.ReplaceImageCommand(self, lower, img, union.x(), union.y(), ""),
            C.RemoveLayerChild(self, upper),
            C.SetActiveChild(self, lower),
        ]
        self.undo_stack.push(C.MacroCommand(f'Merge "{upper.name}" down', parts))
        return lower

    def flatten(self) -> Layer:
        """Replace all visible paint layers by one opaque-where-painted layer of the composite.

        Hidden paint layers are discarded (as in GIMP and Krita); the mask layer is kept.
        """
        flat = Layer(name="Background", image=self.composite())
        new_layers = [flat] + [la for la in self._layers if la.is_mask]
        self.undo_stack.push(C.ReplaceStackCommand(self, new_layers, flat, "Flatten image"))
        return flat

    def import_image_as_layer(self, path: str | Path, index: int | None = None) -> Layer:
        """Read an image file (see image_io.read_image) into a new layer above the active one."""
        from .image_io import read_image

        img = read_image(path)
        return self.add_layer(Path(path).stem or "Imported", image=img, index=index)

    def set_layer_image(self, layer: LayerRef, image: QImage, text: str = "Change pixels") -> None:
        """Give a layer new pixels (placed at the document origin) as one undo step."""
        la = self.layer(layer)
        img = image.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)
        self.undo_stack.push(C.ReplaceImageCommand(self, la, img, 0, 0, text))

    # ----------------------------------------------------------------- helpers
    def _require_active(self) -> Layer:
        if self._active is None:
            raise DocumentError("No layer is selected.")
        return self._active

    def _unique_name(self, base: str) -> str:
        names = {la.name for la in self._layers}
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

    def _get_prop(self, layer: Layer, prop: str) -> Any:
        if prop == "offset":
            return (layer.x, layer.y)
        return getattr(layer, prop)
