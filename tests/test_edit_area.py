"""The edit area in the window: the frame on the canvas, the working-resolution line, dragging
the frame's handles with the mouse, previews drawn in the region, and the panel's settings."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, QRect, Qt
from PySide6.QtGui import QColor

from rfedit_desktop.document import Document
from rfedit_desktop.engine import region
from rfedit_desktop.jobs import ModelChoice
from rfedit_desktop.ui.main_window import MainWindow
from rfedit_desktop.ui.tool_state import Tool

WAIT_MS = 240_000


def make_window(qtbot, monkeypatch, width: int, height: int) -> MainWindow:
    from PySide6.QtWidgets import QMessageBox

    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Discard)
    window = MainWindow(restore_state=False)
    qtbot.addWidget(window)
    window.resize(1100, 760)
    doc = Document.new(width, height, QColor(120, 140, 160))
    doc.add_layer("Paint", undoable=False)
    doc.undo_stack.setClean()
    window.set_document(doc)
    window.show()
    qtbot.waitExposed(window)
    window.canvas.fit_to_window()
    return window


@pytest.fixture
def win(qtbot, monkeypatch):
    window = make_window(qtbot, monkeypatch, 800, 600)
    ai = window.ai_editing
    ai.load_model(ModelChoice("tiny"))
    ai.panel.steps_spin.setValue(3)
    yield window
    assert ai.shutdown()
    window.document.undo_stack.setClean()
    window.close()


def view_point(window, x: float, y: float):
    return window.canvas.transform.to_view(QPointF(x, y)).toPoint()


def drag(qtbot, window, start, end) -> None:
    canvas = window.canvas
    a, b = view_point(window, *start), view_point(window, *end)
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=a)
    qtbot.mouseMove(canvas, (a + b) / 2)
    qtbot.mouseMove(canvas, b)
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=b)


def near(got, want, tol: int = 2) -> bool:
    """Regions equal within the rounding of screen to image pixels at the fitted zoom."""
    return got is not None and all(abs(a - b) <= tol for a, b in zip(got, want, strict=True))


def mask_square(qtbot, window, x: int, y: int, side: int) -> None:
    """Paint the mask with the mask brush (M), one horizontal stroke per brush width."""
    window.tools.set_tool(Tool.MASK)
    window.tools.update_brush(size=20, hardness=1.0, opacity=1.0, flow=1.0, spacing=0.1,
                              pressure_size=False, pressure_opacity=False)
    for row in range(y + 10, y + side - 9, 15):
        drag(qtbot, window, (x + 10, row), (x + side - 10, row))


def test_frame_and_line_show_the_mask_box_the_model_will_see(qtbot, win) -> None:
    ai = win.ai_editing
    mask_square(qtbot, win, 300, 200, 100)
    mask = win.document.mask_array()
    assert mask is not None
    budget = region.pixel_budget(1.0, None)
    expected = region.plan_region(800, 600, budget, 16, mask=mask)
    qtbot.waitUntil(lambda: ai.area.plan() == expected, timeout=5000)
    qtbot.waitUntil(lambda: ai.service.model_info is not None, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "→ model" in ai.panel.area_label.text(), timeout=5000)
    assert ai.panel.area_label.text() == expected.describe()
    assert expected.context == region.auto_context(region.mask_box(mask))
    assert ai.area.frame.isVisible()
    assert ai.area.frame.area() == QRect(*expected.box.as_list())
    # a larger context margin in the panel grows the frame
    ai.panel.context_spin.setValue(150)
    qtbot.waitUntil(lambda: ai.area.plan().context == 150, timeout=5000)
    assert ai.area.frame.area().width() > expected.box.w


def test_dragging_a_handle_draws_the_edit_area_without_painting(qtbot, win) -> None:
    ai = win.ai_editing
    win.tools.set_tool(Tool.BRUSH)
    qtbot.waitUntil(lambda: ai.area.plan() is not None and ai.area.plan().whole, timeout=5000)
    before = win.document.composite_for_edit("visible").copy()
    steps = win.document.undo_stack.count()
    drag(qtbot, win, (800, 600), (500, 400))  # the bottom-right handle
    assert near(ai.area.region(), (0, 0, 500, 400))
    drag(qtbot, win, (120, 0), (220, 100))  # the top border (not a handle) moves the area
    drawn = ai.area.region()
    assert near(drawn, (100, 100, 500, 400))
    assert np.array_equal(win.document.composite_for_edit("visible"), before)
    assert win.document.undo_stack.count() == steps  # no stroke was painted
    assert ai.panel.area_label.text().startswith(f"edit area {drawn[2]}×{drawn[3]}")
    ai.panel.prompt_edit.setPlainText("a red house")
    [(request, context)] = ai.build_requests()
    assert request.region == drawn
    assert context.box == QRect(*drawn)
    # inside the frame (away from its border) the brush still paints
    drag(qtbot, win, (300, 300), (320, 300))
    assert win.document.undo_stack.count() == steps + 1
    # with Space held a press on the border pans the view instead of moving the frame
    origin = QPointF(win.canvas.transform.origin)
    qtbot.keyPress(win.canvas, Qt.Key.Key_Space)
    drag(qtbot, win, (drawn[0] + 50, drawn[1]), (drawn[0] + 90, drawn[1] + 40))
    qtbot.keyRelease(win.canvas, Qt.Key.Key_Space)
    assert ai.area.region() == drawn and win.canvas.transform.origin != origin
    ai.panel.area_reset_button.click()
    qtbot.waitUntil(lambda: ai.area.region() is None and ai.area.plan().whole, timeout=5000)


def test_region_edit_previews_in_place_and_stages_only_the_area(qtbot, win) -> None:
    ai = win.ai_editing
    qtbot.waitUntil(lambda: ai.area.plan() is not None, timeout=5000)
    drag(qtbot, win, (0, 0), (200, 100))  # top-left handle: area 200,100 .. 800,600
    x, y, w, h = ai.area.region()
    drag(qtbot, win, (x + w, y + h), (600, 400))
    area = ai.area.region()
    assert near(area, (200, 100, 400, 300))
    x, y, w, h = area
    rects = []
    ai.service.preview.connect(lambda *_: rects.append(ai.overlay._rect))
    ai.panel.prompt_edit.setPlainText("a red house")
    assert ai.run()
    qtbot.waitUntil(lambda: not ai.is_busy(), timeout=WAIT_MS)
    assert rects and all(r == QRect(*area) for r in rects if r is not None)
    staged = ai.strip.result(ai.strip.current_id())
    assert staged.metadata["region"] == list(area)
    assert staged.metadata["keep_detail"] is True
    original = win.document.composite_for_edit("visible")[..., :3]
    changed = np.any(staged.pixels[..., :3] != original, axis=2)
    inside = np.zeros(changed.shape, bool)
    inside[y:y + h, x:x + w] = True
    assert changed[inside].mean() > 0.5 and not changed[~inside].any()
    assert ai.apply(staged.id, "new-layer")
    layer = win.document.layer_array(win.document.active_layer)
    assert (layer[inside][:, 3] == 255).all() and (layer[~inside][:, 3] == 0).all()


def test_low_scale_warns_and_suggests_a_smaller_region(qtbot, monkeypatch) -> None:
    window = make_window(qtbot, monkeypatch, 3000, 2000)
    ai = window.ai_editing
    try:
        ai.load_model(ModelChoice("tiny"))
        qtbot.waitUntil(lambda: ai.service.model_info is not None, timeout=WAIT_MS)
        qtbot.waitUntil(lambda: "→ model" in ai.panel.area_label.text(), timeout=5000)
        assert ai.area.plan().scale < region.LOW_SCALE
        assert ai.panel.area_label.property("warning") is True
        assert "mask a smaller region" in ai.panel.area_label.text()
    finally:
        assert ai.shutdown()
        window.close()


def test_context_and_keep_detail_are_kept_in_the_settings(qtbot, monkeypatch) -> None:
    first = make_window(qtbot, monkeypatch, 64, 64)
    first.ai_editing.panel.context_spin.setValue(96)
    first.ai_editing.panel.keep_detail_check.setChecked(False)
    assert first.ai_editing.panel.params()["context"] == 96
    assert first.ai_editing.shutdown()
    first.close()
    second = make_window(qtbot, monkeypatch, 64, 64)
    try:
        params = second.ai_editing.panel.params()
        assert params["context"] == 96 and params["keep_detail"] is False
        second.ai_editing.panel.context_spin.setValue(-1)  # "Auto"
        assert second.ai_editing.panel.params()["context"] is None
        assert second.ai_editing.panel.context_spin.text() == "Auto"
    finally:
        assert second.ai_editing.shutdown()
        second.close()
