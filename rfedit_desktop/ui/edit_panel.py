"""The Edit dock: what to change, how, and the state of the job and the model.

A plain widget that knows nothing of the document or the worker: it collects parameters whose
ranges the widgets themselves enforce (so a bad value cannot be typed; the engine checks again)
and shows what the controller tells it. `ui/ai_editing.py` wires it to the rest.
"""

from __future__ import annotations

import random
from typing import Any

from PySide6.QtCore import QPointF, QSize, QStringListModel, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QIcon, QPainter, QPixmap, QPolygonF
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QCompleter,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from rfedit_desktop.engine.presets import FLOWEDIT_N_MAX_FRACTION, METHOD_DEFAULTS, PRESETS
from rfedit_desktop.engine.region import MAX_CONTEXT
from rfedit_desktop.engine.request import METHOD_OPTIONS
from rfedit_desktop.ui.collapsible import Collapsible
from rfedit_desktop.ui.lora_list import LoraList
from rfedit_desktop.ui.range_slider import RangeSlider

METHOD_LABELS: dict[str, str] = {
    "rf-inversion": "RF-Inversion",
    "sdedit": "SDEdit",
    "ode": "Plain ODE inversion",
    "stochastic": "Stochastic sampler",
    "rf-solver": "RF-Solver",
    "fireflow": "FireFlow",
    "flowedit": "FlowEdit",
}
COMPARED_BY_DEFAULT = ("rf-inversion", "rf-solver", "fireflow", "flowedit")
RF_INVERSION_FIELDS = ("gamma", "eta", "start", "stop", "decay_power", "strength")
SOURCE_LABELS = {"visible": "Visible image", "active": "Active layer"}
TARGET_LABELS = {"new-layer": "New layer above", "replace": "Replace active layer"}
CUSTOM_PRESET = "custom"
NEUTRAL_PROMPT_HINT = "Describe the picture you want to see"
MAX_SEED = 2**31 - 1
# The presets shown first are the paper's tasks; "default" (the diffusers example) comes last.
PRESET_ORDER = ("stroke-to-image", "object-insert", "gender", "age", "glasses", "stylize",
                "default")

# Fields whose change invalidates the cached inversion of the source (see engine cache key).
INVERSION_FIELDS = ("steps", "gamma", "strength", "seed", "source_prompt", "method",
                    "source_guidance", "n_max", "n_min", "n_avg", "context",
                    "loras")
"""A method's params lack the fields it does not read; read them with `params.get`."""
AUTO_CONTEXT = -1  # the context spin box's "Auto" value (EditRequest.context = None)


class PromptEdit(QPlainTextEdit):
    """A multi-line prompt box where Ctrl+Enter runs instead of inserting a line break, and
    the words of the model's prompt grammar (if it has one) complete as they are typed."""

    submitted = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.completer = QCompleter(QStringListModel([], self), self)
        self.completer.setWidget(self)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.completer.activated.connect(self._complete)

    def set_words(self, words: list[str]) -> None:
        """The words to complete (none: no completion)."""
        self.completer.model().setStringList(sorted(set(words), key=str.lower))
        self.completer.popup().hide()

    def _word_before_cursor(self) -> str:
        text = self.toPlainText()[: self.textCursor().position()]
        return text.split()[-1] if text and not text[-1].isspace() else ""

    def _complete(self, word: str) -> None:
        cursor = self.textCursor()
        cursor.movePosition(cursor.MoveOperation.Left, cursor.MoveMode.KeepAnchor,
                            len(self._word_before_cursor()))
        cursor.insertText(word + " ")
        self.setTextCursor(cursor)

    def keyPressEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        popup = self.completer.popup()
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and (
            event.modifiers() & Qt.KeyboardModifier.ControlModifier
        ):
            popup.hide()
            self.submitted.emit()
            return
        if popup.isVisible() and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter,
                                                 Qt.Key.Key_Tab, Qt.Key.Key_Escape):
            event.ignore()  # the completer takes these: choose a word, or close the list
            return
        super().keyPressEvent(event)
        self._offer_completions(bool(event.text()))

    def _offer_completions(self, typed: bool) -> None:
        prefix = self._word_before_cursor()
        completer = self.completer
        if not typed or not prefix or completer.model().rowCount() == 0:
            completer.popup().hide()
            return
        completer.setCompletionPrefix(prefix)
        if completer.completionCount() == 0 or (completer.completionCount() == 1
                                                and completer.currentCompletion() == prefix):
            completer.popup().hide()
            return
        completer.popup().setCurrentIndex(completer.completionModel().index(0, 0))
        rect = self.cursorRect()
        rect.setWidth(completer.popup().sizeHintForColumn(0)
                      + completer.popup().verticalScrollBar().sizeHint().width() + 8)
        completer.complete(rect)


