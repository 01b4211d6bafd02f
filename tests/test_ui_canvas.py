"""The canvas in the real window: strokes from mouse and pen events, undo/redo, zoom, pan."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QInputDevice, QPointingDevice, QTabletEvent, QWheelEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from rfedit_desktop.document import Document
from rfedit_desktop.ui.main_window import MainWindow
from rfedit_desktop.ui.tool_state import Tool

W, H = 80, 60


@pytest.fixture(autouse=True)
def own_folders(tmp_path, monkeypatch):
    """Settings and autosaves per test, so no test sees another's tools, layout or crashes."""
    monkeypatch.setenv("RFEDIT_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("RFEDIT_DATA_DIR", str(tmp_path / "data"))


@pytest.fixture(autouse=True)
def no_modal_dialogs(monkeypatch):
    """A message box in an offscreen test would wait forever: record it and fail instead."""
    shown = []

    def refuse(*args, **kwargs):
        shown.append(args)
        raise AssertionError(f"unexpected dialog: {args[1:3]}")

    for name in ("question", "critical", "warning", "information"):
        monkeypatch.setattr(QMessageBox, name, refuse)
    return shown


@pytest.fixture
def window(qtbot):
    win = MainWindow(restore_state=False, ai=False)
    qtbot.addWidget(win, before_close_func=lambda w: w.discard_changes_and_close())
    win.resize(900, 640)
    doc = Document.new(W, H)
    doc.add_layer("Paint", undoable=False)
    doc.undo_stack.setClean()
    win.set_document(doc)
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is win, timeout=2000)
    win.canvas.setFocus()
    win.canvas.actual_pixels()
    win.canvas.set_zoom(4.0)
    win.tools.set_tool(Tool.BRUSH)
    win.tools.update_brush(size=8, hardness=1.0, opacity=1.0, flow=1.0, spacing=0.1,
                           pressure_size=True, pressure_opacity=False)
    win.tools.set_foreground(QColor(200, 0, 0))
    return win


def view_point(win: MainWindow, x: float, y: float) -> QPoint:
    return win.canvas.transform.to_view(QPointF(x, y)).toPoint()


def paint_layer(win: MainWindow):
    return win.document.active_layer


def mouse_stroke(qtbot, win: MainWindow, points) -> None:
    canvas = win.canvas
    first, *rest = [view_point(win, x, y) for x, y in points]
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=first)
    for p in rest:
        qtbot.mouseMove(canvas, p)
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=rest[-1] if rest else first)


def pen_device(eraser: bool = False) -> QPointingDevice:
    caps = QInputDevice.Capability.Position | QInputDevice.Capability.Pressure
    pointer = QPointingDevice.PointerType.Eraser if eraser else QPointingDevice.PointerType.Pen
    return QPointingDevice("test pen", 7 + int(eraser), QInputDevice.DeviceType.Stylus, pointer,
                           caps, 1, 2)


def tablet(win: MainWindow, device, kind: QEvent.Type, x: float, y: float, pressure: float) -> None:
    pos = QPointF(win.canvas.transform.to_view(QPointF(x, y)))
    glob = QPointF(win.canvas.mapToGlobal(pos.toPoint()))
    down = kind != QEvent.Type.TabletRelease
    button = Qt.MouseButton.LeftButton if kind != QEvent.Type.TabletMove else Qt.MouseButton.NoButton
    buttons = Qt.MouseButton.LeftButton if down else Qt.MouseButton.NoButton
    event = QTabletEvent(kind, device, pos, glob, pressure, 0.0, 0.0, 0.0, 0.0, 0.0,
                         Qt.KeyboardModifier.NoModifier, button, buttons)
    QApplication.sendEvent(win.canvas, event)
    assert event.isAccepted()


def pen_stroke(win, points, eraser: bool = False) -> None:
    device = pen_device(eraser)
    (x, y, p), *rest = points
    tablet(win, device, QEvent.Type.TabletPress, x, y, p)
    for x, y, p in rest:
        tablet(win, device, QEvent.Type.TabletMove, x, y, p)
    tablet(win, device, QEvent.Type.TabletRelease, x, y, 0.0)


