"""The edit panel's LoRA list and the model dialog's weight format and plan, with real clicks
and keys (no model)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from rfedit_desktop.engine.request import EditRequest
from rfedit_desktop.ui.edit_panel import EditPanel


@pytest.fixture
def panel(qtbot):
    widget = EditPanel()
    qtbot.addWidget(widget)
    widget.show()
    return widget


def test_loras_are_added_weighted_switched_and_removed(qtbot, panel, tmp_path):
    a, b = str(tmp_path / "ink.safetensors"), str(tmp_path / "film.safetensors")
    assert panel.params()["loras"] == ()
    with qtbot.waitSignal(panel.inversion_params_changed):
        row_a = panel.lora_list.add(a)
    row_b = panel.lora_list.add(b, 0.5)
    assert panel.lora_list.add(a) is None  # listed once
    assert panel.params()["loras"] == ((a, 1.0), (b, 0.5))
    row_b.slider.setFocus()
    with qtbot.waitSignal(panel.inversion_params_changed):
        qtbot.keyClick(row_b.slider, Qt.Key.Key_Right)
    assert panel.params()["loras"] == ((a, 1.0), (b, 0.51))
    assert row_b.value_label.text() == "0.51"
    row_a.check.setFocus()
    qtbot.keyClick(row_a.check, Qt.Key.Key_Space)
    assert not row_a.check.isChecked()
    assert panel.params()["loras"] == ((b, 0.51),)
    qtbot.mouseClick(row_b.remove_button, Qt.MouseButton.LeftButton)
    assert panel.params()["loras"] == ()
    request = EditRequest(image=None, **{**panel.params(), "prompt": "x"})
    assert request.loras == ()


def test_history_parameters_restore_the_lora_list(panel, tmp_path):
    path = str(tmp_path / "ink.safetensors")
    panel.set_params({"loras": [{"name": "ink.safetensors", "path": path, "digest": "ab",
                                 "weight": 0.7}]})
    assert panel.params()["loras"] == ((path, 0.7),)
    panel.set_params({"loras": [(path, 1.25)]})
    assert panel.params()["loras"] == ((path, 1.25),)


def test_model_dialog_weight_format_defaults_to_auto_and_shows_the_plan(qtbot):
    from rfedit_desktop.jobs import ModelChoice
    from rfedit_desktop.ui.model_dialog import ModelDialog, load_choice, save_choice
    from rfedit_desktop.ui.settings import app_settings

    dialog = ModelDialog(ModelChoice("demo"), plan="choice: fp8/model-offload")
    qtbot.addWidget(dialog)
    assert dialog.choice() == ModelChoice("demo", "auto", "auto", "auto")
    assert "fp8/model-offload" in dialog.plan_label.text()
    dialog.weights_combo.setCurrentIndex(dialog.weights_combo.findData("nf4"))
    choice = dialog.choice()
    assert choice.quantization == "nf4"
    save_choice(app_settings(), choice)
    assert load_choice(app_settings()) == choice
    with pytest.raises(ValueError, match="weight format"):
        ModelChoice("demo", quantization="int3")
