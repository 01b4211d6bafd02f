"""The grey checkerboard drawn under transparent pixels."""

from __future__ import annotations

from functools import lru_cache

from PySide6.QtGui import QBrush, QColor, QPainter, QPixmap

LIGHT = QColor(112, 112, 112)
DARK = QColor(84, 84, 84)


@lru_cache(maxsize=4)
def checker_brush(cell: int = 8) -> QBrush:
    """A brush of 2×2 cells; fixed in screen space so it does not crawl while zooming."""
    tile = QPixmap(cell * 2, cell * 2)
    tile.fill(LIGHT)
    p = QPainter(tile)
    p.fillRect(0, 0, cell, cell, DARK)
    p.fillRect(cell, cell, cell, cell, DARK)
    p.end()
    return QBrush(tile)