def test_mouse_stroke_paints_and_undo_redo_are_pixel_exact(qtbot, window) -> None:
    layer = paint_layer(window)
    before = layer.rgba().copy()
    mouse_stroke(qtbot, window, [(10, 30), (30, 30), (50, 32), (70, 30)])
    after = layer.rgba().copy()
    changed = np.any(after != before, axis=2)
    assert changed[30, 15:65].all(), "the stroke covers the line it was dragged along"
    assert not changed[5].any() and not changed[55].any(), "nothing far from the line changes"
    assert tuple(after[30, 40]) == (200, 0, 0, 255)
    assert window.document.undo_stack.count() == 1, "one stroke is one history entry"
    assert window.windowTitle().startswith("*")

    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(layer.rgba(), before)
    assert not window.windowTitle().startswith("*"), "back at the saved state"
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert np.array_equal(layer.rgba(), after)


def test_canvas_shows_what_was_painted(qtbot, window) -> None:
    mouse_stroke(qtbot, window, [(10, 30), (70, 30)])
    window.canvas.repaint()
    shot = window.canvas.grab().toImage()
    dpr = shot.devicePixelRatio()
    centre = view_point(window, 40, 30)
    colour = shot.pixelColor(int(centre.x() * dpr), int(centre.y() * dpr))
    assert (colour.red(), colour.green(), colour.blue()) == (200, 0, 0)
    white = view_point(window, 40, 50)
    colour = shot.pixelColor(int(white.x() * dpr), int(white.y() * dpr))
    assert (colour.red(), colour.green(), colour.blue()) == (255, 255, 255)


def _painted_rows(rgba: np.ndarray, column: int) -> int:
    return int((rgba[:, column, 3] > 0).sum())


def test_pen_pressure_changes_stroke_width(window) -> None:
    layer = paint_layer(window)
    pts = [(5 + i * 3, 30, 0.1 + 0.9 * i / 22) for i in range(23)]  # light → heavy
    pen_stroke(window, pts)
    rgba = layer.rgba()
    thin, thick = _painted_rows(rgba, 10), _painted_rows(rgba, 66)
    assert 0 < thin < thick, (thin, thick)
    assert window.document.undo_stack.count() == 1


def test_pen_pressure_changes_opacity(window) -> None:
    window.tools.update_brush(pressure_size=False, pressure_opacity=True, size=10)
    layer = paint_layer(window)
    pts = [(5 + i * 3, 30, 0.15 + 0.85 * i / 22) for i in range(23)]
    pen_stroke(window, pts)
    alpha = layer.rgba()[30, :, 3].astype(int)
    assert 0 < alpha[10] < alpha[66], (alpha[10], alpha[66])
    assert alpha[66] > 200


def test_pen_eraser_end_erases_and_undoes(qtbot, window) -> None:
    layer = paint_layer(window)
    mouse_stroke(qtbot, window, [(10, 30), (70, 30)])
    painted = layer.rgba().copy()
    assert window.tools.tool is Tool.BRUSH
    pen_stroke(window, [(40, 30, 1.0), (44, 30, 1.0)], eraser=True)
    assert layer.rgba()[30, 42, 3] == 0, "the eraser end removes paint"
    assert window.tools.tool is Tool.BRUSH, "flipping the pen does not change the tool"
    window.document.undo_stack.undo()
    assert np.array_equal(layer.rgba(), painted)


def test_mask_brush_paints_mask_layer_and_overlay(qtbot, window) -> None:
    qtbot.keyClick(window.canvas, Qt.Key.Key_M)
    assert window.tools.tool is Tool.MASK
    paint = paint_layer(window)
    mouse_stroke(qtbot, window, [(20, 20), (40, 20)])
    mask = window.document.mask_layer
    assert mask is not None
    assert mask.rgba()[20, 30, 3] == 255
    assert window.document.active_layer is paint, "the paint layer stays selected"
    assert not paint.rgba()[..., 3].any(), "the mask brush does not paint colour"
    window.canvas.repaint()
    shot = window.canvas.grab().toImage()
    dpr = shot.devicePixelRatio()
    p = view_point(window, 30, 20)
    tinted = shot.pixelColor(int(p.x() * dpr), int(p.y() * dpr))
    assert tinted.red() > tinted.green() + 40, "the mask shows as a red tint"


def test_picker_takes_colour_from_canvas(qtbot, window) -> None:
    mouse_stroke(qtbot, window, [(10, 30), (70, 30)])
    window.tools.set_foreground(QColor(0, 0, 255))
    qtbot.keyClick(window.canvas, Qt.Key.Key_I)
    assert window.tools.tool is Tool.PICKER
    qtbot.mouseClick(window.canvas, Qt.MouseButton.LeftButton, pos=view_point(window, 40, 30))
    assert window.tools.foreground == QColor(200, 0, 0)
    assert window.document.undo_stack.count() == 1, "picking is not an edit"


