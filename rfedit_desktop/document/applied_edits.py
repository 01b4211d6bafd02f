"""AI edit results entering the Document as one undo step each, with their parameters recorded.

A mixin of `Document`: the only place a model's output (pixels plus a metadata dict) touches the
layer stack and `edit_history`, so the document never needs torch.
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from . import commands as C
from .errors import DocumentError
from .image_io import array_to_qimage
from .layer import Layer

LAYER_NAME_LIMIT = 40
"""The longest layer name made from a prompt (the layers panel shows about this much)."""


class AppliedEdits:
    """Apply an edit's pixels (new layer or replace) and keep `edit_history` in step with undo.

    Mixed into `Document`: uses its size, layer lookups, `undo_stack` and signals.
    """

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
            name = layer_name_for(prompt)
            layer = Layer(name=name, image=img)
            if anchor is not None:
                parent, index = self.stack.position(anchor)
                index += 1
            else:
                parent, index = self.root, len(self.root.children)
            entry.update(layer_id=layer.id, layer_name=layer.name)
            self.undo_stack.push(
                C.ApplyEditCommand(self, entry, text, new_layer=layer, parent=parent, index=index)
            )
            return layer
        if anchor is None:
            raise DocumentError("Choose a layer to replace with the edit.")
        if anchor.is_mask:
            raise DocumentError("An edit cannot replace the mask layer.")
        entry.update(layer_id=anchor.id, layer_name=anchor.name)
        self.undo_stack.push(C.ApplyEditCommand(self, entry, text, target=anchor, image=img))
        return anchor

    def applied_edit(self, layer_id: int) -> dict | None:
        """The newest applied edit that made or changed this layer (its whole prompt and
        parameters), or None: the layer's name holds only the prompt's first words."""
        for entry in reversed(self.edit_history):
            if entry.get("layer_id") == layer_id:
                return entry
        return None


class EditLog:
    """`Document.edit_history` as ApplyEditCommand changes it: append or remove one entry and
    announce it (`edit_history_changed`)."""

    def __init__(self, doc):
        self._doc = doc

    def append(self, entry: dict) -> None:
        self._doc.edit_history.append(entry)
        self._doc.edit_history_changed.emit()

    def remove(self, entry: dict) -> None:
        history = self._doc.edit_history
        for i in range(len(history) - 1, -1, -1):
            if history[i] is entry:
                del history[i]
                break
        self._doc.edit_history_changed.emit()


def layer_name_for(prompt: str, limit: int = LAYER_NAME_LIMIT) -> str:
    """A layer name from a prompt: whole if short, else cut at a word with an ellipsis."""
    prompt = " ".join(prompt.split())
    if not prompt:
        return "Edit"
    if len(prompt) <= limit:
        return prompt
    cut = prompt[: limit - 1]
    if prompt[limit - 1] != " " and " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:.-") + "…"


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
