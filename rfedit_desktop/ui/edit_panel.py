"""The Edit dock: what to change, how, and the state of the job and the model.

A plain widget that knows nothing of the document or the worker: it collects parameters whose
ranges the widgets themselves enforce (so a bad value cannot be typed; the engine checks again)
and shows what the controller tells it. `ui/ai_editing.py` wires it to the rest.
"""

from __future__ import annotations

import random
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from superqt import QCollapsible, QLabeledDoubleRangeSlider

from rfedit_desktop.engine.presets import PRESETS
from rfedit_desktop.ui.lora_list import LoraList

METHOD_LABELS: dict[str, str] = {
    "rf-inversion": "RF-Inversion",
    "sdedit": "SDEdit",
    "ode": "Plain ODE inversion",
    "stochastic": "Stochastic sampler",
}
SOURCE_LABELS = {"visible": "Visible image", "active": "Active layer"}
TARGET_LABELS = {"new-layer": "New layer above", "replace": "Replace active layer"}
CUSTOM_PRESET = "custom"
MAX_SEED = 2**31 - 1
# The presets shown first are the paper's tasks; "default" (the diffusers example) comes last.
PRESET_ORDER = ("stroke-to-image", "object-insert", "gender", "age", "glasses", "stylize",
                "default")

# Fields whose change invalidates the cached inversion of the source (see engine cache key).
INVERSION_FIELDS = ("steps", "gamma", "strength", "seed", "source_prompt", "method", "loras")


class PromptEdit(QPlainTextEdit):
    """A multi-line prompt box where Ctrl+Enter runs instead of inserting a line break."""

    submitted = Signal()

    def keyPressEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and (
            event.modifiers() & Qt.KeyboardModifier.ControlModifier
        ):
            self.submitted.emit()
            return
        super().keyPressEvent(event)


