"""The main window: canvas in the middle, docks around it, menus, status bar, file handling.

Other parts of the app plug in through a few methods rather than by reaching into widgets:
`add_dock`, `add_edit_dock`, `add_bottom_dock`, `menu_named`, `status_area`, and the
`document` property with its `document_changed` signal. Its file handling (`files`) and
autosave (`recovery`) are collaborators; its actions and menus are built by window_actions and
window_menus.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QByteArray, QPoint, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QUndoGroup
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QWidget,
)

from rfedit_desktop import __version__
from rfedit_desktop.ui import document_io
from rfedit_desktop.ui.autosave_recovery import AutosaveRecovery
from rfedit_desktop.ui.canvas_view import CanvasView
from rfedit_desktop.ui.colour_dock import ColourPanel
from rfedit_desktop.ui.editor_actions import EditorActions
from rfedit_desktop.ui.file_actions import FileActions
from rfedit_desktop.ui.history_dock import HistoryPanel
from rfedit_desktop.ui.icons import icon
from rfedit_desktop.ui.layers_dock import LayersPanel
from rfedit_desktop.ui.preferences_dialog import Preferences, PreferencesDialog
from rfedit_desktop.ui.settings import app_settings
from rfedit_desktop.ui.tool_options_dock import ToolOptionsPanel
from rfedit_desktop.ui.tool_state import ToolState
from rfedit_desktop.ui.window_actions import build_actions, build_tool_bar
from rfedit_desktop.ui.window_menus import build_menus, rebuild_panels_menu

APP_TITLE = "rfedit"
STATE_VERSION = 1


class MainWindow(QMainWindow):
    """One window editing one document at a time."""

    document_changed = Signal(object)  # the new active Document

    def __init__(self, parent: QWidget | None = None, *, restore_state: bool = True,
                 ai: bool = True) -> None:
        """`ai=False` leaves out the AI edit panel (a plain paint program, or one that gets it
        from `attach_ai_editing` once it is on screen)."""
        super().__init__(parent)
        self.setObjectName("MainWindow")
        self.setWindowIcon(icon("app"))
        self.settings = app_settings()
        self.tools = ToolState(self)
        self.tools.load(self.settings)
        self.undo_group = QUndoGroup(self)
        self._document = None
        self._docks: list[QDockWidget] = []
        self.files = FileActions(self)
        self.recovery = AutosaveRecovery(self, self.files)
        self.files.saved.connect(self._update_title)

        self.canvas = CanvasView(self.tools, self)
        self.setCentralWidget(self.canvas)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks
                            | QMainWindow.DockOption.AllowTabbedDocks
                            | QMainWindow.DockOption.AllowNestedDocks)
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)

        build_actions(self)
        build_tool_bar(self)
        self._build_docks()
        build_menus(self)
        self._build_status_bar()
        self._connect_canvas()
        self.editor = EditorActions(self)
        self.ai_editing = self._build_ai_editing() if ai else None
        self._restore_state = restore_state

        self.autosave_timer = QTimer(self)
        self.autosave_timer.timeout.connect(self.recovery.autosave_now)
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
            rebuild_panels_menu(self)
        return dock

    def add_edit_dock(self, widget: QWidget, title: str = "Edit") -> QDockWidget:
        """The AI edit panel: top of the right column with Layers below it (DESIGN.md)."""
        right = Qt.DockWidgetArea.RightDockWidgetArea
        self.removeDockWidget(self.layers_dock)
        edit = self.add_dock(widget, title, "EditDock", right)
        self.addDockWidget(right, self.layers_dock)  # a second dock in an area goes below
        self.layers_dock.show()
        self._edit_dock = edit
        self.fit_edit_dock()
        return edit

    def fit_edit_dock(self) -> None:
        """The whole Edit panel (Run included) tall enough to see, Layers under it."""
        edit = getattr(self, "_edit_dock", None)
        if edit is None or edit.isHidden() or edit.isFloating():
            return
        wanted = edit.widget().sizeHint().height()
        column = edit.height() + self.layers_dock.height() if self.isVisible() else 0
        rest = column - wanted if column - wanted >= 200 else 380
        self.resizeDocks([edit, self.layers_dock], [wanted, rest], Qt.Orientation.Vertical)

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

    def attach_ai_editing(self):
        """Build the AI edit dock and staging strip now (the app does it right after the first
        frame, so the canvas is on screen before the edit machinery is imported and built), and
        put them where the artist left them. Returns the AiEditing, or None if it failed."""
        if self.ai_editing is None:
            self.ai_editing = self._build_ai_editing()
            if self.ai_editing is not None:
                QTimer.singleShot(0, self._settle_ai_docks)  # once Qt has laid the docks out
        return self.ai_editing

    def _settle_ai_docks(self) -> None:
        self.fit_edit_dock()
        if self._restore_state:
            self._restore_window_state(geometry=False)
        self.canvas.fit_to_window()  # the canvas lost the room the new docks took

    # ================================================================== construction
    def _build_ai_editing(self):
        """The AI edit dock and staging strip. A failure there must not cost the
        artist the paint program: log it, say so in the status bar, and carry on without."""
        try:
            from rfedit_desktop.ui.ai_editing import AiEditing

            return AiEditing(self)
        except Exception:  # noqa: BLE001
            logging.getLogger(__name__).exception("AI editing panel failed to start")
            QTimer.singleShot(0, lambda: self.statusBar().showMessage(
                "AI editing is unavailable (see the log); painting works as usual.", 15000))
            return None

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
    def _restore_window_state(self, geometry: bool = True) -> None:
        saved_geometry = self.settings.value("window/geometry") if geometry else None
        state = self.settings.value("window/state")
        if isinstance(saved_geometry, QByteArray):
            self.restoreGeometry(saved_geometry)
        if isinstance(state, QByteArray):
            self.restoreState(state, STATE_VERSION)

    def save_window_state(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState(STATE_VERSION))
        self.tools.save(self.settings)
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if not self.files.maybe_save():
            event.ignore()
            return
        self.save_window_state()
        self.autosave_timer.stop()
        self.recovery.discard()
        if self.ai_editing is not None:
            self.ai_editing.shutdown()  # cancel edits, stop the engine thread
        event.accept()

    def discard_changes_and_close(self) -> None:
        """Close without asking (benchmarks, tests); unsaved changes are dropped."""
        self.files.skip_save_prompt = True
        self.close()

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
            self.files.open_path(projects[0])
            return
        for path in paths:
            self.files.import_layer(path)

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

    def show_about(self) -> None:
        QMessageBox.about(
            self, "About rfedit",
            f"<b>rfedit {__version__}</b><br>A layer canvas with RF-Inversion edits on "
            "FLUX.1.<br>Offline: models are read from local folders only.")
