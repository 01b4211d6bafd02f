"""Turning an edit result into the pixels the document receives, so a mask is respected.

The model returns a whole picture; outside the mask nothing may change, and the canvas
preview must be clipped the same way.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QBitmap, QColor, QImage, QRegion

from rfedit_desktop.errors import EditError
from rfedit_desktop.ui.staging import StagedResult


def mask_region(mask: np.ndarray) -> QRegion:
    """The document pixels a mask lets change, as a region to clip the canvas preview to."""
    inside = np.ascontiguousarray((np.asarray(mask) > 0).astype(np.uint8) * 255)
    h, w = inside.shape
    grey = QImage(inside.data, w, h, w, QImage.Format.Format_Grayscale8)
    mono = grey.createMaskFromColor(QColor(255, 255, 255).rgb(),
                                    Qt.MaskMode.MaskOutColor)
    return QRegion(QBitmap.fromImage(mono))


def pixels_for_target(staged: StagedResult, target: str, document: Any,
                      layer_id: int | None) -> np.ndarray:
    """The RGBA pixels that `apply_edit` receives, so that outside a mask nothing changes.

    New layer: the result, transparent outside the mask (alpha = mask), so the picture under
    it shows through exactly. Replace: the result blended into the layer's own pixels by the
    mask, so the layer keeps its pixels exactly where the mask is 0.
    """
    rgb = np.asarray(staged.pixels)[..., :3].astype(np.float32)
    h, w = rgb.shape[:2]
    mask = staged.mask
    if mask is None:
        alpha = np.full((h, w), 255, np.uint8)
        return np.dstack([rgb.astype(np.uint8), alpha])
    m = np.asarray(mask)
    m = m.astype(np.float32) / 255.0 if m.dtype == np.uint8 else np.clip(m.astype(np.float32),
                                                                          0.0, 1.0)
    if m.shape != (h, w):
        raise EditError("The mask no longer matches the result's size.")
    if target == "new-layer":
        alpha = np.rint(m * 255.0).astype(np.uint8)
        return np.dstack([rgb.astype(np.uint8), alpha])
    ref = layer_id if layer_id is not None else document.edit_target_layer()
    base = document.layer_array(ref).astype(np.float32)
    if base.shape[:2] != (h, w):
        raise EditError("The layer no longer matches the result's size.")
    m3 = m[..., None]
    out_rgb = base[..., :3] * (1.0 - m3) + rgb * m3
    out_a = base[..., 3] * (1.0 - m) + 255.0 * m
    out = np.dstack([out_rgb, out_a])
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
