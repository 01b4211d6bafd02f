"""The main window: canvas in the middle, docks around it, menus, status bar, file handling.

Other parts of the app plug in through a few methods rather than by reaching into widgets:
`add_dock`, `add_edit_dock`, `add_bottom_dock`, `menu_named`, `status_area`, and the
`document` property with its `document_changed` signal.
"""

from __future__ import annotations

import logging
import os

from PySide6.QtCore import QByteArray, QPoint, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QKeySequence,
    QUndoGroup,
)
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QToolBar,
    QWidget,
)

from rfedit_desktop import __version__
from rfedit_desktop.ui import document_io
from rfedit_desktop.ui.canvas_view import CanvasView
from rfedit_desktop.ui.colour_dock import ColourPanel
from rfedit_desktop.ui.history_dock import HistoryPanel
from rfedit_desktop.ui.icons import icon
from rfedit_desktop.ui.layers_dock import LayersPanel
from rfedit_desktop.ui.new_document_dialog import NewDocumentDialog
from rfedit_desktop.ui.preferences_dialog import Preferences, PreferencesDialog
from rfedit_desktop.ui.recent_files import add_recent_file, recent_files, remove_recent_file
from rfedit_desktop.ui.settings import app_settings
from rfedit_desktop.ui.tool_options_dock import ToolOptionsPanel
from rfedit_desktop.ui.tool_state import Tool, ToolState

APP_TITLE = "rfedit"
STATE_VERSION = 1

OPEN_FILTER = ("Images and projects (*.ora *.png *.jpg *.jpeg *.webp *.tif *.tiff);;"
               "OpenRaster (*.ora);;All files (*)")
SAVE_FILTER = "OpenRaster (*.ora)"
EXPORT_FILTER = "PNG (*.png);;JPEG (*.jpg *.jpeg);;WebP (*.webp)"
IMPORT_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.tif *.tiff *.bmp);;All files (*)"


