"""The Model menu and the model's life as the artist sees it: choose, load, where, status text.

A collaborator of `AiEditing` (ui/ai_editing.py): it owns the Run/Cancel/model actions and the
status bar's model and engine labels, follows the service's model signals, and tells the
controller what the artist asked for through its own signals.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel

from rfedit_desktop.errors import EditError, FileError
from rfedit_desktop.jobs import EditService, ModelChoice
from rfedit_desktop.jobs.engine_link import RemoteEngine, parse_remote, shared_local_engine
from rfedit_desktop.ui.engine_settings import load_remote, save_remote
from rfedit_desktop.ui.model_dialog import ModelDialog, save_choice
from rfedit_desktop.ui.project_inversions import SAVE_INVERSIONS_KEY, drop_inversions
from rfedit_desktop.ui.settings import read_bool


class ModelMenu(QObject):
    """Run/Cancel and model actions in the Model menu, and the model status everywhere."""

    cancel_requested = Signal()
    cancel_all_requested = Signal()

    def __init__(self, window: Any, panel: Any, service: EditService, choice: ModelChoice,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.window, self.panel, self.service = window, panel, service
        self.choice = choice
        self.model_label = QLabel("")
        self.engine_label = QLabel(f"engine: {service.where()}")
        w = window
        self.run_action = QAction("Run Edit", w)
        self.run_action.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])
        self.run_action.triggered.connect(panel.request_run)
        self.cancel_action = QAction("Cancel Edit", w)
        self.cancel_action.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        self.cancel_action.setEnabled(False)  # a disabled action leaves Esc to other widgets
        self.cancel_action.triggered.connect(self.cancel_requested)
        self.cancel_all_action = QAction("Cancel All Edits", w)
        self.cancel_all_action.triggered.connect(self.cancel_all_requested)
        self.choose_model_action = QAction("Choose Model…", w)
        self.choose_model_action.triggered.connect(self.choose_model)
        self.reload_action = QAction("Load Model Now", w)
        self.reload_action.triggered.connect(lambda: self.load_model())
        self.save_inversions_action = QAction("Keep Inversions in Project Files", w)
        self.save_inversions_action.setCheckable(True)
        self.save_inversions_action.setToolTip(
            "Store the cached inversion of recent edit sources in the .ora, so that a reopened "
            "project re-edits at once (larger files)")
        settings = getattr(w, "settings", None)
        if settings is not None:
            self.save_inversions_action.setChecked(read_bool(settings, SAVE_INVERSIONS_KEY, False))
        self.save_inversions_action.toggled.connect(self.set_save_inversions)
        for action in (self.run_action, self.cancel_action):
            w.addAction(action)
        menu = w.menu_named("&Model") if hasattr(w, "menu_named") else None
        if menu is not None:
            for action in (self.run_action, self.cancel_action, self.cancel_all_action):
                menu.addAction(action)
            menu.addSeparator()
            menu.addAction(self.choose_model_action)
            menu.addAction(self.reload_action)
            menu.addSeparator()
            menu.addAction(self.save_inversions_action)
        service.model_loading.connect(self._on_model_loading)
        service.model_ready.connect(self._on_model_ready)
        service.model_failed.connect(self._on_model_failed)
        service.engine_changed.connect(lambda where: self.engine_label.setText(f"engine: {where}"))
        self.show_state(f"{choice.label()} · not loaded", "idle")

    # inversions in project files ----------------------------------------------------------
    def saves_inversions(self) -> bool:
        return self.save_inversions_action.isChecked()

    def set_save_inversions(self, on: bool) -> None:
        """The user setting; turning it off drops the stored inversions from the document."""
        if self.save_inversions_action.isChecked() != on:
            self.save_inversions_action.setChecked(on)  # re-enters through toggled
            return
        settings = getattr(self.window, "settings", None)
        if settings is not None:
            settings.setValue(SAVE_INVERSIONS_KEY, bool(on))
        document = self.window.document
        if not on and document is not None:
            drop_inversions(document.extra_files)

    # model ------------------------------------------------------------------------------
    def load_model(self, choice: ModelChoice | None = None) -> int:
        """Load in the background (the app calls this right after the window shows)."""
        if choice is not None:
            self.choice = choice
        job = self.service.load_model(self.choice)
        # until the engine reports (a local engine first starts its process: seconds)
        self._on_model_loading(0.0, "waiting for the engine …")
        return job

    def choose_model(self) -> None:
        info = self.service.model_info or {}
        dialog = ModelDialog(self.choice, self.window, plan=info.get("memory_plan_table", ""),
                             remote=self._remote_settings())
        if not dialog.exec():
            return
        settings = getattr(self.window, "settings", None)
        remote = dialog.remote()
        if remote is not None:
            try:
                engine = parse_remote(*remote)
            except EditError as exc:
                self.panel.show_status(str(exc), error=True)
                return
            self._remember_remote(settings, remote)
            self.service.set_engine(engine)
            self.load_model()
            return
        choice = dialog.choice()
        if settings is not None:
            save_choice(settings, choice)
            self._remember_remote(settings, None)
        if isinstance(self.service.engine, RemoteEngine):  # back from the remote engine
            self.service.set_engine(shared_local_engine(choice))
        self.load_model(choice)

    def _remember_remote(self, settings: Any, remote: tuple[str, str, str] | None) -> None:
        if settings is None:
            return
        try:
            save_remote(settings, *(remote or (None, None)))
        except FileError as exc:  # the engine is used all the same, only not remembered
            self.panel.show_status(f"The engine choice is not remembered: {exc}", error=True)

    def _remote_settings(self) -> tuple[str, str, str] | None:
        settings = getattr(self.window, "settings", None)
        if settings is None:
            return None
        return load_remote(settings)

    def _on_model_loading(self, fraction: float, message: str) -> None:
        pct = f" {fraction * 100:.0f}%" if fraction > 0 else ""
        self.show_state(f"{self.choice.label()} · loading{pct}", "loading")
        if message:
            self.panel.progress_bar.setFormat(message[:60])

    def _on_model_ready(self, info: dict) -> None:
        name = info.get("name") or info.get("model") or self.choice.model
        device = info.get("device", self.choice.device)
        self.show_state(f"{name} · {device} · ready", "ready")
        self.panel.set_prompt_grammar(info.get("prompt_grammar"))

    def _on_model_failed(self, message: str) -> None:
        self.show_state(f"{self.choice.label()} · not loaded", "error")
        self.panel.show_status(message, error=True)

    def show_state(self, text: str, state: str) -> None:
        self.panel.set_model_status(text, state)
        self.model_label.setText(f"model: {text}")

    def model_text(self) -> str:
        """"demo · cpu": the loaded model and its real device, else the choice."""
        info = self.service.model_info
        if not info:
            return self.choice.label()
        return f"{info.get('name') or info.get('model') or self.choice.model} · " \
               f"{info.get('device', self.choice.device)}"
