"""The Document: a layer stack, its undo history and its cached composite.

Layer order: `layers[0]` is the BOTTOM layer, `layers[-1]` the top (compositing order; the
OpenRaster writer reverses it because stack.xml lists the top first). Public methods that change
anything push one QUndoCommand on `undo_stack`, so the history panel shows every change; the
commands call back into the `_` methods here, which update the composite cache and emit signals.

Layers are named in the API by a Layer object or its integer `id` (ids are stable across
reordering; indexes are not).
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QPoint, QRect, QSize, Qt, Signal, Slot
from PySide6.QtGui import QColor, QImage, QPainter, QUndoStack

from . import commands as C
from .blend import BLEND_MODES, composition_mode
from .composite import CompositeCache
from .errors import DocumentError
from .history import DEFAULT_BUDGET, HistoryBudget
from .image_io import array_to_qimage, new_image, qimage_to_array
from .layer import MASK, PAINT, Layer
from .limits import check_size

LayerRef = Layer | int

DEFAULT_UNDO_LIMIT = 1000
WHITE = QColor(255, 255, 255)
MASK_TINT = QColor(255, 40, 40, 110)
"""Default colour of the mask overlay (semi-transparent red)."""


class Document(QObject):
    """An image being edited. Create with `Document(w, h)` (no layers) or `Document.new(...)`.

    Signals:
    - `region_changed(QRect)`: composite pixels changed in this document rectangle (repaint it).
      Also emitted for the mask layer's pixels, so the mask overlay repaints.
    - `layers_changed()`: the list or a property of a layer changed (refresh the layers panel).
    - `layer_pixels_changed(int)`: a layer's pixels changed (layer id; refresh its thumbnail).
      Emitted per finished command, not per dab.
    - `active_layer_changed(int)`: index of the new active layer in `layers` (-1: none).
    - `modified_changed(bool)`: unsaved changes appeared or disappeared (title mark).
    - `file_path_changed(str)`: after save-as or load.
    - `edit_history_changed()`: an AI edit was applied, undone or redone.
    """

    region_changed = Signal(QRect)
    layers_changed = Signal()
    layer_pixels_changed = Signal(int)
    active_layer_changed = Signal(int)
    modified_changed = Signal(bool)
    file_path_changed = Signal(str)
    edit_history_changed = Signal()

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
        self._layers: list[Layer] = []
        self._active: Layer | None = None
        self._file_path: str | None = None
        self.source_path: str | None = None
        """The image file this document was opened from (not a project file), if any."""
        self.edit_history: list[dict] = []
        """Applied AI edits, oldest first: prompt, parameters, seed, target layer, time."""
        self.extra_files: dict[str, bytes] = {}
        """Other rfedit data saved under data/rfedit/ in the .ora (e.g. cached latents)."""
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setUndoLimit(max(0, int(undo_limit)))
        self.undo_stack.cleanChanged.connect(self._on_clean_changed)
        self.history_budget = HistoryBudget(memory_budget)
        self._cache = CompositeCache(self._w, self._h, lambda: self._layers)
        self._merge_gen = 0

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
        """The stack, bottom first. A copy: change it through the methods below."""
        return list(self._layers)

    @property
    def paint_layers(self) -> list[Layer]:
        return [la for la in self._layers if not la.is_mask]

    @property
    def mask_layer(self) -> Layer | None:
        """The edit-region mask layer, if the document has one."""
        return next((la for la in self._layers if la.is_mask), None)

    @property
    def active_layer(self) -> Layer | None:
        return self._active

    @property
    def active_index(self) -> int:
        return self.index_of(self._active) if self._active is not None else -1

    def set_active_layer(self, layer: LayerRef | None) -> None:
        """Select the layer brushes paint on (not an undoable change)."""
        self._set_active(None if layer is None else self.layer(layer))

    def edit_target_layer(self) -> Layer | None:
        """The paint layer an AI edit reads or replaces: the active layer, or while the mask is
        active (the artist just painted the region) the top paint layer."""
        if self._active is not None and not self._active.is_mask:
            return self._active
        paint = self.paint_layers
        return paint[-1] if paint else None

    def layer(self, ref: LayerRef) -> Layer:
        """The Layer for a Layer or id; DocumentError if it is not in this document."""
        if isinstance(ref, Layer):
            if ref in self._layers:
                return ref
            raise DocumentError(f'Layer "{ref.name}" is not in this document.')
        for la in self._layers:
            if la.id == ref:
                return la
        raise DocumentError(f"No layer with id {ref}.")

    def layer_by_id(self, layer_id: int) -> Layer | None:
        return next((la for la in self._layers if la.id == layer_id), None)

    def index_of(self, layer: LayerRef) -> int:
        return self._layers.index(self.layer(layer))

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

    # ----------------------------------------------------------------- compositing
    def composite(self, rect: QRect | None = None) -> QImage:
        """The visible picture (no mask) over `rect` (default all), ARGB32_Premultiplied."""
        return self._cache.render(rect)

    def draw_composite(self, painter: QPainter, rect: QRect) -> None:
        """Draw the cached composite tiles covering `rect` with `painter` (canvas paintEvent)."""
        self._cache.draw(painter, rect)

    def draw_mask_overlay(self, painter: QPainter, rect: QRect, color: QColor = MASK_TINT) -> None:
        """Draw the mask as `color` tinted by mask coverage over `rect`, if a visible mask exists."""
        mask = self.mask_layer
        if mask is None or not mask.visible:
            return
        area = rect & mask.bounds()
        if area.isEmpty():
            return
        tint = mask.image.copy(area.translated(-mask.x, -mask.y))
        p = QPainter(tint)
        p.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceIn)
        p.fillRect(tint.rect(), color)
        p.end()
        painter.drawImage(area.topLeft(), tint)

    def composite_for_edit(self, source: str = "visible") -> np.ndarray:
        """Pixels for the AI edit as HxWx4 straight RGBA uint8 at document size.

        `source="visible"`: the composite (no mask). `source="active"`: the active layer alone,
        placed at its offset on a transparent canvas.
        """
        if source == "visible":
            return qimage_to_array(self.composite(), straight=True)
        if source == "active":
            layer = self.edit_target_layer()
            if layer is None:
                raise DocumentError("There is no paint layer to edit.")
            return qimage_to_array(self._layer_on_canvas(layer), straight=True)
        raise ValueError(f"source must be 'visible' or 'active', not {source!r}")

    def layer_array(self, layer: LayerRef, straight: bool = True) -> np.ndarray:
        """One layer at document size as HxWx4 RGBA uint8 (outside its bounds: transparent)."""
        return qimage_to_array(self._layer_on_canvas(self.layer(layer)), straight=straight)

    def mask_array(self) -> np.ndarray | None:
        """The edit region as HxW float32 in [0, 1] (1 = may change), or None.

        None when there is no mask layer or it is empty (an empty region would forbid every
        change). The mask applies even while its overlay is hidden.
        """
        mask = self.mask_layer
        if mask is None:
            return None
        canvas = self._layer_on_canvas(mask)
        alpha = qimage_to_array(canvas, straight=False)[..., 3]
        if not alpha.any():
            return None
        return alpha.astype(np.float32) / 255.0

    def layer_thumbnail(self, layer: LayerRef, max_side: int = 64) -> QImage:
        """A small image of a layer at document proportions, for the layers panel."""
        canvas = self._layer_on_canvas(self.layer(layer))
        return canvas.scaled(
            max_side,
            max_side,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )

    def thumbnail(self, max_side: int = 256) -> QImage:
        """The composite scaled to fit `max_side` (OpenRaster thumbnail, recent files)."""
        return self.composite().scaled(
            max_side,
            max_side,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )

    # ----------------------------------------------------------------- layer operations
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

    # ----------------------------------------------------------------- AI edits
    def apply_edit(
        self,
        pixels: np.ndarray,
        metadata: dict[str, Any],
        target: str = "new-layer",
        layer_id: int | None = None,
    ) -> Layer:
        """Put an edit's result into the document as ONE undo step named after the prompt.

        `pixels`: HxWx3 (opaque) or HxWx4 straight RGBA uint8 at document size (other sizes are
        scaled to it). `target="new-layer"` inserts a layer above `layer_id` (default: the
        active layer) and makes it active; `target="replace"` replaces the pixels of
        `layer_id` (default: the active layer). `metadata` (prompt, method, parameters, seed,
        ...) is stored in `edit_history` (saved in the .ora) while the step is applied.
        Returns the layer that received the pixels.
        """
        if target not in ("new-layer", "replace"):
            raise DocumentError(f"target must be 'new-layer' or 'replace', not {target!r}.")
        img = array_to_qimage(np.asarray(pixels))
        if img.size() != self.size():
            img = img.scaled(
                self.size(),
                Qt.AspectRatioMode.IgnoreAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            ).convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)
        meta = _json_safe(dict(metadata))
        prompt = str(meta.get("prompt", "")).strip()
        text = f'Edit: "{prompt}"' if prompt else "Edit"
        anchor = self.layer(layer_id) if layer_id is not None else self.edit_target_layer()
        entry: dict[str, Any] = {
            "prompt": prompt,
            "target": target,
            "time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "metadata": meta,
        }
        if target == "new-layer":
            name = (prompt[:40] or "Edit") if prompt else "Edit"
            layer = Layer(name=name, image=img)
            index = self.index_of(anchor) + 1 if anchor is not None else len(self._layers)
            entry.update(layer_id=layer.id, layer_name=layer.name)
            self.undo_stack.push(
                C.ApplyEditCommand(self, entry, text, new_layer=layer, index=index)
            )
            return layer
        if anchor is None:
            raise DocumentError("Choose a layer to replace with the edit.")
        if anchor.is_mask:
            raise DocumentError("An edit cannot replace the mask layer.")
        entry.update(layer_id=anchor.id, layer_name=anchor.name)
        self.undo_stack.push(C.ApplyEditCommand(self, entry, text, target=anchor, image=img))
        return anchor

    # ----------------------------------------------------------------- used by commands/brush
    @Slot(bool)
    def _on_clean_changed(self, clean: bool) -> None:
        # a method slot (not a lambda), so Qt drops the connection when the document dies
        self.modified_changed.emit(not clean)

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

    def _layer_on_canvas(self, layer: Layer) -> QImage:
        if layer.bounds() == self.rect():
            return layer.image
        canvas = new_image(self._w, self._h)
        p = QPainter(canvas)
        p.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
        p.drawImage(QPoint(layer.x, layer.y), layer.image)
        p.end()
        return canvas

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

    def _set_prop(self, layer: Layer, prop: str, value: Any) -> None:
        before = layer.bounds()
        if prop == "offset":
            layer.x, layer.y = value
        else:
            setattr(layer, prop, value)
        if prop not in ("name", "alpha_locked"):
            self._composite_changed(before | layer.bounds(), mask_only=layer.is_mask)
        self.layers_changed.emit()

    def _insert(self, layer: Layer, index: int) -> None:
        self._layers.insert(index, layer)
        self._composite_changed(layer.bounds(), mask_only=layer.is_mask)
        self.layers_changed.emit()
        self._emit_active()

    def _remove(self, layer: Layer) -> None:
        self._layers.remove(layer)
        if self._active is layer:
            self._active = None
        self._composite_changed(layer.bounds(), mask_only=layer.is_mask)
        self.layers_changed.emit()
        self._emit_active()

    def _move(self, layer: Layer, index: int) -> None:
        self._layers.remove(layer)
        self._layers.insert(index, layer)
        self._composite_changed(self.rect())
        self.layers_changed.emit()
        self._emit_active()

    def _set_stack(self, layers: list[Layer], active: Layer | None) -> None:
        self._layers = list(layers)
        self._active = active if active in self._layers else None
        self._composite_changed(self.rect())
        self.layers_changed.emit()
        self._emit_active()

    def _replace_image(self, layer: Layer, image: QImage, x: int, y: int) -> None:
        before = layer.bounds()
        layer.image, layer.x, layer.y = image, x, y
        self._composite_changed(before | layer.bounds(), mask_only=layer.is_mask)
        self.layer_pixels_changed.emit(layer.id)
        self.layers_changed.emit()

    def _set_active(self, layer: Layer | None) -> None:
        if layer is not None and layer not in self._layers:
            layer = None
        if layer is self._active:
            return
        self._active = layer
        self._emit_active()

    def _emit_active(self) -> None:
        self.active_layer_changed.emit(self.active_index)

    def _composite_changed(self, rect: QRect, mask_only: bool = False) -> None:
        rect = rect & self.rect()
        if rect.isEmpty():
            return
        if not mask_only:
            self._cache.invalidate(rect)
        self.region_changed.emit(rect)

    def _pixels_changed(self, layer: Layer, rect: QRect, final: bool = False) -> None:
        """A brush or an undo changed `rect` (document coordinates) of `layer`."""
        self._composite_changed(rect, mask_only=layer.is_mask)
        if final:
            self.layer_pixels_changed.emit(layer.id)

    def _append_history(self, entry: dict) -> None:
        self.edit_history.append(entry)
        self.edit_history_changed.emit()

    def _pop_history(self, entry: dict) -> None:
        for i in range(len(self.edit_history) - 1, -1, -1):
            if self.edit_history[i] is entry:
                del self.edit_history[i]
                break
        self.edit_history_changed.emit()

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
        return sum(la.nbytes() for la in self._layers)

    def cache_bytes(self) -> int:
        return self._cache.nbytes()

    def __deepcopy__(self, memo):  # pragma: no cover - guard against accidental copies
        raise TypeError("Documents are not copyable; save and load instead.")


def _json_safe(value: Any) -> Any:
    """Metadata as plain JSON types (numpy scalars and arrays, tuples, paths converted)."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist() if value.size <= 4096 else f"<array {value.shape}>"
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, Path):
        return str(value)
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)