def test_stroke_on_hidden_layer_is_refused_with_message(qtbot, window) -> None:
    layer = paint_layer(window)
    window.document.set_layer_visible(layer, False)
    before = layer.rgba().copy()
    count = window.document.undo_stack.count()
    with qtbot.waitSignal(window.canvas.stroke_failed, timeout=1000) as blocker:
        mouse_stroke(qtbot, window, [(10, 30), (70, 30)])
    assert "hidden" in blocker.args[0]
    assert np.array_equal(layer.rgba(), before)
    assert window.document.undo_stack.count() == count


def test_wheel_zoom_keeps_point_under_cursor(window) -> None:
    canvas = window.canvas
    anchor = QPointF(123.0, 97.0)
    doc_before = canvas.doc_pos(anchor)
    zoom_before = canvas.zoom
    for delta in (120, 120, -360, 240):
        event = QWheelEvent(anchor, QPointF(canvas.mapToGlobal(anchor.toPoint())), QPoint(),
                            QPoint(0, delta), Qt.MouseButton.NoButton,
                            Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
        QApplication.sendEvent(canvas, event)
        after = canvas.doc_pos(anchor)
        assert after.x() == pytest.approx(doc_before.x(), abs=1e-6)
        assert after.y() == pytest.approx(doc_before.y(), abs=1e-6)
    assert canvas.zoom == pytest.approx(zoom_before * 2 ** 0.25)


def test_fit_and_actual_pixels_shortcuts(qtbot, window) -> None:
    canvas = window.canvas
    qtbot.keyClick(canvas, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert canvas.zoom == pytest.approx(1.0)
    qtbot.keyClick(canvas, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    top_left = canvas.transform.to_view(QPointF(0, 0))
    bottom_right = canvas.transform.to_view(QPointF(W, H))
    # the whole document is visible, centred, and fills one dimension (minus the margin)
    assert top_left.x() >= 0 and top_left.y() >= 0
    assert bottom_right.x() <= canvas.width() and bottom_right.y() <= canvas.height()
    assert (top_left.x() + bottom_right.x()) / 2 == pytest.approx(canvas.width() / 2, abs=1)
    gaps = (canvas.width() - (bottom_right.x() - top_left.x()),
            canvas.height() - (bottom_right.y() - top_left.y()))
    assert min(gaps) == pytest.approx(32, abs=1), "fills one side up to the 16 px margins"
    assert window.zoom_label.text() == f"{canvas.zoom * 100:.4g}%"


def test_middle_button_and_space_drag_pan(qtbot, window) -> None:
    canvas = window.canvas
    origin = QPointF(canvas.transform.origin)
    start, end = QPoint(200, 200), QPoint(260, 230)
    qtbot.mousePress(canvas, Qt.MouseButton.MiddleButton, pos=start)
    qtbot.mouseMove(canvas, end)
    qtbot.mouseRelease(canvas, Qt.MouseButton.MiddleButton, pos=end)
    moved = canvas.transform.origin - origin
    assert (moved.x(), moved.y()) == pytest.approx((60, 30))
    assert window.document.undo_stack.count() == 0, "panning never paints"

    qtbot.keyPress(canvas, Qt.Key.Key_Space)
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=end)
    qtbot.mouseMove(canvas, QPoint(250, 250))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(250, 250))
    qtbot.keyRelease(canvas, Qt.Key.Key_Space)
    moved = canvas.transform.origin - origin
    assert (moved.x(), moved.y()) == pytest.approx((50, 50))
    assert window.document.undo_stack.count() == 0


def test_only_changed_region_is_repainted(qtbot, window, monkeypatch) -> None:
    canvas = window.canvas
    canvas.repaint()
    rects = []
    original = type(window.document).composite

    def spy(doc, rect=None):
        rects.append(rect)
        return original(doc, rect)

    monkeypatch.setattr(type(window.document), "composite", spy)
    mouse_stroke(qtbot, window, [(10, 10), (14, 10)])
    canvas.repaint()
    assert rects, "the stroke reached the display"
    area = sum(r.width() * r.height() for r in rects)
    assert area < W * H / 4, "only the dabs' rectangles are recomposited"


def test_brush_size_keys_and_outline(qtbot, window) -> None:
    size = window.tools.brush.size
    qtbot.keyClick(window.canvas, Qt.Key.Key_BracketRight)
    assert window.tools.brush.size > size
    qtbot.keyClick(window.canvas, Qt.Key.Key_BracketLeft)
    qtbot.keyClick(window.canvas, Qt.Key.Key_BracketLeft)
    assert window.tools.brush.size < size
    assert window.tool_options_panel.size.value() == round(window.tools.brush.size)
    # the outline is the brush diameter at the current zoom
    window.tools.update_brush(size=10)
    qtbot.mouseMove(window.canvas, QPoint(300, 300))
    rect = window.canvas._outline_rect(QPointF(300, 300))
    assert rect.width() == pytest.approx(10 * window.canvas.transform.scale + 6, abs=2)


def test_undo_during_a_stroke_finishes_it_first(qtbot, window) -> None:
    layer = paint_layer(window)
    before = layer.rgba().copy()
    canvas = window.canvas
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=view_point(window, 10, 30))
    qtbot.mouseMove(canvas, view_point(window, 40, 30))
    assert canvas.stroking
    assert window.document.undo_stack.count() == 0, "nothing committed yet"
    assert window.act_undo.isEnabled(), "but undo can take back the stroke being drawn"
    qtbot.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert not canvas.stroking
    assert np.array_equal(layer.rgba(), before), "the half stroke was committed, then undone"
    qtbot.mouseMove(canvas, view_point(window, 60, 30))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=view_point(window, 60, 30))
    assert np.array_equal(layer.rgba(), before), "the rest of the drag does not paint"
    assert window.document.undo_stack.count() == 1
    assert window.act_redo.isEnabled()
    assert window.act_redo.text() == "&Redo Brush stroke"