class MainWindow(QMainWindow):
    """One window editing one document at a time."""

    document_changed = Signal(object)  # the new active Document

    def __init__(self, parent: QWidget | None = None, *, restore_state: bool = True,
                 ai: bool = True) -> None:
        """`ai=False` leaves out the AI edit panel (a plain paint program; used by tests)."""
        super().__init__(parent)
        self.setObjectName("MainWindow")
        self.setWindowIcon(icon("app"))
        self.settings = app_settings()
        self.tools = ToolState(self)
        self.tools.load(self.settings)
        self.undo_group = QUndoGroup(self)
        self._document = None
        self._skip_save_prompt = False
        self._autosaved_index: int | None = None
        self._docks: list[QDockWidget] = []
        self.autosaver = document_io.Autosaver()

        self.canvas = CanvasView(self.tools, self)
        self.setCentralWidget(self.canvas)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks
                            | QMainWindow.DockOption.AllowTabbedDocks
                            | QMainWindow.DockOption.AllowNestedDocks)
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)

        self._build_actions()
        self._build_tool_bar()
        self._build_docks()
        self._build_menus()
        self._build_status_bar()
        self._connect_canvas()
        self.ai_editing = self._build_ai_editing() if ai else None

        self.autosave_timer = QTimer(self)
        self.autosave_timer.timeout.connect(self.autosave_now)
        self.apply_preferences(Preferences.load(self.settings))

        self.setAcceptDrops(True)
        self.resize(QSize(1400, 900))
        if restore_state:
            self._restore_window_state()
        self.new_document_untitled()

    # ================================================================== plug-in points
    @property
    def document(self):
        """The active `Document` (never None once the window is built)."""
        return self._document

    @property
    def path(self) -> str | None:
        """The .ora the active document was opened from or saved to (None: never saved)."""
        return self._document.file_path if self._document is not None else None

    def add_dock(self, widget: QWidget, title: str, object_name: str,
                 area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea,
                 tabify_with: QDockWidget | None = None) -> QDockWidget:
        """Wrap `widget` in a movable, closable dock listed in View ▸ Panels.

        `object_name` must be unique and stable: the saved window layout refers to it.
        """
        dock = QDockWidget(title, self)
        dock.setObjectName(object_name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        if tabify_with is not None:
            self.tabifyDockWidget(tabify_with, dock)
        else:
            self.addDockWidget(area, dock)
        self._docks.append(dock)
        if hasattr(self, "panels_menu"):
            self._rebuild_panels_menu()
        return dock

    def add_edit_dock(self, widget: QWidget, title: str = "Edit") -> QDockWidget:
        """The AI edit panel: top of the right column with Layers below it (DESIGN.md)."""
        right = Qt.DockWidgetArea.RightDockWidgetArea
        self.removeDockWidget(self.layers_dock)
        edit = self.add_dock(widget, title, "EditDock", right)
        self.addDockWidget(right, self.layers_dock)  # a second dock in an area goes below
        self.layers_dock.show()
        self.resizeDocks([edit, self.layers_dock], [480, 380], Qt.Orientation.Vertical)
        return edit

    def add_bottom_dock(self, widget: QWidget, title: str,
                        object_name: str = "StagingDock") -> QDockWidget:
        """A strip under the canvas (the staging strip of results), low so the canvas stays big."""
        dock = self.add_dock(widget, title, object_name, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.resizeDocks([dock], [170], Qt.Orientation.Vertical)
        return dock

    def docks(self) -> list[QDockWidget]:
        return list(self._docks)

    def menu_named(self, title: str) -> QMenu:
        """The top-level menu called `title` ('&' ignored); created before Help if missing."""
        wanted = title.replace("&", "").lower()
        for action in self.menuBar().actions():
            menu = action.menu()
            if menu is not None and action.text().replace("&", "").lower() == wanted:
                return menu
        menu = QMenu(title, self)
        self.menuBar().insertMenu(self.help_menu.menuAction(), menu)
        return menu

    @property
    def status_area(self) -> QWidget:
        """A container in the status bar for the model status (add widgets to its layout)."""
        return self._status_area

    def set_model_status(self, text: str) -> None:
        self.model_status_label.setText(text)

    # ================================================================== construction
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
        SK = QKeySequence.StandardKey
        a = self._action
        self.act_new = a("&New…", self.new_document, SK.New)
        self.act_open = a("&Open…", self.open_dialog, SK.Open)
        self.act_save = a("&Save", self.save, SK.Save)
        self.act_save_as = a("Save &As…", self.save_as, "Ctrl+Shift+S")
        self.act_import = a("&Import Image as Layer…", self.import_layer_dialog, "Ctrl+Shift+I")
        self.act_export = a("&Export Image…", self.export_dialog, "Ctrl+E")
        self.act_quit = a("&Quit", self.close, SK.Quit)
        self.act_quit.setMenuRole(QAction.MenuRole.QuitRole)

        # Own actions rather than QUndoGroup's: a stroke still being drawn must be finished
        # before the history moves, or undo would swap tiles under the brush.
        self.act_undo = a("&Undo", self.undo, SK.Undo)
        redo_keys = QKeySequence.keyBindings(SK.Redo)
        if QKeySequence("Ctrl+Shift+Z") not in redo_keys:
            redo_keys.append(QKeySequence("Ctrl+Shift+Z"))
        self.act_redo = a("&Redo", self.redo, redo_keys)
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
        self.tools.tool_changed.connect(lambda t: self.tool_actions[t].setChecked(True))
        self.act_bigger = a("Bigger Brush", self.tools.grow, "]")
        self.act_smaller = a("Smaller Brush", self.tools.shrink, "[")
        self.act_swap = a("Swap Colours", self.tools.swap_colours, "X", "swap")
        self.act_default_colours = a("Default Colours", self.tools.default_colours, "D",
                                     "reset-colours")

        self.act_zoom_in = a("Zoom &In", self.canvas.zoom_in, [SK.ZoomIn, "Ctrl+="])
        self.act_zoom_out = a("Zoom &Out", self.canvas.zoom_out, SK.ZoomOut)
        self.act_fit = a("&Fit to Window", self.canvas.fit_to_window, "Ctrl+0")
        self.act_actual = a("&Actual Pixels (100%)", self.canvas.actual_pixels, "Ctrl+1")

        self.act_about = a("&About rfedit", self.show_about)
        self.act_shortcuts = a("&Keyboard Shortcuts", self.show_shortcuts, "F1")
        self.act_preferences = a("&Preferences…", self.edit_preferences, SK.Preferences)
        self.act_preferences.setMenuRole(QAction.MenuRole.PreferencesRole)

    def _build_ai_editing(self):
        """The AI edit dock and staging strip (issue 5). A failure there must not cost the
        artist the paint program: log it, say so in the status bar, and carry on without."""
        try:
            from rfedit_desktop.ui.ai_editing import AiEditing

            return AiEditing(self)
        except Exception:  # noqa: BLE001
            logging.getLogger(__name__).exception("AI editing panel failed to start")
            QTimer.singleShot(0, lambda: self.statusBar().showMessage(
                "AI editing is unavailable (see the log); painting works as usual.", 15000))
            return None

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

    def _build_docks(self) -> None:
        left = Qt.DockWidgetArea.LeftDockWidgetArea
        right = Qt.DockWidgetArea.RightDockWidgetArea
        self.colour_panel = ColourPanel(self.tools)
        self.colour_dock = self.add_dock(self.colour_panel, "Colour", "ColourDock", left)
        self.tool_options_panel = ToolOptionsPanel(self.tools)
        self.tool_options_dock = self.add_dock(self.tool_options_panel, "Tool Options",
                                               "ToolOptionsDock", left)
        self.layers_panel = LayersPanel(self)
        self.layers_dock = self.add_dock(self.layers_panel, "Layers", "LayersDock", right)
        self.history_panel = HistoryPanel(self.undo_group)
        self.history_dock = self.add_dock(self.history_panel, "History", "HistoryDock", left)
        self.resizeDocks([self.colour_dock, self.tool_options_dock, self.history_dock],
                         [200, 230, 300], Qt.Orientation.Vertical)
        self.resizeDocks([self.colour_dock], [260], Qt.Orientation.Horizontal)
        self.resizeDocks([self.layers_dock], [320], Qt.Orientation.Horizontal)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.act_new)
        file_menu.addAction(self.act_open)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._rebuild_recent_menu)
        self._rebuild_recent_menu()
        file_menu.addSeparator()
        file_menu.addAction(self.act_save)
        file_menu.addAction(self.act_save_as)
        file_menu.addSeparator()
        file_menu.addAction(self.act_import)
        file_menu.addAction(self.act_export)
        file_menu.addSeparator()
        file_menu.addAction(self.act_quit)
        self.file_menu = file_menu

        edit_menu = bar.addMenu("&Edit")
        edit_menu.addAction(self.act_undo)
        edit_menu.addAction(self.act_redo)
        edit_menu.addSeparator()
        tools_menu = edit_menu.addMenu("&Tools")
        for act in self.tool_actions.values():
            tools_menu.addAction(act)
        tools_menu.addSeparator()
        for act in (self.act_smaller, self.act_bigger, self.act_swap, self.act_default_colours):
            tools_menu.addAction(act)
        edit_menu.addSeparator()
        edit_menu.addAction(self.act_preferences)
        self.edit_menu = edit_menu

        self.layer_menu = bar.addMenu("&Layer")
        self.layers_panel.fill_menu(self.layer_menu)

        view_menu = bar.addMenu("&View")
        for act in (self.act_zoom_in, self.act_zoom_out, self.act_fit, self.act_actual):
            view_menu.addAction(act)
        view_menu.addSeparator()
        self.panels_menu = view_menu.addMenu("&Panels")
        self._rebuild_panels_menu()
        self.view_menu = view_menu

        self.help_menu = bar.addMenu("&Help")
        self.help_menu.addAction(self.act_shortcuts)
        self.help_menu.addAction(self.act_about)

    def _rebuild_panels_menu(self) -> None:
        self.panels_menu.clear()
        for dock in self._docks:
            self.panels_menu.addAction(dock.toggleViewAction())
        self.panels_menu.addSeparator()
        self.panels_menu.addAction(self.tool_bar.toggleViewAction())

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.zoom_label = QLabel("100%")
        self.size_label = QLabel("")
        self.cursor_label = QLabel("")
        self.cursor_label.setMinimumWidth(90)
        self._status_area = QWidget()
        layout = QHBoxLayout(self._status_area)
        layout.setContentsMargins(0, 0, 0, 0)
        self.model_status_label = QLabel("")
        layout.addWidget(self.model_status_label)
        bar.addPermanentWidget(self._status_area)
        bar.addPermanentWidget(self.cursor_label)
        bar.addPermanentWidget(self.size_label)
        bar.addPermanentWidget(self.zoom_label)

    def _connect_canvas(self) -> None:
        self.canvas.zoom_changed.connect(
            lambda z: self.zoom_label.setText(f"{z * 100:.4g}%"))
        self.canvas.cursor_moved.connect(self._show_cursor_pos)
        self.canvas.stroke_failed.connect(lambda msg: self.statusBar().showMessage(msg, 4000))
        # while a stroke is drawn, undo is always possible: it takes back that stroke
        self.canvas.stroke_active.connect(
            lambda on: self.act_undo.setEnabled(on or self.undo_group.canUndo()))

    def _show_cursor_pos(self, pos: QPoint | None) -> None:
        self.cursor_label.setText("" if pos is None else f"{pos.x()}, {pos.y()}")

    # ================================================================== document life
    def set_document(self, document) -> None:
        """Make `document` the active one (the old one is dropped, not saved)."""
        old = self._document
        if old is not None:
            self.undo_group.removeStack(old.undo_stack)
            for signal in (old.modified_changed, old.file_path_changed):
                try:
                    signal.disconnect(self._update_title)
                except (RuntimeError, TypeError):
                    pass
        self._document = document
        self._autosaved_index = None
        prefs = self.preferences
        document.set_undo_limit(prefs.undo_limit)  # only takes on an empty history
        document.set_memory_budget(prefs.history_memory_mb * 1024 * 1024)
        self.undo_group.addStack(document.undo_stack)
        self.undo_group.setActiveStack(document.undo_stack)
        document.modified_changed.connect(self._update_title)
        document.file_path_changed.connect(self._update_title)
        self.canvas.set_document(document)
        self.layers_panel.set_document(document)
        self.size_label.setText(f"{document.width} × {document.height} px")
        self._update_title()
        self.document_changed.emit(document)
        if old is not None:
            self.autosaver.discard()
            old.deleteLater()

    def undo(self) -> None:
        self.canvas.finish_stroke()
        if self._document is not None:
            self._document.undo_stack.undo()

    def redo(self) -> None:
        self.canvas.finish_stroke()
        if self._document is not None:
            self._document.undo_stack.redo()

    def is_modified(self) -> bool:
        return self._document is not None and self._document.modified

    def display_name(self) -> str:
        return self._document.display_name if self._document is not None else "Untitled"

    def _update_title(self, *_args) -> None:
        star = "*" if self.is_modified() else ""
        self.setWindowTitle(f"{star}{self.display_name()} — {APP_TITLE}")

    def new_document_untitled(self, width: int = 1024, height: int = 768) -> None:
        self.set_document(document_io.new_document(width, height))

    def new_document(self) -> None:
        if not self.maybe_save():
            return
        dialog = NewDocumentDialog(self)
        if dialog.exec():
            width, height, fill = dialog.values()
            self.set_document(document_io.new_document(width, height, fill))

    def open_dialog(self) -> None:
        if not self.maybe_save():
            return
        start = os.path.dirname(self.path) if self.path else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open", start, OPEN_FILTER)
        if path:
            self.open_path(path, ask=False)

    def open_path(self, path: str, ask: bool = True) -> bool:
        """Open an .ora project or an image; on failure show why and keep the current one."""
        if ask and not self.maybe_save():
            return False
        try:
            document = document_io.open_file(path)
        except Exception as exc:  # noqa: BLE001 (any failure: message, never a crash)
            self.show_error("Could not open file", exc, path)
            return False
        self.set_document(document)
        self._remember(path)
        warnings = getattr(document, "load_warnings", None)
        if warnings:
            self.statusBar().showMessage("Opened with fallbacks: " + "; ".join(warnings), 10000)
        return True

    def save(self) -> bool:
        if self.path is None:
            return self.save_as()
        return self.save_to(self.path)

    def save_as(self) -> bool:
        stem = os.path.splitext(self.display_name())[0] or "untitled"
        start = self.path or os.path.join(self._last_folder(), stem + ".ora")
        path, _ = QFileDialog.getSaveFileName(self, "Save As", start, SAVE_FILTER)
        if not path:
            return False
        if not path.lower().endswith(".ora"):
            path += ".ora"
        return self.save_to(path)

    def save_to(self, path: str) -> bool:
        try:
            document_io.save_ora(self._document, path)
        except Exception as exc:  # noqa: BLE001
            self.show_error("Could not save", exc, path)
            return False
        self.autosaver.discard()
        self._remember(path)
        self._update_title()
        self.statusBar().showMessage(f"Saved {path}", 4000)
        return True

    def export_dialog(self) -> None:
        stem = os.path.splitext(self.display_name())[0] or "untitled"
        base = os.path.join(os.path.dirname(self.path) if self.path else self._last_folder(),
                            stem)
        path, _ = QFileDialog.getSaveFileName(self, "Export Image", base + ".png", EXPORT_FILTER)
        if path:
            self.export_to(path)

    def export_to(self, path: str) -> bool:
        try:
            document_io.export_image(self._document, path)
        except Exception as exc:  # noqa: BLE001
            self.show_error("Could not export", exc, path)
            return False
        self.statusBar().showMessage(f"Exported {path}", 4000)
        return True

    def import_layer_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import Image as Layer", "", IMPORT_FILTER)
        if path:
            self.import_layer(path)

    def import_layer(self, path: str) -> bool:
        try:
            document_io.import_layer(self._document, path)
        except Exception as exc:  # noqa: BLE001
            self.show_error("Could not import", exc, path)
            return False
        return True

    def maybe_save(self) -> bool:
        """Before losing the document: True to go on (saved or discarded), False to stay."""
        if self._skip_save_prompt or not self.is_modified():
            return True
        name = self.display_name()
        answer = QMessageBox.question(
            self, "Unsaved changes", f"Save the changes to “{name}” first?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save)
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def show_error(self, title: str, exc: BaseException, path: str | None = None) -> None:
        message = str(exc) or exc.__class__.__name__
        if path and path not in message:
            message = f"{message}\n\nFile: {path}"
        QMessageBox.critical(self, title, message)

    def _last_folder(self) -> str:
        files = recent_files(self.settings)
        return os.path.dirname(files[0]) if files else os.path.expanduser("~")

    def _remember(self, path: str) -> None:
        add_recent_file(self.settings, path)

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        files = recent_files(self.settings)
        for path in files:
            act = self.recent_menu.addAction(os.path.basename(path))
            act.setToolTip(path)
            act.setStatusTip(path)
            act.triggered.connect(lambda _=False, p=path: self._open_recent(p))
        if not files:
            empty = self.recent_menu.addAction("(none)")
            empty.setEnabled(False)

    def _open_recent(self, path: str) -> None:
        if not os.path.exists(path):
            remove_recent_file(self.settings, path)
            QMessageBox.warning(self, "File not found", f"{path}\nno longer exists.")
            return
        self.open_path(path)

    # ================================================================== autosave / recovery
    def autosave_now(self) -> str | None:
        """Write a recovery copy when there are changes since the last one; returns its path."""
        if not self.is_modified():
            return None
        index = self._document.undo_stack.index()
        if index == self._autosaved_index:
            return None
        try:
            path = self.autosaver.write(self._document)
        except Exception as exc:  # noqa: BLE001 (autosave must never interrupt painting)
            self.statusBar().showMessage(f"Autosave failed: {exc}", 6000)
            return None
        self._autosaved_index = index
        return path

    def offer_recovery(self) -> bool:
        """Called once after start: offer to open the autosave a crashed session left."""
        found = document_io.recoverable_autosaves()
        if not found:
            return False
        newest = found[0]
        more = f" (and {len(found) - 1} older)" if len(found) > 1 else ""
        answer = QMessageBox.question(
            self, "Recover unsaved work",
            f"rfedit closed without saving “{newest.document_name}” "
            f"(autosaved {newest.saved_at}){more}.\n\nOpen the recovered copy?",
            QMessageBox.StandardButton.Open | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Ignore,
            QMessageBox.StandardButton.Open)
        if answer == QMessageBox.StandardButton.Open:
            try:
                document = newest.load()
            except Exception as exc:  # noqa: BLE001
                self.show_error("Could not recover", exc, str(newest.ora_path))
                return False
            self.set_document(document)
            for entry in found:
                entry.discard()
            # the recovered work now lives in this session: protect it at once
            self.autosave_now()
            return True
        if answer == QMessageBox.StandardButton.Discard:
            for entry in found:
                entry.discard()
        return False

    # ================================================================== preferences
    def apply_preferences(self, prefs: Preferences) -> None:
        self.preferences = prefs
        if prefs.autosave_minutes > 0:
            self.autosave_timer.start(prefs.autosave_minutes * 60_000)
        else:
            self.autosave_timer.stop()
        if self._document is not None:
            self._document.set_memory_budget(prefs.history_memory_mb * 1024 * 1024)

    def edit_preferences(self) -> None:
        dialog = PreferencesDialog(self.preferences, self)
        if dialog.exec():
            prefs = dialog.preferences()
            prefs.save(self.settings)
            self.apply_preferences(prefs)

    # ================================================================== window state
    def _restore_window_state(self) -> None:
        geometry = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        if isinstance(state, QByteArray):
            self.restoreState(state, STATE_VERSION)

    def save_window_state(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState(STATE_VERSION))
        self.tools.save(self.settings)
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if not self.maybe_save():
            event.ignore()
            return
        self.save_window_state()
        self.autosave_timer.stop()
        self.autosaver.discard()
        if self.ai_editing is not None:
            self.ai_editing.shutdown()  # cancel edits, stop the engine thread (issue 5)
        event.accept()

    def discard_changes_and_close(self) -> None:
        """Close without asking (benchmarks, tests); unsaved changes are dropped."""
        self._skip_save_prompt = True
        self.close()

    def all_actions(self) -> list[QAction]:
        """Every action of the window and its panels, menus included (for the shortcut list)."""
        found: list[QAction] = []

        def walk(actions) -> None:
            for action in actions:
                if action.menu() is not None:
                    walk(action.menu().actions())
                elif action not in found:
                    found.append(action)

        walk(self.menuBar().actions())
        walk(self.actions())
        return found

    def show_shortcuts(self) -> None:
        from rfedit_desktop.ui.shortcuts_dialog import ShortcutsDialog

        ShortcutsDialog(self.all_actions(), self).exec()

    # ================================================================== file drops
    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        """A dropped .ora opens; dropped images become layers (nothing is replaced)."""
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        event.acceptProposedAction()
        projects = [p for p in paths if p.lower().endswith(".ora")]
        if projects:
            self.open_path(projects[0])
            return
        for path in paths:
            self.import_layer(path)

    def show_about(self) -> None:
        QMessageBox.about(
            self, "About rfedit",
            f"<b>rfedit {__version__}</b><br>A layer canvas with RF-Inversion edits on "
            "FLUX.1.<br>Offline: models are read from local folders only.")