class EditPanel(QWidget):
    """Parameters in, requests out through signals; state shown on demand."""

    run_requested = Signal()
    cancel_requested = Signal()
    model_change_requested = Signal()
    inversion_params_changed = Signal()  # the cached inversion may no longer apply
    params_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("EditPanel")
        self._busy = False
        self._build()
        self.apply_preset("stroke-to-image")
        self._update_run_enabled()

    # construction -------------------------------------------------------------------------
    def _build(self) -> None:
        outer = QVBoxLayout(self)
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
        self.prompt_edit.setPlaceholderText("Describe the result, e.g. “a lighthouse at dusk”")
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
        form.addRow("Method", self.method_combo)
        self.lora_list = LoraList()
        self.lora_list.changed.connect(self.params_changed)
        self.lora_list.changed.connect(self.inversion_params_changed)
        form.addRow("LoRAs", self.lora_list)
        outer.addLayout(form)

        self.advanced = QCollapsible("Advanced")
        self.advanced.setObjectName("advancedSection")
        adv = QWidget()
        adv_form = QFormLayout(adv)
        adv_form.setContentsMargins(0, 0, 0, 0)
        self.steps_spin = _spin(1, 200, 28, "Number of ODE steps for inversion and editing")
        self.gamma_spin = _dspin(0.0, 1.0, 0.5, 0.05, "γ: how strongly the inversion is pulled "
                                 "toward the noise (0 = plain ODE inversion)")
        self.eta_spin = _dspin(0.0, 1.0, 0.9, 0.05, "η: how strongly editing is pulled back "
                               "toward the original image inside the window")
        self.window_slider = QLabeledDoubleRangeSlider(Qt.Orientation.Horizontal)
        self.window_slider.setRange(0.0, 1.0)
        self.window_slider.setDecimals(2)
        self.window_slider.setSingleStep(0.01)
        self.window_slider.setValue((0.0, 0.25))
        # The two ends as editable numbers at the sides; no floating labels over the handles.
        self.window_slider.setHandleLabelPosition(
            QLabeledDoubleRangeSlider.LabelPosition.NoLabel)
        self.window_slider.setEdgeLabelMode(QLabeledDoubleRangeSlider.EdgeLabelMode.LabelIsValue)
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
        adv_form.addRow("Steps", self.steps_spin)
        adv_form.addRow("γ (inversion)", self.gamma_spin)
        adv_form.addRow("η (editing)", self.eta_spin)
        adv_form.addRow("η window", self.window_slider)
        adv_form.addRow("", _wrap(decay_row))
        adv_form.addRow("Strength", self.strength_spin)
        adv_form.addRow("Guidance", self.guidance_spin)
        adv_form.addRow("Seed", _wrap(seed_row))
        adv_form.addRow("Variants", self.variants_spin)
        self.advanced.addWidget(adv)
        outer.addWidget(self.advanced)

        for widget in (self.eta_spin, self.guidance_spin, self.decay_spin):
            widget.valueChanged.connect(self._custom_edit)
        self.window_slider.valueChanged.connect(self._custom_edit)
        self.decay_check.toggled.connect(self._custom_edit)
        for widget in (self.steps_spin, self.gamma_spin, self.strength_spin, self.seed_spin):
            widget.valueChanged.connect(self._custom_edit)
            widget.valueChanged.connect(self.inversion_params_changed)

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
        outer.addStretch(1)

        # Ctrl+Enter in the prompt runs (PromptEdit); window-wide Ctrl+Enter and Esc are
        # actions of the controller, so that no two shortcuts compete for the same keys.

    # parameters -----------------------------------------------------------------------------
    def params(self) -> dict[str, Any]:
        """The EditRequest fields this panel sets (everything except pixels and mask)."""
        start, stop = self.window_slider.value()
        return {
            "prompt": self.prompt(),
            "source_prompt": self.source_prompt_edit.text().strip(),
            "method": self.method(),
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
            "loras": self.lora_list.loras(),
        }

    def set_params(self, params: dict[str, Any]) -> None:
        """Fill the widgets from a parameter dict (a preset, or an edit from the history)."""
        widgets = self._signal_sources()
        for w in widgets:
            w.blockSignals(True)
        try:
            if "prompt" in params:
                self.prompt_edit.setPlainText(str(params["prompt"]))
            if "source_prompt" in params:
                self.source_prompt_edit.setText(str(params["source_prompt"] or ""))
            if "method" in params:
                _select(self.method_combo, params["method"])
            for key, spin in (("steps", self.steps_spin), ("seed", self.seed_spin)):
                if key in params:
                    spin.setValue(int(params[key]))
            for key, dspin in (("gamma", self.gamma_spin), ("eta", self.eta_spin),
                               ("strength", self.strength_spin),
                               ("guidance", self.guidance_spin)):
                if key in params:
                    dspin.setValue(float(params[key]))
            if "start" in params or "stop" in params:
                old = self.window_slider.value()
                self.window_slider.setValue((float(params.get("start", old[0])),
                                             float(params.get("stop", old[1]))))
            if "decay_power" in params:
                power = params["decay_power"]
                self.decay_check.setChecked(power is not None)
                self.decay_spin.setEnabled(power is not None)
                if power is not None:
                    self.decay_spin.setValue(float(power))
            if "loras" in params:
                self.lora_list.set_loras(params["loras"])
        finally:
            for w in widgets:
                w.blockSignals(False)
        self._method_changed()
        self._update_run_enabled()
        self.params_changed.emit()
        self.inversion_params_changed.emit()

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
        self._busy = busy
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

    def request_cancel(self) -> None:
        self._request_cancel()

    def _request_run(self) -> None:
        if not self.prompt():
            self.show_status("Type a prompt that describes the result first.", error=True)
            self.prompt_edit.setFocus()
            return
        self.run_requested.emit()

    def _request_cancel(self) -> None:
        if self._busy:
            self.cancel_requested.emit()

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
            (abs(float(current[k]) - float(v)) > 1e-3) if isinstance(v, float) else current[k] != v
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
        self.strength_spin.setEnabled(True)
        self._custom_edit()
        self.inversion_params_changed.emit()

    def _update_run_enabled(self) -> None:
        self.run_button.setEnabled(bool(self.prompt()))

    def _signal_sources(self) -> list[QWidget]:
        return [self.prompt_edit, self.source_prompt_edit, self.method_combo, self.steps_spin,
                self.seed_spin, self.gamma_spin, self.eta_spin, self.strength_spin,
                self.guidance_spin, self.window_slider, self.decay_check, self.decay_spin]


class _PanelScroll(QScrollArea):
    """Asks for the panel's full size (so a big screen shows it whole) but can shrink to a
    scrolling view of it on a small one."""

    def _extra(self) -> int:
        return self.verticalScrollBar().sizeHint().width() + 2 * self.frameWidth()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        inner = self.widget().sizeHint() if self.widget() is not None else QSize(280, 400)
        return QSize(inner.width() + self._extra(), inner.height() + 2 * self.frameWidth())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        inner = self.widget().minimumSizeHint() if self.widget() is not None else QSize()
        return QSize(inner.width() + self._extra(), 160)


def scrollable(panel: QWidget) -> QScrollArea:
    """The panel in a frameless scroll area, so a small screen still reaches every control."""
    scroll = _PanelScroll()
    scroll.setObjectName("EditPanelScroll")
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QScrollArea.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setWidget(panel)
    return scroll


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
