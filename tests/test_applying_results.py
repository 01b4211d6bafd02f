"""Applying a staged result: what the canvas shows after it, and how the new layer is named."""

from __future__ import annotations

from ai_window import (
    ai_window_fixture,  # noqa: F401  (the ai_window fixture)
    stage_by_keyboard,
)
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QApplication

from rfedit_desktop.document.opening import load_ora
from rfedit_desktop.ui.layers_dock import LAYER_ROLE

BLUE = (30, 60, 220)


def paint_mask_over_everything(qtbot, window) -> None:
    canvas = window.canvas
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key.Key_M)
    window.tools.update_brush(size=60, hardness=1.0, opacity=1.0, flow=1.0, spacing=0.1,
                              pressure_size=False, pressure_opacity=False)
    # inside the edit area's frame, whose border a press at the picture's edge would drag
    points = [canvas.transform.to_view(QPointF(x, 24)).toPoint() for x in (4, 20, 44, 60)]
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=points[0])
    for p in points[1:]:
        qtbot.mouseMove(canvas, p)
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=points[-1])
    assert window.document.mask_array() is not None


def canvas_colour(window, x: float = 32, y: float = 24) -> tuple[int, int, int]:
    QApplication.processEvents()
    canvas = window.canvas
    image = canvas.grab().toImage()
    p = canvas.transform.to_view(QPointF(x, y)).toPoint()
    c = image.pixelColor(p)
    return c.red(), c.green(), c.blue()


def close_to(rgb, want, tol: int = 6) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(rgb, want, strict=True))


def test_after_apply_the_result_shows_its_own_colours(qtbot, ai_window) -> None:
    window, ai = ai_window, ai_window.ai
    paint_mask_over_everything(qtbot, window)
    tinted = canvas_colour(window)
    stage_by_keyboard(qtbot, window, "a large blue circle")
    qtbot.mouseClick(ai.strip.apply_button, Qt.MouseButton.LeftButton)
    assert window.document.edit_history, "the result was applied"
    shown = canvas_colour(window)
    assert close_to(shown, BLUE), f"{shown}: the mask's tint lies over the applied result"
    assert not close_to(tinted, (235, 230, 220)), "the mask was tinted before the edit"

    canvas = window.canvas
    canvas.setFocus()
    ctrl = Qt.KeyboardModifier.ControlModifier
    qtbot.keyClick(canvas, Qt.Key.Key_Z, ctrl)
    assert not window.document.edit_history
    assert not close_to(canvas_colour(window), (235, 230, 220)), "undo shows the region again"
    qtbot.keyClick(canvas, Qt.Key.Key_Z, ctrl | Qt.KeyboardModifier.ShiftModifier)
    assert close_to(canvas_colour(window), BLUE), "redone: the result in its own colours"
    qtbot.keyClick(canvas, Qt.Key.Key_M)  # the mask brush is still the tool: M shows it
    assert not close_to(canvas_colour(window), BLUE), "pressing M shows the mask"
    qtbot.keyClick(canvas, Qt.Key.Key_B)
    assert not close_to(canvas_colour(window), BLUE), "other tools keep the mask in view"


def test_a_long_prompt_names_the_layer_at_a_word_and_keeps_the_whole_prompt(
        qtbot, ai_window, tmp_path) -> None:
    window, ai = ai_window, ai_window.ai
    prompt = "a large red circle on a blue gradient background with soft evening light"
    stage_by_keyboard(qtbot, window, prompt)
    qtbot.mouseClick(ai.strip.apply_button, Qt.MouseButton.LeftButton)
    layer = window.document.active_layer
    assert layer.name == "a large red circle on a blue gradient…"
    assert len(layer.name) <= 40
    assert window.document.applied_edit(layer.id)["prompt"] == prompt
    item = next(window.layers_panel.list.item(r)
                for r in range(window.layers_panel.list.count())
                if window.layers_panel.list.item(r).data(LAYER_ROLE) == layer.id)
    assert item.text() == layer.name and prompt in item.toolTip()
    path = tmp_path / "named.ora"
    window.document.save(path)
    assert load_ora(path).applied_edit(layer.id)["prompt"] == prompt


def test_layer_names_from_prompts() -> None:
    from rfedit_desktop.document.applied_edits import layer_name_for

    assert layer_name_for("  a red   star ") == "a red star"
    assert layer_name_for("") == "Edit"
    assert layer_name_for("x" * 60) == "x" * 39 + "…"
    exact = "a large red circle on a blue background!"  # 40 characters: kept whole
    assert layer_name_for(exact) == exact
    assert layer_name_for(exact + " today") == "a large red circle on a blue…"
