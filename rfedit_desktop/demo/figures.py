"""Labelled picture grids for the demo's figures (showcase and trade-off benchmark)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

SCALE = 2  # pictures are 64 px; shown at 128


def _label(text: str, width: int, height: int = 28) -> Image.Image:
    img = Image.new("RGB", (width, height), (40, 40, 40))
    d = ImageDraw.Draw(img)
    words, lines, cur = text.split(), [], ""
    for w in words:  # wrap to the cell width with the default bitmap font (~6 px a char)
        if len(cur) + len(w) + 1 > width // 6 and cur:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}".strip()
    lines.append(cur)
    for i, line in enumerate(lines[:2]):
        d.text((4, 2 + 12 * i), line, fill=(235, 235, 235))
    return img


def grid(
    cells: Sequence[Sequence[np.ndarray]],
    col_labels: Sequence[str],
    row_labels: Sequence[str] | None = None,
    label_h: int = 28,
) -> Image.Image:
    """Tile pictures (rows x cols, each HxWx3) with labels above the columns and left of rows."""
    rows, cols = len(cells), len(cells[0])
    cw = cells[0][0].shape[1] * SCALE
    ch = cells[0][0].shape[0] * SCALE
    left = 70 if row_labels else 0
    out = Image.new("RGB", (left + cols * cw, label_h + rows * ch), (40, 40, 40))
    for c, text in enumerate(col_labels):
        out.paste(_label(text, cw, label_h), (left + c * cw, 0))
    for r in range(rows):
        if row_labels:
            out.paste(_label(row_labels[r], left, ch), (0, label_h + r * ch))
        for c in range(cols):
            tile = Image.fromarray(cells[r][c]).resize((cw, ch), Image.Resampling.NEAREST)
            out.paste(tile, (left + c * cw, label_h + r * ch))
    return out