class EditPanel(QWidget):
    """Parameters in, requests out through signals; state shown on demand."""

    run_requested = Signal()
    cancel_requested = Signal()
    model_change_requested = Signal()
    inversion_params_changed = Signal()  # the cached inversion may no longer apply
    params_changed = Signal()
    compare_requested = Signal()  # run the current edit once with each chosen method
    area_params_changed = Signal()  # context margin: the edit area may move
    area_reset_requested = Signal()  # back to the automatic edit area

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("EditPanel")
        self._build()
        self.apply_preset("stroke-to-image")
        self._update_run_enabled()

    # construction -------------------------------------------------------------------------
    def _build(self) -> None:
        """Parameters in a scroll area; Run, Cancel, progress and status in a footer below it,
        so that they stay in view however tall the parameters (Advanced open) get."""
        root = QVBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)
        params = QWidget()
        params.setObjectName("EditParameters")
        outer = QVBoxLayout(params)
        outer.setContentsMargins(6, 6, 6, 6)
        outer.setSpacing(6)

        model_row = QHBoxLayout()
        self.model_label = QLabel("Model: not loaded")
        self.model_label.setObjectName("modelStatus")
        self.model_label.setWordWrap(True)
        self.model_button = QToolButton()
        self.model_button.setText("Change…")
        self.model_button.setToolTip("Choose the model, device and memory mode")
        self.model_button.clicked.connect(self.model_change_requested)
        model_row.addWidget(self.model_label, 1)
        model_row.addWidget(self.model_button)
        outer.addLayout(model_row)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.source_combo = _combo(SOURCE_LABELS)
        self.source_combo.setToolTip("Which pixels the edit starts from")
        self.target_combo = _combo(TARGET_LABELS)
        self.target_combo.setToolTip("Where an applied result goes")
        form.addRow("Source", self.source_combo)
        form.addRow("Result to", self.target_combo)

        self.prompt_edit = PromptEdit()
        self.set_prompt_grammar(None)
        self.prompt_edit.setTabChangesFocus(True)
        self.prompt_edit.setFixedHeight(64)
        self.prompt_edit.submitted.connect(self._request_run)
        self.prompt_edit.textChanged.connect(self._update_run_enabled)
        self.prompt_edit.textChanged.connect(self.params_changed)
        form.addRow("Prompt", self.prompt_edit)

        self.source_prompt_edit = QLineEdit()
        self.source_prompt_edit.setPlaceholderText("optional: what the image shows now")
        self.source_prompt_edit.setClearButtonEnabled(True)
        self.source_prompt_edit.editingFinished.connect(self.inversion_params_changed)
        form.addRow("Source prompt", self.source_prompt_edit)

        self.preset_combo = QComboBox()
        for name in PRESET_ORDER:
            if name in PRESETS:
                self.preset_combo.addItem(PRESETS[name].label, name)
        self.preset_combo.addItem("Custom", CUSTOM_PRESET)
        self.preset_combo.setToolTip("Parameters from the RF-Inversion paper for common tasks")
        self.preset_combo.activated.connect(self._preset_chosen)
        form.addRow("Preset", self.preset_combo)

        self.method_combo = _combo(METHOD_LABELS)
        self.method_combo.currentIndexChanged.connect(self._method_changed)
        self.method_combo.activated.connect(self._method_chosen)
        form.addRow("Method", self.method_combo)

        self.context_spin = _spin(AUTO_CONTEXT, MAX_CONTEXT, AUTO_CONTEXT,
                                  "Margin of surroundings the model sees around the mask's box, "
                                  "in image pixels (Auto: an eighth of the box, at least 32)")
        self.context_spin.setSpecialValueText("Auto")
        self.context_spin.setSuffix(" px")
        self.context_spin.valueChanged.connect(self.area_params_changed)
        self.context_spin.valueChanged.connect(self.inversion_params_changed)
        self.keep_detail_check = QCheckBox("Keep photo detail")
        self.keep_detail_check.setChecked(True)
        self.keep_detail_check.setToolTip("Put the photo's own fine detail back wherever the "
                                          "edit did not change the picture")
        context_row = QHBoxLayout()
        context_row.addWidget(self.context_spin, 1)
        context_row.addWidget(self.keep_detail_check)
        form.addRow("Context", _wrap(context_row))
        self.area_label = QLabel("edit area: whole image")
        self.area_label.setObjectName("workingResolution")
        self.area_label.setWordWrap(True)
        self.area_reset_button = QToolButton()
        self.area_reset_button.setText("Auto")
        self.area_reset_button.setToolTip("Edit area back to the mask's box (or the whole "
                                          "image); drag the frame's handles to choose one")
        self.area_reset_button.setEnabled(False)
        self.area_reset_button.clicked.connect(self.area_reset_requested)
        area_row = QHBoxLayout()
        area_row.addWidget(self.area_label, 1)
        area_row.addWidget(self.area_reset_button)
        form.addRow("Working size", _wrap(area_row))
        self.lora_list = LoraList()
        self.lora_list.changed.connect(self.params_changed)
        self.lora_list.changed.connect(self.inversion_params_changed)
        form.addRow("LoRAs", self.lora_list)
        outer.addLayout(form)

        self.advanced = Collapsible("Advanced", _triangle_icon("down"), _triangle_icon("right"))
        self.advanced.setObjectName("advancedSection")
        adv = QWidget()
        adv_form = QFormLayout(adv)
        adv_form.setContentsMargins(0, 0, 0, 0)
        self.steps_spin = _spin(1, 200, 28, "Number of ODE steps for inversion and editing")
        self.gamma_spin = _dspin(0.0, 1.0, 0.5, 0.05, "γ: how strongly the inversion is pulled "
                                 "toward the noise (0 = plain ODE inversion)")
        self.eta_spin = _dspin(0.0, 1.0, 0.9, 0.05, "η: how strongly editing is pulled back "
                               "toward the original image inside the window")
        self.window_slider = RangeSlider(0.0, 1.0, decimals=2, step=0.01)
        self.window_slider.setValue((0.0, 0.25))
        self.window_slider.setToolTip("The part of the editing steps where η applies "
                                      "(fractions of the steps)")
        self.decay_check = QCheckBox("Decay η")
        self.decay_spin = _dspin(0.0, 10.0, 1.0, 0.25, "η decays as (1 − t)^power in the window")
        self.decay_spin.setEnabled(False)
        self.decay_check.toggled.connect(self.decay_spin.setEnabled)
        decay_row = QHBoxLayout()
        decay_row.addWidget(self.decay_check)
        decay_row.addWidget(self.decay_spin, 1)
        self.strength_spin = _dspin(0.05, 1.0, 1.0, 0.05, "How far to invert (1 = all the way "
                                    "to noise; lower keeps more of the original)")
        self.guidance_spin = _dspin(0.0, 20.0, 3.5, 0.5, "Guidance of the target prompt")
        self.seed_spin = _spin(0, MAX_SEED, 0, "Seed of the noise; same seed, same result")
        self.dice_button = QToolButton()
        self.dice_button.setText("⚄")
        self.dice_button.setToolTip("A random seed")
        self.dice_button.clicked.connect(self.roll_seed)
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed_spin, 1)
        seed_row.addWidget(self.dice_button)
        self.variants_spin = _spin(1, 8, 1, "How many results to make, with seeds seed, seed+1, …")
        self.source_guidance_spin = _dspin(0.0, 20.0, 0.0, 0.5, "Guidance of the source prompt "
                                           "(RF-Solver and FireFlow: 1, FlowEdit: 1.5)")
        self.n_max_spin = _spin(0, 200, 24, "FlowEdit: how many of the last steps it edits "
                                "(more changes more; 24 of 28 in its paper)")
        self.n_min_spin = _spin(0, 200, 0, "FlowEdit: final steps sampled plainly under the "
                                "prompt")
        self.n_avg_spin = _spin(1, 16, 1, "FlowEdit: noise draws averaged per step (each "
                                "costs two model evaluations)")
        adv_form.addRow("Steps", self.steps_spin)
        adv_form.addRow("γ (inversion)", self.gamma_spin)
        adv_form.addRow("η (editing)", self.eta_spin)
        adv_form.addRow("η window", self.window_slider)
        adv_form.addRow("", _wrap(decay_row))
        adv_form.addRow("Strength", self.strength_spin)
        adv_form.addRow("Guidance", self.guidance_spin)
        adv_form.addRow("Seed", _wrap(seed_row))
        adv_form.addRow("Variants", self.variants_spin)
        adv_form.addRow("Source guidance", self.source_guidance_spin)
        adv_form.addRow("FlowEdit n_max", self.n_max_spin)
        adv_form.addRow("FlowEdit n_min", self.n_min_spin)
        adv_form.addRow("FlowEdit n_avg", self.n_avg_spin)
        self._adv_form = adv_form
        self.advanced.addWidget(adv)
        self._scroll_to_advanced_pending = False
        self.advanced.toggled.connect(self._advanced_toggled)
        outer.addWidget(self.advanced)
        outer.addStretch(1)
        self.params_scroll = _ParamsScroll(params)
        self._scroll_to_advanced = False
        self.params_scroll.verticalScrollBar().rangeChanged.connect(
            lambda *_: self._show_advanced())
        root.addWidget(self.params_scroll, 1)

        footer = QWidget()
        footer.setObjectName("EditFooter")
        outer = QVBoxLayout(footer)
        outer.setContentsMargins(6, 4, 6, 6)
        outer.setSpacing(6)
        root.addWidget(footer)

        for widget in (self.eta_spin, self.guidance_spin, self.decay_spin):
            widget.valueChanged.connect(self._custom_edit)
        self.window_slider.valueChanged.connect(self._custom_edit)
        self.decay_check.toggled.connect(self._custom_edit)
        for widget in (self.steps_spin, self.gamma_spin, self.strength_spin, self.seed_spin):
            widget.valueChanged.connect(self._custom_edit)
            widget.valueChanged.connect(self.inversion_params_changed)
        # FlowEdit caches its source side per n_max, n_min, n_avg and source guidance
        for widget in (self.source_guidance_spin, self.n_max_spin, self.n_min_spin,
                       self.n_avg_spin):
            widget.valueChanged.connect(self.params_changed)
            widget.valueChanged.connect(self.inversion_params_changed)
        self.steps_spin.valueChanged.connect(self._bound_flowedit)
        self.n_max_spin.valueChanged.connect(self._bound_flowedit)

        buttons = QHBoxLayout()
        self.run_button = QPushButton("Run")
        self.run_button.setObjectName("runButton")
        self.run_button.setToolTip("Run the edit (Ctrl+Enter)")
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self._request_run)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the running edit (Esc)")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_requested)
        buttons.addWidget(self.run_button, 2)
        buttons.addWidget(self.cancel_button, 1)
        outer.addLayout(buttons)
        outer.addWidget(self._build_compare())

        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.progress_bar.setTextVisible(True)
        self.progress_bar.setFormat("idle")
        outer.addWidget(self.progress_bar)

        self.cache_label = QLabel()
        self.cache_label.setObjectName("cacheIndicator")
        self.set_cache_state(None)
        outer.addWidget(self.cache_label)

        self.status_label = QLabel()
        self.status_label.setObjectName("editStatus")
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        outer.addWidget(self.status_label)

        # Ctrl+Enter in the prompt runs (PromptEdit); window-wide Ctrl+Enter and Esc are
        # actions of the controller, so that no two shortcuts compete for the same keys.

    def _build_compare(self) -> QToolButton:
        button = QToolButton()
        button.setObjectName("compareButton")
        button.setText("Compare methods")
        button.setToolTip("Run this edit once with each method ticked in the menu (▾), on the "
                          "same source; the staging strip labels each result with its method, "
                          "model evaluations and seconds")
        button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        menu = QMenu(button)
        self.compare_actions: dict[str, QAction] = {}
        for method, label in METHOD_LABELS.items():
            action = menu.addAction(label)
            action.setCheckable(True)
            action.setChecked(method in COMPARED_BY_DEFAULT)
            self.compare_actions[method] = action
        button.setMenu(menu)
        button.clicked.connect(self._request_compare)
        self.compare_button = button
        return button

    # parameters -----------------------------------------------------------------------------
    def params(self) -> dict[str, Any]:
        """The EditRequest fields this panel sets (everything except pixels and mask)."""
        return self.params_for(self.method())

    def params_for(self, method: str) -> dict[str, Any]:
        """The request fields for `method` from the panel's values: each method gets the
        fields it reads (a newer method leaves RF-Inversion's out; only FlowEdit gets n_*)."""
        start, stop = self.window_slider.value()
        params = {
            "prompt": self.prompt(),
            "source_prompt": self.source_prompt_edit.text().strip(),
            "method": method,
            "steps": self.steps_spin.value(),
            "gamma": round(self.gamma_spin.value(), 4),
            "eta": round(self.eta_spin.value(), 4),
            "start": round(float(start), 4),
            "stop": round(float(stop), 4),
            "decay_power": round(self.decay_spin.value(), 4) if self.decay_check.isChecked()
            else None,
            "strength": round(self.strength_spin.value(), 4),
            "guidance": round(self.guidance_spin.value(), 4),
            "seed": self.seed_spin.value(),
            "context": self.context(),
            "keep_detail": self.keep_detail_check.isChecked(),
            "loras": self.lora_list.loras(),
        }
        if method in METHOD_DEFAULTS:
            for key in RF_INVERSION_FIELDS:
                if key not in METHOD_OPTIONS[method]:
                    del params[key]
            params["source_guidance"] = round(self.source_guidance_spin.value(), 4)
        if method == "flowedit":
            n_max = min(self.n_max_spin.value(), params["steps"])
            params.update(n_max=n_max, n_min=min(self.n_min_spin.value(), n_max),
                          n_avg=self.n_avg_spin.value())
        return params

    def compare_methods(self) -> list[str]:
        """The methods ticked in the Compare menu, in menu order."""
        return [m for m, action in self.compare_actions.items() if action.isChecked()]

    def context(self) -> int | None:
        """The context margin in image pixels, or None for the automatic one."""
        value = self.context_spin.value()
        return None if value == AUTO_CONTEXT else value

    def set_area_text(self, text: str, warning: bool = False, drawn: bool = False) -> None:
        """The working resolution line; `warning` when the model sees too few pixels."""
        self.area_label.setText(text)
        self.area_label.setStyleSheet("color: #e0a050;" if warning else "")
        self.area_label.setProperty("warning", warning)
        self.area_reset_button.setEnabled(drawn)

    def set_params(self, params: dict[str, Any]) -> None:
        """Fill the widgets from a parameter dict (a preset, or an edit from the history)."""
        widgets = self._signal_sources()
        for w in widgets:
            w.blockSignals(True)
        self.n_max_spin.setMaximum(self.steps_spin.maximum())
        self.n_min_spin.setMaximum(self.steps_spin.maximum())
        try:
            if "prompt" in params:
                self.prompt_edit.setPlainText(str(params["prompt"]))
            if "source_prompt" in params:
                self.source_prompt_edit.setText(str(params["source_prompt"] or ""))
            if "method" in params:
                _select(self.method_combo, params["method"])
            for key, spin in (("steps", self.steps_spin), ("seed", self.seed_spin),
                              ("n_max", self.n_max_spin), ("n_min", self.n_min_spin),
                              ("n_avg", self.n_avg_spin)):
                if params.get(key) is not None:
                    spin.setValue(int(params[key]))
            for key, dspin in (("gamma", self.gamma_spin), ("eta", self.eta_spin),
                               ("strength", self.strength_spin),
                               ("guidance", self.guidance_spin),
                               ("source_guidance", self.source_guidance_spin)):
                if key in params:
                    dspin.setValue(float(params[key]))
            if "start" in params or "stop" in params:
                old = self.window_slider.value()
                self.window_slider.setValue((float(params.get("start", old[0])),
                                             float(params.get("stop", old[1]))))
            if "context" in params:
                value = params["context"]
                self.context_spin.setValue(AUTO_CONTEXT if value is None else int(value))
            if "keep_detail" in params:
                self.keep_detail_check.setChecked(bool(params["keep_detail"]))
            if "decay_power" in params:
                power = params["decay_power"]
                self.decay_check.setChecked(power is not None)
                self.decay_spin.setEnabled(power is not None)
                if power is not None:
                    self.decay_spin.setValue(float(power))
            if "loras" in params:
                self.lora_list.set_loras(params["loras"])
        finally:
            self._bound_flowedit()
            for w in widgets:
                w.blockSignals(False)
        self._method_changed()
        self._update_run_enabled()
        self.params_changed.emit()
        self.inversion_params_changed.emit()
        self.area_params_changed.emit()

    def apply_preset(self, name: str) -> None:
        preset = PRESETS[name]
        self.set_params(preset.params())
        _select(self.preset_combo, name)

    def select_preset_label(self, name: str) -> None:
        """Show `name` as the preset without changing any value (for restored settings)."""
        if self.preset_combo.findData(name) >= 0:
            _select(self.preset_combo, name)
            self._custom_edit()  # back to "Custom" if the values differ from that preset

    def preset(self) -> str:
        return str(self.preset_combo.currentData())

    def prompt(self) -> str:
        return self.prompt_edit.toPlainText().strip()

    def method(self) -> str:
        return str(self.method_combo.currentData())

    def source_mode(self) -> str:
        """"visible" (the flattened image) or "active" (the active layer alone)."""
        return str(self.source_combo.currentData())

    def target_mode(self) -> str:
        """"new-layer" or "replace"."""
        return str(self.target_combo.currentData())

    def variants(self) -> int:
        return self.variants_spin.value()

    def roll_seed(self) -> None:
        self.seed_spin.setValue(random.randint(0, MAX_SEED))

    # state shown ------------------------------------------------------------------------------
    def set_busy(self, busy: bool) -> None:
        self.cancel_button.setEnabled(busy)
        self.run_button.setText("Queue" if busy else "Run")
        if not busy:
            self.progress_bar.setRange(0, 1)
            self.progress_bar.setValue(0)
            self.progress_bar.setFormat("idle")
        self._update_run_enabled()

    def set_progress(self, phase: str, step: int, total: int) -> None:
        names = {"load": "loading", "encode": "encoding", "invert": "inverting",
                 "edit": "editing", "decode": "decoding", "generate": "generating"}
        total = max(int(total), 1)
        self.progress_bar.setRange(0, total)
        self.progress_bar.setValue(min(int(step), total))
        self.progress_bar.setFormat(f"{names.get(phase, phase)} {step}/{total}")

    def set_cache_state(self, cached: bool | None) -> None:
        """True: the source's inversion is cached, so a re-edit skips it. None: unknown."""
        if cached is None:
            text, colour, tip = "○ inversion not cached", "#8a8a8a", "Nothing cached yet"
        elif cached:
            text, colour, tip = ("● inversion cached", "#6cc070",
                                 "Editing starts at once: η, window and prompt can change "
                                 "without inverting again")
        else:
            text, colour, tip = ("○ inversion not cached", "#c8a050",
                                 "The next run inverts the source first")
        self.cache_label.setText(text)
        self.cache_label.setStyleSheet(f"color: {colour};")
        self.cache_label.setToolTip(tip)
        self.cache_label.setProperty("cached", bool(cached))

    def is_cache_shown(self) -> bool:
        return bool(self.cache_label.property("cached"))

    def set_prompt_grammar(self, grammar: dict[str, Any] | None) -> None:
        """Show what the model understands (engine info "prompt_grammar": an example and its
        words, which then complete as they are typed); a neutral hint for other models."""
        edit = self.prompt_edit
        if not grammar:
            edit.setPlaceholderText(NEUTRAL_PROMPT_HINT)
            edit.setToolTip("What the picture should become")
            edit.set_words([])
            return
        words = [str(w) for w in grammar.get("words", [])]
        edit.setPlaceholderText(f"This model understands prompts like “{grammar['example']}”")
        edit.setToolTip("This model knows only these words (they complete as you type): "
                        + ", ".join(words))
        edit.set_words(words)

    def set_model_status(self, text: str, state: str = "idle") -> None:
        """state: "loading", "ready", "error" or "idle" (colours the dot)."""
        colour = {"loading": "#c8a050", "ready": "#6cc070", "error": "#e06060"}.get(
            state, "#8a8a8a")
        self.model_label.setText(f"<span style='color:{colour}'>●</span> {text}")
        self.model_label.setProperty("state", state)

    def show_status(self, message: str, error: bool = False) -> None:
        self.status_label.setStyleSheet("color: #e07070;" if error else "color: #c8c8c8;")
        self.status_label.setText(message)
        self.status_label.setProperty("error", error)

    # reactions ------------------------------------------------------------------------------
    def request_run(self) -> None:
        """Run if the input is complete; otherwise say what is missing."""
        self._request_run()

    def _request_run(self) -> None:
        if not self.prompt():
            self.show_status("Type a prompt that describes the result first.", error=True)
            self.prompt_edit.setFocus()
            return
        self.run_requested.emit()

    def _advanced_toggled(self, expanded: bool) -> None:
        """Opening Advanced scrolls it to the top of the parameters: below the fold, a click
        on it would seem to do nothing."""
        self._scroll_to_advanced = expanded
        if expanded:
            QTimer.singleShot(0, self._show_advanced)
            # the parameters grow over the next few layout passes; follow them until then
            QTimer.singleShot(500, lambda: setattr(self, "_scroll_to_advanced", False))

    def _show_advanced(self) -> None:
        if self._scroll_to_advanced:
            self.params_scroll.verticalScrollBar().setValue(self.advanced.geometry().top())
            content = self.advanced.content()
            if content.height() >= content.sizeHint().height():
                self._scroll_to_advanced = False  # laid out in full: the artist scrolls now

    def _request_compare(self) -> None:
        if not self.prompt():
            self.show_status("Type a prompt that describes the result first.", error=True)
            self.prompt_edit.setFocus()
            return
        if not self.compare_methods():
            self.show_status("Tick the methods to compare in the menu next to "
                             "“Compare methods”.", error=True)
            return
        self.compare_requested.emit()

    def _preset_chosen(self) -> None:
        name = self.preset()
        if name != CUSTOM_PRESET:
            self.apply_preset(name)

    def _custom_edit(self) -> None:
        """Any hand-changed parameter that differs from the preset makes it "Custom"."""
        name = self.preset()
        if name == CUSTOM_PRESET:
            self.params_changed.emit()
            return
        current = self.params()
        wanted = PRESETS[name].params()
        differs = any(
            k not in current
            or ((abs(float(current[k]) - float(v)) > 1e-3) if isinstance(v, float)
                else current[k] != v)
            for k, v in wanted.items()
        )
        if differs:
            _select(self.preset_combo, CUSTOM_PRESET)
        self.params_changed.emit()

    def _method_changed(self) -> None:
        method = self.method()
        rf = method == "rf-inversion"
        self.gamma_spin.setEnabled(rf)
        self.eta_spin.setEnabled(rf or method == "stochastic")
        self.window_slider.setEnabled(rf or method == "stochastic")
        flowedit = method == "flowedit"
        self.strength_spin.setEnabled(not flowedit)
        # a newer method's own parameters are shown only while it is chosen
        self._adv_form.setRowVisible(self.source_guidance_spin, method in METHOD_DEFAULTS)
        for spin in (self.n_max_spin, self.n_min_spin, self.n_avg_spin):
            self._adv_form.setRowVisible(spin, flowedit)
        self._custom_edit()
        self.inversion_params_changed.emit()

    def _method_chosen(self) -> None:
        """Choosing a newer method from the menu fills in its paper's settings."""
        defaults = METHOD_DEFAULTS.get(self.method())
        if defaults is None:
            return
        steps = int(defaults["steps"])
        self.set_params({**defaults, "n_max": round(FLOWEDIT_N_MAX_FRACTION * steps),
                         "n_min": 0, "n_avg": 1})

    def _bound_flowedit(self) -> None:
        self.n_max_spin.setMaximum(self.steps_spin.value())
        self.n_min_spin.setMaximum(self.n_max_spin.value())

    def _update_run_enabled(self) -> None:
        self.run_button.setEnabled(bool(self.prompt()))

    def _signal_sources(self) -> list[QWidget]:
        return [self.prompt_edit, self.source_prompt_edit, self.method_combo, self.steps_spin,
                self.seed_spin, self.gamma_spin, self.eta_spin, self.strength_spin,
                self.guidance_spin, self.window_slider, self.decay_check, self.decay_spin,
                self.source_guidance_spin, self.n_max_spin, self.n_min_spin, self.n_avg_spin,
                self.context_spin, self.keep_detail_check]


