"""The Model menu and the model's life as the artist sees it: choose, load, status text.

A mixin of `AiEditing` (ui/ai_editing.py), apart so that the controller's file holds the edit
flow only; it uses the controller's window, panel, service and `model_label`.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence

from rfedit_desktop.jobs import ModelChoice
from rfedit_desktop.ui.model_dialog import ModelDialog, save_choice
from rfedit_desktop.ui.project_inversions import SAVE_INVERSIONS_KEY, drop_inversions
from rfedit_desktop.ui.settings import read_bool


class ModelMenu:
    """Run/Cancel and model actions in the Model menu, and the model status everywhere."""

    def _build_model_menu(self) -> None:
        w = self.window
        self.run_action = QAction("Run Edit", w)
        self.run_action.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])
        self.run_action.triggered.connect(self.panel.request_run)
        self.cancel_action = QAction("Cancel Edit", w)
        self.cancel_action.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        self.cancel_action.setEnabled(False)  # a disabled action leaves Esc to other widgets
        self.cancel_action.triggered.connect(self.cancel)
        self.cancel_all_action = QAction("Cancel All Edits", w)
        self.cancel_all_action.triggered.connect(self.cancel_all)
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
            self._choice = choice
        return self.service.load_model(self._choice)

    def choose_model(self) -> None:
        info = self.service.model_info or {}
        dialog = ModelDialog(self._choice, self.window, plan=info.get("memory_plan_table", ""))
        if not dialog.exec():
            return
        choice = dialog.choice()
        settings = getattr(self.window, "settings", None)
        if settings is not None:
            save_choice(settings, choice)
        self.load_model(choice)

    def _on_model_loading(self, fraction: float, message: str) -> None:
        pct = f" {fraction * 100:.0f}%" if fraction > 0 else ""
        self._show_model_state(f"{self._choice.label()} · loading{pct}", "loading")
        if message:
            self.panel.progress_bar.setFormat(message[:60])

    def _on_model_ready(self, info: dict) -> None:
        name = info.get("name") or info.get("model") or self._choice.model
        device = info.get("device", self._choice.device)
        self._show_model_state(f"{name} · {device} · ready", "ready")
        self.panel.set_prompt_grammar(info.get("prompt_grammar"))
        self._known_cached.clear()  # another model: another cache key
        if not self._contexts:
            self.panel.set_busy(False)  # clears the loading message from the progress bar
        self._schedule_cache_query()

    def _on_model_failed(self, message: str) -> None:
        self._show_model_state(f"{self._choice.label()} · not loaded", "error")
        if not self._contexts:
            self.panel.set_busy(False)  # clears the "Loading …" line from the progress bar
        self.panel.show_status(message, error=True)

    def _show_model_state(self, text: str, state: str) -> None:
        self._model_state = state
        self.panel.set_model_status(text, state)
        self.model_label.setText(f"model: {text}")

    def _model_text(self) -> str:
        """"demo · cpu": the loaded model and its real device, else the choice."""
        info = self.service.model_info
        if not info:
            return self._choice.label()
        return f"{info.get('name') or info.get('model') or self._choice.model} · " \
               f"{info.get('device', self._choice.device)}"