HIDPI_SCRIPT = """
import sys
from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication
app = QApplication([])
from rfedit_desktop.document import Document
from rfedit_desktop.document.image_io import array_to_qimage
import numpy as np
from rfedit_desktop.ui.main_window import MainWindow
stripes = np.zeros((30, 40, 4), np.uint8)
stripes[..., 3] = 255
stripes[:, 1::2, :3] = 255  # one-pixel black and white columns
doc = Document(40, 30)
doc.add_layer("stripes", image=array_to_qimage(stripes), undoable=False)
w = MainWindow(restore_state=False, ai=False)
w.set_document(doc)
w.resize(900, 700)
w.show()
app.processEvents()
c = w.canvas
c.actual_pixels()
c.repaint()
img = c.grab().toImage()
dpr = img.devicePixelRatio()
p = c.transform.to_view(QPointF(10.5, 15.5))
x, y = int(p.x() * dpr), int(p.y() * dpr)
print(dpr, c.zoom, [img.pixelColor(x + i, y).red() for i in range(4)])
w.discard_changes_and_close()
"""


def test_high_dpi_100_percent_is_one_document_pixel_per_device_pixel() -> None:
    import os
    import subprocess
    import sys

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QT_SCALE_FACTOR="2")
    out = subprocess.run([sys.executable, "-c", HIDPI_SCRIPT], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    dpr, zoom, reds = out.stdout.strip().splitlines()[-1].split(" ", 2)
    assert float(dpr) == 2.0 and float(zoom) == 1.0
    assert reds == "[0, 255, 0, 255]", "adjacent device pixels show adjacent document pixels"


def test_first_mask_stroke_is_one_history_entry(qtbot, window) -> None:
    """Adding the mask layer, showing it and the stroke are one undo step, not three."""
    doc = window.document
    qtbot.keyClick(window.canvas, Qt.Key.Key_M)
    before = doc.undo_stack.count()
    layers_before = [la.id for la in doc.layers]
    mouse_stroke(qtbot, window, [(20, 20), (40, 20)])
    assert doc.mask_layer is not None
    assert doc.undo_stack.count() == before + 1
    doc.undo_stack.undo()
    assert doc.mask_layer is None and [la.id for la in doc.layers] == layers_before
    doc.undo_stack.redo()
    mask = doc.mask_layer
    assert mask is not None and mask.visible and mask.rgba()[20, 30, 3] == 255
    # a hidden mask is shown by the next stroke, again in that stroke's one entry
    doc.set_layer_visible(mask, False)
    count = doc.undo_stack.count()
    mouse_stroke(qtbot, window, [(20, 40), (40, 40)])
    assert mask.visible and doc.undo_stack.count() == count + 1
    doc.undo_stack.undo()
    assert not mask.visible and mask.rgba()[40, 30, 3] == 0
