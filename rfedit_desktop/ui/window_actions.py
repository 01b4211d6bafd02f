"""The window's actions (with their shortcuts) and the tool bar, built once at start.

A mixin of `MainWindow`; apart so the shortcut list is read in one place. Every action is
added to the window itself, so its shortcut works even while the menu bar is hidden.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QToolBar

from rfedit_desktop.ui.icons import icon
from rfedit_desktop.ui.tool_state import Tool


class WindowActions:
    """File, edit, tool, view and help actions as `act_*` attributes, and the Tools bar."""

    def _action(self, text: str, slot, shortcut=None, icon_name: str | None = None,
                tip: str | None = None) -> QAction:
        action = QAction(text, self)
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
        self.addAction(action)  # shortcuts work even when the menu bar is hidden
        return action

    def _build_actions(self) -> None:
        a = self._action
        # Keys named explicitly, not by QKeySequence.StandardKey: on X11 those add keys such as
        # F14 or drop Ctrl+Y, and the README and Help ▸ Keyboard Shortcuts must list what works.
        self.act_new = a("&New…", self.new_document, "Ctrl+N")
        self.act_open = a("&Open…", self.open_dialog, "Ctrl+O")
        self.act_save = a("&Save", self.save, "Ctrl+S")
        self.act_save_as = a("Save &As…", self.save_as, "Ctrl+Shift+S")
        self.act_import = a("&Import Image as Layer…", self.import_layer_dialog, "Ctrl+Shift+I")
        self.act_export = a("&Export Image…", self.export_dialog, "Ctrl+E")
        self.act_close = a("&Close", self.close_document, "Ctrl+W")
        self.act_recover = a("Recover &Unsaved Work…", self.recover_dialog)
        self.act_quit = a("&Quit", self.close, "Ctrl+Q")
        self.act_quit.setMenuRole(QAction.MenuRole.QuitRole)

        # Own actions rather than QUndoGroup's: a stroke still being drawn must be finished
        # before the history moves, or undo would swap tiles under the brush.
        self.act_undo = a("&Undo", self.undo, "Ctrl+Z")
        self.act_redo = a("&Redo", self.redo, ["Ctrl+Shift+Z", "Ctrl+Y"])
        group = self.undo_group
        group.canUndoChanged.connect(self.act_undo.setEnabled)
        group.canRedoChanged.connect(self.act_redo.setEnabled)
        group.undoTextChanged.connect(
            lambda text: self.act_undo.setText(f"&Undo {text}".strip()))
        group.redoTextChanged.connect(
            lambda text: self.act_redo.setText(f"&Redo {text}".strip()))
        self.act_undo.setEnabled(False)
        self.act_redo.setEnabled(False)

        self.tool_group = QActionGroup(self)
        self.tool_actions: dict[Tool, QAction] = {}
        for tool, key, icon_name in ((Tool.BRUSH, "B", "brush"), (Tool.ERASER, "E", "eraser"),
                                     (Tool.PICKER, "I", "picker"), (Tool.MASK, "M", "mask")):
            act = a(tool.label, lambda _=False, t=tool: self.tools.set_tool(t), key, icon_name,
                    f"{tool.label} ({key})")
            act.setCheckable(True)
            self.tool_group.addAction(act)
            self.tool_actions[tool] = act
        self.tool_actions[self.tools.tool].setChecked(True)
        self.tool_actions[Tool.MASK].triggered.connect(self.canvas.show_mask_tint)
        self.tools.tool_changed.connect(lambda t: self.tool_actions[t].setChecked(True))
        self.act_bigger = a("Bigger Brush", self.tools.grow, "]")
        self.act_smaller = a("Smaller Brush", self.tools.shrink, "[")
        self.act_swap = a("Swap Colours", self.tools.swap_colours, "X", "swap")
        self.act_default_colours = a("Default Colours", self.tools.default_colours, "D",
                                     "reset-colours")

        self.act_zoom_in = a("Zoom &In", self.canvas.zoom_in, ["Ctrl++", "Ctrl+="])
        self.act_zoom_out = a("Zoom &Out", self.canvas.zoom_out, "Ctrl+-")
        self.act_fit = a("&Fit to Window", self.canvas.fit_to_window, "Ctrl+0")
        self.act_actual = a("&Actual Pixels (100%)", self.canvas.actual_pixels, "Ctrl+1")

        self.act_about = a("&About rfedit", self.show_about)
        self.act_shortcuts = a("&Keyboard Shortcuts", self.show_shortcuts, "F1")
        self.act_preferences = a("&Preferences…", self.edit_preferences,
                                 QKeySequence.StandardKey.Preferences)
        self.act_preferences.setMenuRole(QAction.MenuRole.PreferencesRole)

    def _build_tool_bar(self) -> None:
        bar = QToolBar("Tools", self)
        bar.setObjectName("ToolsToolBar")
        bar.setIconSize(QSize(24, 24))
        bar.setMovable(True)
        for act in self.tool_actions.values():
            bar.addAction(act)
        bar.addSeparator()
        bar.addAction(self.act_swap)
        bar.addAction(self.act_default_colours)
        self.addToolBar(Qt.ToolBarArea.LeftToolBarArea, bar)
        self.tool_bar = bar