class _ParamsScroll(QScrollArea):
    """The parameters, frameless: asks for their full height (a big screen shows them whole)
    but shrinks to a scrolling view of them on a small one."""

    def __init__(self, inner: QWidget) -> None:
        super().__init__()
        self.setObjectName("EditPanelScroll")
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setWidget(inner)

    def _extra(self) -> int:
        return self.verticalScrollBar().sizeHint().width() + 2 * self.frameWidth()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        inner = self.widget().sizeHint()
        return QSize(inner.width() + self._extra(), inner.height() + 2 * self.frameWidth())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(self.widget().minimumSizeHint().width() + self._extra(), 120)


def _triangle_icon(direction: str, size: int = 12) -> QIcon:
    """A filled disclosure triangle pointing "right" (collapsed) or "down" (expanded), drawn
    rather than taken from a font, so it looks the same on every system."""
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    m, e = 2.0, size - 2.0
    points = ([QPointF(m + 1, m), QPointF(e, size / 2), QPointF(m + 1, e)] if direction == "right"
              else [QPointF(m, m + 1), QPointF(e, m + 1), QPointF(size / 2, e)])
    painter = QPainter(pix)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(200, 200, 200))
    painter.drawPolygon(QPolygonF(points))
    painter.end()
    return QIcon(pix)


def _combo(items: dict[str, str]) -> QComboBox:
    combo = QComboBox()
    for data, label in items.items():
        combo.addItem(label, data)
    return combo


def _select(combo: QComboBox, data: Any) -> None:
    index = combo.findData(data)
    if index >= 0:
        combo.setCurrentIndex(index)


def _spin(lo: int, hi: int, value: int, tip: str) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(lo, hi)
    spin.setValue(value)
    spin.setToolTip(tip)
    spin.setKeyboardTracking(False)
    return spin


def _dspin(lo: float, hi: float, value: float, step: float, tip: str) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(lo, hi)
    spin.setDecimals(2)
    spin.setSingleStep(step)
    spin.setValue(value)
    spin.setToolTip(tip)
    spin.setKeyboardTracking(False)
    return spin


def _wrap(layout: QHBoxLayout) -> QWidget:
    widget = QWidget()
    layout.setContentsMargins(0, 0, 0, 0)
    widget.setLayout(layout)
    return widget
