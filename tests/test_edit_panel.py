"""The Edit panel and the staging strip as widgets, without a model."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from rfedit_desktop.engine.presets import PRESETS
from rfedit_desktop.engine.request import EditRequest
from rfedit_desktop.jobs.preview_image import to_qimage
from rfedit_desktop.ui.edit_panel import CUSTOM_PRESET, METHOD_LABELS, EditPanel
from rfedit_desktop.ui.staging import RUNNING_ID, StagedResult, StagingStrip


@pytest.fixture
def panel(qtbot):
    widget = EditPanel()
    qtbot.addWidget(widget)
    widget.show()
    return widget


def test_presets_fill_the_parameters(panel) -> None:
    assert panel.preset() == "stroke-to-image"  # the first of the paper's tasks
    for name, preset in PRESETS.items():
        panel.apply_preset(name)
        params = panel.params()
        assert panel.preset() == name
        assert params["eta"] == pytest.approx(preset.eta, abs=1e-3)
        assert params["start"] == pytest.approx(preset.start, abs=1e-3)
        assert params["stop"] == pytest.approx(preset.stop, abs=1e-3)
        assert params["gamma"] == pytest.approx(preset.gamma)
        assert params["method"] == preset.method


def test_changing_a_preset_value_makes_it_custom(panel) -> None:
    panel.apply_preset("glasses")
    panel.steps_spin.setValue(12)  # steps are not part of a preset
    assert panel.preset() == "glasses"
    panel.eta_spin.setValue(0.2)
    assert panel.preset() == CUSTOM_PRESET
    assert panel.params()["eta"] == pytest.approx(0.2)


def test_widgets_refuse_out_of_range_values(panel) -> None:
    panel.steps_spin.setValue(0)
    panel.gamma_spin.setValue(3.0)
    panel.eta_spin.setValue(-1.0)
    panel.strength_spin.setValue(0.0)
    panel.guidance_spin.setValue(-5)
    panel.window_slider.setValue((-0.5, 2.0))
    panel.variants_spin.setValue(100)
    params = panel.params()
    assert params["steps"] == 1
    assert params["gamma"] == 1.0 and params["eta"] == 0.0
    assert params["strength"] == pytest.approx(0.05)
    assert params["guidance"] == 0.0
    assert (params["start"], params["stop"]) == (0.0, 1.0)
    assert panel.variants() == 8
    # Whatever the widgets allow, the engine accepts: the two agree on the ranges.
    from rfedit_desktop.engine.validation import validate_request

    params["prompt"] = "x"
    validate_request(EditRequest(image=np.zeros((8, 8, 3), np.uint8), **params))


def test_methods_and_decay(panel) -> None:
    assert set(METHOD_LABELS) == {"rf-inversion", "sdedit", "ode", "stochastic", "rf-solver",
                                  "fireflow", "flowedit"}
    panel.method_combo.setCurrentIndex(panel.method_combo.findData("sdedit"))
    assert panel.method() == "sdedit" and not panel.eta_spin.isEnabled()
    panel.method_combo.setCurrentIndex(panel.method_combo.findData("rf-inversion"))
    assert panel.eta_spin.isEnabled()
    assert panel.params()["decay_power"] is None
    panel.decay_check.setChecked(True)
    panel.decay_spin.setValue(2.0)
    assert panel.params()["decay_power"] == 2.0


def test_dice_changes_the_seed(panel) -> None:
    seeds = set()
    for _ in range(5):
        panel.dice_button.click()
        seeds.add(panel.params()["seed"])
    assert len(seeds) > 1 and all(0 <= s < 2**31 for s in seeds)


def test_ctrl_enter_in_the_prompt_runs_and_empty_prompt_does_not(qtbot, panel) -> None:
    runs = []
    panel.run_requested.connect(lambda: runs.append(1))
    assert not panel.run_button.isEnabled()
    panel.request_run()
    assert runs == [] and panel.status_label.property("error") is True
    qtbot.keyClicks(panel.prompt_edit, "a fox")
    assert panel.run_button.isEnabled()
    qtbot.keyClick(panel.prompt_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert runs == [1]
    assert panel.prompt() == "a fox"  # Ctrl+Enter did not add a line break


def test_inversion_fields_announce_a_cache_change(panel) -> None:
    changes = []
    panel.inversion_params_changed.connect(lambda: changes.append(1))
    panel.eta_spin.setValue(0.3)  # editing-only: the cached inversion still applies
    assert changes == []
    panel.steps_spin.setValue(20)
    assert changes


def test_busy_state_and_progress(panel) -> None:
    panel.set_busy(True)
    assert panel.cancel_button.isEnabled() and panel.run_button.text() == "Queue"
    panel.set_progress("invert", 3, 28)
    assert panel.progress_bar.value() == 3 and "inverting 3/28" in panel.progress_bar.text()
    panel.set_busy(False)
    assert not panel.cancel_button.isEnabled()
    panel.set_cache_state(True)
    assert panel.is_cache_shown() and "cached" in panel.cache_label.text()
    panel.set_cache_state(False)
    assert not panel.is_cache_shown()


def _staged(prompt: str, value: int, seed: int = 0) -> StagedResult:
    pixels = np.full((16, 16, 3), value, np.uint8)
    original = np.zeros((16, 16, 3), np.uint8)
    return StagedResult(pixels=pixels, image=to_qimage(pixels), original=to_qimage(original),
                        prompt=prompt, metadata={"seed": seed, "nfe": 4})


def test_staging_strip_apply_discard_compare(qtbot) -> None:
    strip = StagingStrip()
    qtbot.addWidget(strip)
    strip.show()
    applied = []
    strip.apply_requested.connect(lambda rid, target: applied.append((rid, target)))
    a = strip.add_result(_staged("first", 100, 1))
    b = strip.add_result(_staged("second", 200, 2))
    assert [r.prompt for r in strip.results()] == ["first", "second"]
    assert strip.current_id() == b
    assert "second" in strip.list.currentItem().text() and "seed 2" in strip.list.currentItem().text()

    strip.apply_current()
    strip.apply_current("replace")
    assert applied == [(b, "new-layer"), (b, "replace")]

    # Holding "Original" (or backslash) shows the original in the comparison view.
    qtbot.mousePress(strip.original_button, Qt.MouseButton.LeftButton)
    assert strip.compare.showing_original()
    qtbot.mouseRelease(strip.original_button, Qt.MouseButton.LeftButton)
    assert not strip.compare.showing_original()
    strip.list.setFocus()
    qtbot.keyPress(strip, Qt.Key.Key_Backslash)
    assert strip.compare.showing_original()
    qtbot.keyRelease(strip, Qt.Key.Key_Backslash)
    assert not strip.compare.showing_original()
    strip.split_button.setChecked(True)
    assert strip.compare.is_split()
    grab = strip.compare.grab().toImage()
    assert not grab.isNull()

    strip.list.setFocus()
    qtbot.keyClick(strip.list, Qt.Key.Key_Return)  # Enter applies the current result
    assert applied[-1] == (b, "new-layer")
    qtbot.keyClick(strip.list, Qt.Key.Key_Delete)  # Delete discards it
    assert [r.id for r in strip.results()] == [a]
    strip.discard_all()
    assert strip.results() == [] and not strip.apply_button.isEnabled()


def test_staging_running_slot_shows_previews(qtbot) -> None:
    strip = StagingStrip()
    qtbot.addWidget(strip)
    original = QImage(16, 16, QImage.Format.Format_RGB888)
    original.fill(0)
    strip.begin_running(original)
    assert strip.current_id() == RUNNING_ID
    preview = to_qimage(np.full((4, 4, 3), 250, np.uint8))
    strip.show_preview(preview, "edit 2/4")
    assert strip.running_preview() is preview
    assert strip.list.item(0).text() == "edit 2/4"
    strip.end_running()
    assert strip.list.count() == 0 and strip.running_preview() is None


def test_model_dialog_validates_and_remembers(qtbot, tmp_path) -> None:
    from rfedit_desktop.jobs import ModelChoice
    from rfedit_desktop.ui.model_dialog import ModelDialog, kind_of, load_choice, save_choice
    from rfedit_desktop.ui.settings import app_settings

    dialog = ModelDialog(ModelChoice("demo"))
    qtbot.addWidget(dialog)
    assert dialog.kind() == "demo" and not dialog.path_edit.isEnabled()
    assert dialog.choice() == ModelChoice("demo")
    dialog.radio["folder"].setChecked(True)
    dialog.path_edit.setText("")
    dialog.accept()  # refused: no folder named
    assert dialog.result() == 0 and "folder" in dialog.error_label.text()
    folder = tmp_path / "FLUX.1-dev"
    folder.mkdir()
    dialog.path_edit.setText(str(folder))
    dialog.device_combo.setCurrentIndex(dialog.device_combo.findData("cpu"))
    dialog.memory_combo.setCurrentIndex(dialog.memory_combo.findData("model-offload"))
    choice = dialog.choice()
    assert choice == ModelChoice(str(folder), "cpu", "model-offload")

    assert kind_of("/x/flux.safetensors") == "file" and kind_of("owner/name") == "repo"
    assert kind_of(str(folder)) == "folder" and kind_of("demo") == "demo"
    settings = app_settings()
    save_choice(settings, choice)
    assert load_choice(app_settings()) == choice
    settings.setValue("model/device", "quantum")  # a damaged setting falls back to the demo
    assert load_choice(settings) == ModelChoice()


def test_the_range_slider_drags_each_end_and_never_crosses(qtbot) -> None:
    from PySide6.QtCore import QPoint, Qt

    from rfedit_desktop.ui.range_slider import RangeSlider

    slider = RangeSlider(0.0, 1.0)
    qtbot.addWidget(slider)
    slider.resize(400, 30)
    slider.show()
    qtbot.waitExposed(slider)
    slider.setValue((0.2, 0.6))
    seen: list[tuple] = []
    slider.valueChanged.connect(seen.append)
    track = slider.track
    y = track.height() // 2

    def drag(start: float, end: float) -> None:
        qtbot.mousePress(track, Qt.MouseButton.LeftButton, pos=QPoint(round(track._x(start)), y))
        qtbot.mouseMove(track, QPoint(round(track._x(end)), y))
        qtbot.mouseRelease(track, Qt.MouseButton.LeftButton, pos=QPoint(round(track._x(end)), y))

    drag(0.6, 0.9)  # the high end
    low, high = slider.value()
    assert low == 0.2 and high == pytest.approx(0.9, abs=0.01) and seen
    drag(0.2, 0.95)  # the low end stops at the high end
    low, high = slider.value()
    assert low == high == pytest.approx(0.9, abs=0.01)
    slider.setValue((0.3, 0.5))
    slider.high_spin.setValue(0.1)  # typed below the low end: both ends go there
    assert slider.value() == pytest.approx((0.1, 0.1))
    assert slider.low_spin.value() == pytest.approx(0.1)
