"""The Edit panel's newer methods: their own rows, their papers' settings, Compare methods."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from rfedit_desktop.engine.request import EditRequest
from rfedit_desktop.engine.validation import validate_request
from rfedit_desktop.ui.edit_panel import EditPanel
from rfedit_desktop.ui.staging import StagedResult, StagingStrip, _caption


@pytest.fixture
def panel(qtbot):
    widget = EditPanel()
    qtbot.addWidget(widget)
    widget.show()
    widget.advanced.expand()
    return widget


def choose(qtbot, panel: EditPanel, method: str) -> None:
    """Pick a method from the combo with the keyboard, as an artist would."""
    combo = panel.method_combo
    combo.setFocus()
    target = combo.findData(method)
    while combo.currentIndex() != target:
        key = Qt.Key.Key_Down if combo.currentIndex() < target else Qt.Key.Key_Up
        qtbot.keyClick(combo, key)


def test_flowedit_rows_show_only_for_flowedit(qtbot, panel) -> None:
    form = panel._adv_form
    assert not form.isRowVisible(panel.n_max_spin)
    assert not form.isRowVisible(panel.source_guidance_spin)
    choose(qtbot, panel, "flowedit")
    assert form.isRowVisible(panel.n_max_spin) and form.isRowVisible(panel.n_avg_spin)
    assert form.isRowVisible(panel.source_guidance_spin)
    assert not panel.strength_spin.isEnabled() and not panel.eta_spin.isEnabled()
    choose(qtbot, panel, "fireflow")
    assert not form.isRowVisible(panel.n_max_spin)
    assert form.isRowVisible(panel.source_guidance_spin) and panel.strength_spin.isEnabled()
    choose(qtbot, panel, "rf-inversion")
    assert not form.isRowVisible(panel.source_guidance_spin) and panel.eta_spin.isEnabled()


@pytest.mark.parametrize(
    ("method", "steps", "guidance", "source_guidance"),
    [("rf-solver", 15, 2.0, 1.0), ("fireflow", 8, 2.0, 1.0), ("flowedit", 28, 5.5, 1.5)],
)
def test_choosing_a_method_fills_its_papers_settings(qtbot, panel, method, steps, guidance,
                                                     source_guidance) -> None:
    choose(qtbot, panel, method)
    params = panel.params()
    assert params["method"] == method and params["steps"] == steps
    assert params["guidance"] == guidance and params["source_guidance"] == source_guidance
    assert "eta" not in params and "gamma" not in params
    if method == "flowedit":
        assert (params["n_max"], params["n_min"], params["n_avg"]) == (24, 0, 1)
        assert "strength" not in params
    else:
        assert "n_max" not in params and params["strength"] == 1.0


def test_flowedit_counts_stay_inside_the_steps_and_validate(qtbot, panel) -> None:
    choose(qtbot, panel, "flowedit")
    panel.steps_spin.setValue(10)
    assert panel.n_max_spin.value() == 10
    panel.n_min_spin.setValue(50)
    panel.n_avg_spin.setValue(100)
    params = dict(panel.params(), prompt="x")
    assert params["n_min"] == 10 and params["n_avg"] == 16
    validate_request(EditRequest(image=np.zeros((8, 8, 3), np.uint8), **params))
    # every method's fields from the panel are a valid request
    for method in ("rf-inversion", "sdedit", "ode", "stochastic", "rf-solver", "fireflow"):
        fields = dict(panel.params_for(method), prompt="x")
        validate_request(EditRequest(image=np.zeros((8, 8, 3), np.uint8), **fields))


def test_compare_button_needs_a_prompt_and_a_method(qtbot, panel) -> None:
    fired = []
    panel.compare_requested.connect(lambda: fired.append(True))
    assert panel.compare_methods() == ["rf-inversion", "rf-solver", "fireflow", "flowedit"]
    qtbot.mouseClick(panel.compare_button, Qt.MouseButton.LeftButton)
    assert not fired and "prompt" in panel.status_label.text()
    panel.prompt_edit.setPlainText("a red circle")
    for action in panel.compare_actions.values():
        action.setChecked(False)
    qtbot.mouseClick(panel.compare_button, Qt.MouseButton.LeftButton)
    assert not fired and "Tick the methods" in panel.status_label.text()
    panel.compare_actions["fireflow"].setChecked(True)
    qtbot.mouseClick(panel.compare_button, Qt.MouseButton.LeftButton)
    assert fired == [True] and panel.compare_methods() == ["fireflow"]


def test_compared_results_are_labelled_with_method_nfe_and_seconds(qtbot) -> None:
    strip = StagingStrip()
    qtbot.addWidget(strip)
    pixels = np.zeros((8, 8, 3), np.uint8)
    from rfedit_desktop.jobs.preview_image import to_qimage

    meta = {"method": "fireflow", "nfe": 18, "timings": {"invert": 0.5, "edit": 0.75},
            "seed": 3, "compared": True}
    staged = StagedResult(pixels=pixels, image=to_qimage(pixels), original=to_qimage(pixels),
                          prompt="a red circle", metadata=meta)
    assert _caption(staged) == "fireflow\n18 NFE · 1.2 s"
    staged.metadata["timings"] = {"invert": 7.3, "edit": 7.2}
    assert _caption(staged) == "fireflow\n18 NFE · 14 s"  # fits under the thumbnail
    plain = StagedResult(pixels=pixels, image=to_qimage(pixels), original=to_qimage(pixels),
                         prompt="a red circle", metadata=dict(meta, compared=False))
    assert _caption(plain) == "a red circle\nseed 3"
