"""A neutral dark grey theme: artists judge colour against it, so no tint in the greys."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

WINDOW = QColor(50, 50, 50)
BASE = QColor(36, 36, 36)
ALT_BASE = QColor(44, 44, 44)
BUTTON = QColor(58, 58, 58)
TEXT = QColor(220, 220, 220)
DISABLED_TEXT = QColor(120, 120, 120)
HIGHLIGHT = QColor(74, 128, 200)
CANVAS_BACKGROUND = QColor(40, 40, 40)
MASK_TINT = QColor(255, 40, 90)
"""The edit mask's colour: over the canvas and in the mask layer's thumbnail."""

STYLE_SHEET = """
QDockWidget { titlebar-close-icon: none; font-weight: 600; }
QDockWidget::title {
    background: #3c3c3c; padding: 4px 6px; border-bottom: 1px solid #2a2a2a;
}
QToolBar { border: none; spacing: 2px; padding: 2px; }
QToolButton { padding: 3px; border-radius: 3px; }
QToolButton:checked { background: #4a80c8; }
QToolButton:hover:!checked { background: #4a4a4a; }
QStatusBar QLabel { padding: 0 6px; color: #c8c8c8; }
QListWidget::item { padding: 2px; }
QListWidget::item:selected { background: #3d5f8c; }
"""


def dark_palette() -> QPalette:
    pal = QPalette()
    roles = QPalette.ColorRole
    pal.setColor(roles.Window, WINDOW)
    pal.setColor(roles.WindowText, TEXT)
    pal.setColor(roles.Base, BASE)
    pal.setColor(roles.AlternateBase, ALT_BASE)
    pal.setColor(roles.ToolTipBase, QColor(30, 30, 30))
    pal.setColor(roles.ToolTipText, TEXT)
    pal.setColor(roles.PlaceholderText, QColor(140, 140, 140))
    pal.setColor(roles.Text, TEXT)
    pal.setColor(roles.Button, BUTTON)
    pal.setColor(roles.ButtonText, TEXT)
    pal.setColor(roles.BrightText, QColor(255, 90, 90))
    pal.setColor(roles.Link, QColor(110, 160, 230))
    pal.setColor(roles.Highlight, HIGHLIGHT)
    pal.setColor(roles.HighlightedText, QColor(255, 255, 255))
    pal.setColor(roles.Light, QColor(80, 80, 80))
    pal.setColor(roles.Midlight, QColor(66, 66, 66))
    pal.setColor(roles.Mid, QColor(44, 44, 44))
    pal.setColor(roles.Dark, QColor(30, 30, 30))
    pal.setColor(roles.Shadow, QColor(15, 15, 15))
    disabled = QPalette.ColorGroup.Disabled
    for role in (roles.WindowText, roles.Text, roles.ButtonText):
        pal.setColor(disabled, role, DISABLED_TEXT)
    pal.setColor(disabled, roles.Highlight, QColor(70, 70, 70))
    return pal


def apply_dark_theme(app: QApplication) -> None:
    """Fusion draws the same on every platform, so the palette is all that decides the look."""
    app.setStyle("Fusion")
    app.setPalette(dark_palette())
    app.setStyleSheet(STYLE_SHEET)
