"""The window's actions (with their shortcuts) and the tool bar, built once at start.

Functions the window calls while it is built; apart so the shortcut list is read in one place.
Every action is added to the window itself, so its shortcut works even while the menu bar is
hidden.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMainWindow, QToolBar

from rfedit_desktop.ui.icons import icon
from rfedit_desktop.ui.tool_state import Tool

if TYPE_CHECKING:
    from rfedit_desktop.ui.main_window import MainWindow


def make_action(window: QMainWindow, text: str, slot, shortcut=None,
                icon_name: str | None = None, tip: str | None = None) -> QAction:
    """An action of `window` with its shortcut(s), icon and tip, calling `slot`."""
    action = QAction(text, window)
    if icon_name:
        action.setIcon(icon(icon_name))
    if shortcut is not None:
        if isinstance(shortcut, QKeySequence.StandardKey):
            action.setShortcuts(shortcut)
        elif isinstance(shortcut, (list, tuple)):
            action.setShortcuts([QKeySequence(s) for s in shortcut])
        else:
            action.setShortcut(QKeySequence(shortcut))
    if tip:
        action.setToolTip(tip)
        action.setStatusTip(tip)
    action.triggered.connect(slot)
    window.addAction(action)  # shortcuts work even when the menu bar is hidden
    return action


def build_actions(window: MainWindow) -> None:
    """File, edit, tool, view and help actions, as the window's `act_*` attributes."""

    def a(*args) -> QAction:
        return make_action(window, *args)

    # Keys named explicitly, not by QKeySequence.StandardKey: on X11 those add keys such as
    # F14 or drop Ctrl+Y, and the README and Help ▸ Keyboard Shortcuts must list what works.
    window.act_new = a("&New…", window.files.new_document, "Ctrl+N")
    window.act_open = a("&Open…", window.files.open_dialog, "Ctrl+O")
    window.act_save = a("&Save", window.files.save, "Ctrl+S")
    window.act_save_as = a("Save &As…", window.files.save_as, "Ctrl+Shift+S")
    window.act_import = a("&Import Image as Layer…", window.files.import_layer_dialog, "Ctrl+Alt+O")
    window.act_export = a("&Export Image…", window.files.export_dialog, "Ctrl+E")
    window.act_close = a("&Close", window.files.close_document, "Ctrl+W")
    window.act_recover = a("Recover &Unsaved Work…", window.recovery.recover_dialog)
    window.act_quit = a("&Quit", window.close, "Ctrl+Q")
    window.act_quit.setMenuRole(QAction.MenuRole.QuitRole)

    # Own actions rather than QUndoGroup's: a stroke still being drawn must be finished
    # before the history moves, or undo would swap tiles under the brush.
    window.act_undo = a("&Undo", window.undo, "Ctrl+Z")
    window.act_redo = a("&Redo", window.redo, ["Ctrl+Shift+Z", "Ctrl+Y"])
    group = window.undo_group
    group.canUndoChanged.connect(window.act_undo.setEnabled)
    group.canRedoChanged.connect(window.act_redo.setEnabled)
    group.undoTextChanged.connect(
        lambda text: window.act_undo.setText(f"&Undo {text}".strip()))
    group.redoTextChanged.connect(
        lambda text: window.act_redo.setText(f"&Redo {text}".strip()))
    window.act_undo.setEnabled(False)
    window.act_redo.setEnabled(False)

    window.tool_group = QActionGroup(window)
    window.tool_actions: dict[Tool, QAction] = {}
    for tool, key, icon_name in ((Tool.BRUSH, "B", "brush"), (Tool.ERASER, "E", "eraser"),
                                 (Tool.PICKER, "I", "picker"), (Tool.MASK, "M", "mask"),
                                 (Tool.SELECT_RECT, "Ctrl+R", "select-rect"),
                                 (Tool.SELECT_ELLIPSE, "J", "select-ellipse"),
                                 (Tool.LASSO, None, "lasso"), (Tool.POLYGON, None, "polygon"),
                                 (Tool.MAGIC_WAND, None, "magic-wand"),
                                 (Tool.MOVE, "T", "move"), (Tool.TRANSFORM, "Ctrl+T", "transform"),
                                 (Tool.CROP, "C", "crop"), (Tool.FILL, "F", "fill")):
        tip = f"{tool.label} ({key})" if key else tool.label
        act = a(tool.label, lambda _=False, t=tool: window.tools.set_tool(t), key, icon_name, tip)
        act.setCheckable(True)
        window.tool_group.addAction(act)
        window.tool_actions[tool] = act
    window.tool_actions[window.tools.tool].setChecked(True)
    window.tool_actions[Tool.MASK].triggered.connect(window.canvas.show_mask_tint)
    window.tools.tool_changed.connect(lambda t: window.tool_actions[t].setChecked(True))
    window.act_bigger = a("Bigger Brush", window.tools.grow, "]")
    window.act_smaller = a("Smaller Brush", window.tools.shrink, "[")
    window.act_swap = a("Swap Colours", window.tools.swap_colours, "X", "swap")
    window.act_default_colours = a("Default Colours", window.tools.default_colours, "D",
                                 "reset-colours")

    window.act_zoom_in = a("Zoom &In", window.canvas.zoom_in, ["Ctrl++", "Ctrl+="])
    window.act_zoom_out = a("Zoom &Out", window.canvas.zoom_out, "Ctrl+-")
    window.act_fit = a("&Fit to Window", window.canvas.fit_to_window, "Ctrl+0")
    window.act_actual = a("&Actual Pixels (100%)", window.canvas.actual_pixels, "Ctrl+1")

    window.act_about = a("&About rfedit", window.show_about)
    window.act_shortcuts = a("&Keyboard Shortcuts", window.show_shortcuts, "F1")
    window.act_preferences = a("&Preferences…", window.edit_preferences,
                             QKeySequence.StandardKey.Preferences)
    window.act_preferences.setMenuRole(QAction.MenuRole.PreferencesRole)


def build_tool_bar(window: MainWindow) -> None:
    """The Tools bar at the left edge: the tools, then the colour swaps."""
    bar = QToolBar("Tools", window)
    bar.setObjectName("ToolsToolBar")
    bar.setIconSize(QSize(24, 24))
    bar.setMovable(True)
    for act in window.tool_actions.values():
        bar.addAction(act)
    bar.addSeparator()
    bar.addAction(window.act_swap)
    bar.addAction(window.act_default_colours)
    window.addToolBar(Qt.ToolBarArea.LeftToolBarArea, bar)
    window.tool_bar = bar
