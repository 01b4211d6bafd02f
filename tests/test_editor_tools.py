"""The photo-editor tools in the real window: selections, clipboard, move/transform, crop,
canvas and image size, fill, with real mouse and key events on the canvas."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage
from PySide6.QtWidgets import QApplication, QMessageBox

from rfedit_desktop.document import Document, array_to_qimage, load_ora
from rfedit_desktop.document.errors import DocumentError
from rfedit_desktop.ui.image_dialogs import CanvasSizeDialog, ImageSizeDialog
from rfedit_desktop.ui.main_window import MainWindow
from rfedit_desktop.ui.tool_state import Tool

W, H = 80, 60
CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier
ALT = Qt.KeyboardModifier.AltModifier


@pytest.fixture(autouse=True)
def own_folders(tmp_path, monkeypatch):
    monkeypatch.setenv("RFEDIT_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("RFEDIT_DATA_DIR", str(tmp_path / "data"))


@pytest.fixture
def messages(monkeypatch) -> list[tuple[str, str]]:
    """Every message box shown, instead of a modal box that would wait forever."""
    shown: list[tuple[str, str]] = []

    def box(parent, title, text, *args, **kwargs):
        shown.append((title, text))
        return QMessageBox.StandardButton.Ok

    for name in ("critical", "warning", "information"):
        monkeypatch.setattr(QMessageBox, name, box)
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Discard)
    return shown


def noise_rgba(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rgba = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    return rgba


@pytest.fixture
def window(qtbot, messages):
    win = MainWindow(restore_state=False, ai=False)
    qtbot.addWidget(win, before_close_func=lambda w: w.discard_changes_and_close())
    win.resize(900, 640)
    doc = Document.new(W, H)
    doc.add_layer("Photo", image=array_to_qimage(noise_rgba(H, W)), undoable=False)
    doc.undo_stack.setClean()
    win.set_document(doc)
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is win, timeout=2000)
    canvas = win.canvas
    canvas.setFocus()
    canvas.transform.zoom = 4.0 * canvas.transform.dpr
    canvas.transform.origin = QPointF(20, 20)  # document pixel x lands on view 20 + 4x
    canvas.update()
    return win


def vp(win, x: float, y: float) -> QPoint:
    return win.canvas.transform.to_view(QPointF(x, y)).toPoint()


def drag(qtbot, win, start, end, modifiers=Qt.KeyboardModifier.NoModifier, steps: int = 4):
    canvas = win.canvas
    a, b = vp(win, *start), vp(win, *end)
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, modifiers, a)
    for i in range(1, steps + 1):
        p = a + (b - a) * (i / steps)
        qtbot.mouseMove(canvas, p)
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, modifiers, b)


def key(qtbot, win, k, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    qtbot.keyClick(win.canvas, k, modifiers)


def rgba(layer) -> np.ndarray:
    return layer.rgba(straight=False)


# ------------------------------------------------------------------ selection and clipboard
def test_select_copy_paste_makes_a_layer_with_those_pixels_in_place(qtbot, window) -> None:
    doc = window.document
    photo = doc.active_layer
    key(qtbot, window, Qt.Key.Key_R, CTRL)
    assert window.tools.tool is Tool.SELECT_RECT
    drag(qtbot, window, (10, 12), (30, 40))
    sel = doc.selection.value
    assert sel is not None and sel.rect == QRect(10, 12, 20, 28)
    assert (sel.cov == 255).all(), "a whole-pixel rectangle has hard edges"
    key(qtbot, window, Qt.Key.Key_C, CTRL)
    clip = QGuiApplication.clipboard().image()
    assert clip.size().width() == 20 and clip.size().height() == 28
    key(qtbot, window, Qt.Key.Key_V, CTRL)
    pasted = doc.active_layer
    assert pasted is not photo and len(doc.layers) == 3
    assert pasted.bounds() == QRect(10, 12, 20, 28)
    assert np.array_equal(rgba(pasted), rgba(photo)[12:40, 10:30])
    window.undo()
    assert len(doc.layers) == 2


def test_cut_leaves_transparency_and_undo_brings_the_pixels_back(qtbot, window) -> None:
    doc = window.document
    photo = doc.active_layer
    before = rgba(photo).copy()
    key(qtbot, window, Qt.Key.Key_J)
    assert window.tools.tool is Tool.SELECT_ELLIPSE
    drag(qtbot, window, (20, 10), (60, 50))
    cov = doc.selection.coverage()
    key(qtbot, window, Qt.Key.Key_X, CTRL)
    after = rgba(photo)
    assert (after[cov == 255][:, 3] == 0).all(), "fully selected pixels are gone"
    assert np.array_equal(after[cov == 0], before[cov == 0]), "the rest is untouched"
    soft = (cov > 0) & (cov < 255)
    assert soft.any() and (after[soft][:, 3] < 255).all(), "the ellipse has soft edges"
    assert QGuiApplication.clipboard().image().width() == 40
    window.undo()
    assert np.array_equal(rgba(photo), before)


def test_shift_adds_and_alt_subtracts(qtbot, window) -> None:
    doc = window.document
    window.tools.set_tool(Tool.SELECT_RECT)
    drag(qtbot, window, (0, 0), (20, 20))
    drag(qtbot, window, (40, 0), (60, 20), SHIFT)
    cov = doc.selection.coverage()
    assert cov[5, 5] == 255 and cov[5, 45] == 255 and cov[5, 30] == 0
    drag(qtbot, window, (10, 0), (50, 20), ALT)
    cov = doc.selection.coverage()
    assert cov[5, 5] == 255 and cov[5, 15] == 0 and cov[5, 45] == 0 and cov[5, 55] == 255
    count = doc.undo_stack.count()
    key(qtbot, window, Qt.Key.Key_I, CTRL | SHIFT)
    assert doc.selection.coverage()[5, 15] == 255 and doc.selection.coverage()[5, 5] == 0
    key(qtbot, window, Qt.Key.Key_A, CTRL | SHIFT)
    assert doc.selection.value is None
    key(qtbot, window, Qt.Key.Key_A, CTRL)
    assert (doc.selection.coverage() == 255).all()
    assert doc.undo_stack.count() == count + 3, "each selection change is one undo step"
    window.undo()
    window.undo()
    assert doc.selection.coverage()[5, 15] == 255


def test_lasso_and_polygon_select_their_shapes(qtbot, window) -> None:
    doc = window.document
    window.tools.set_tool(Tool.LASSO)
    drag(qtbot, window, (10, 10), (50, 10), steps=4)
    assert doc.selection.value is None, "a lasso along a line encloses nothing"
    canvas = window.canvas
    pts = [(10, 10), (50, 10), (50, 40), (10, 40)]
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=vp(window, *pts[0]))
    for p in pts[1:]:
        qtbot.mouseMove(canvas, vp(window, *p))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=vp(window, *pts[-1]))
    cov = doc.selection.coverage()
    assert cov[25, 30] == 255 and cov[5, 30] == 0 and cov[25, 60] == 0

    key(qtbot, window, Qt.Key.Key_A, CTRL | SHIFT)
    window.tools.set_tool(Tool.POLYGON)
    for p in [(5, 5), (45, 5), (5, 45)]:
        qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=vp(window, *p))
    assert doc.selection.value is None, "the polygon is still open"
    key(qtbot, window, Qt.Key.Key_Return)
    cov = doc.selection.coverage()
    assert cov[10, 10] == 255 and cov[40, 40] == 0


def _reference_wand(rgb: np.ndarray, seed, tol: int) -> np.ndarray:
    from scipy import ndimage

    diff = np.abs(rgb.astype(int) - rgb[seed[1], seed[0]].astype(int)).max(axis=2)
    labels, _ = ndimage.label(diff <= tol)  # 4-connectivity
    return labels == labels[seed[1], seed[0]]


def test_magic_wand_on_a_photo_selects_the_flood_filled_region(qtbot, window) -> None:
    from skimage import data

    photo = data.coffee()  # 400 x 600
    h, w = photo.shape[:2]
    rgba_ = np.dstack([photo, np.full((h, w), 255, np.uint8)])
    doc = Document.new(w, h)
    doc.add_layer("Coffee", image=array_to_qimage(rgba_), undoable=False)
    window.set_document(doc)
    canvas = window.canvas
    canvas.transform.zoom = 1.0 * canvas.transform.dpr
    canvas.transform.origin = QPointF(0, 0)
    window.tools.set_tool(Tool.MAGIC_WAND)
    window.editor.tolerance.spin.setValue(24)
    seed = (450, 300)  # a smooth area right of the cup
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=vp(window, *seed))
    got = doc.selection.coverage() == 255
    want = _reference_wand(photo, seed, 24)
    assert 2000 < want.sum() < h * w / 2
    assert np.array_equal(got, want)
    # on the merged image with a smaller tolerance: a strictly smaller region
    window.editor.merged.setChecked(True)
    window.editor.tolerance.spin.setValue(8)
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=vp(window, *seed))
    small = doc.selection.coverage() == 255
    assert np.array_equal(small, _reference_wand(photo, seed, 8)) and small.sum() < got.sum()


def test_flood_matches_a_reference_labelling_on_random_masks() -> None:
    from scipy import ndimage

    from rfedit_desktop.document import flood

    rng = np.random.default_rng(3)
    for density in (0.45, 0.6, 0.8):
        mask = rng.random((120, 170)) < density
        labels, n = ndimage.label(mask)
        sizes = np.bincount(labels.ravel())[1:]
        biggest = int(np.argmax(sizes)) + 1
        ys, xs = np.nonzero(labels == biggest)
        seed = (int(xs[0]), int(ys[0]))
        assert np.array_equal(flood.connected(mask, seed), labels == biggest)
        assert not flood.connected(mask, (0, 0)).any() or mask[0, 0]


def test_paste_from_another_program_is_centred_and_a_huge_image_is_refused(
        qtbot, window, messages) -> None:
    doc = window.document
    small = QImage(10, 6, QImage.Format.Format_ARGB32)
    small.fill(QColor(0, 200, 0))
    QGuiApplication.clipboard().setImage(small)
    key(qtbot, window, Qt.Key.Key_V, CTRL)
    assert doc.active_layer.bounds() == QRect((W - 10) // 2, (H - 6) // 2, 10, 6)
    assert tuple(doc.active_layer.rgba()[0, 0]) == (0, 200, 0, 255)

    count, layers = doc.undo_stack.count(), len(doc.layers)
    huge = QImage(32_001, 1, QImage.Format.Format_ARGB32)  # wider than any document
    huge.fill(QColor(1, 2, 3))
    QGuiApplication.clipboard().setImage(huge)
    key(qtbot, window, Qt.Key.Key_V, CTRL)
    assert messages and "32001x1" in messages[-1][1]
    assert doc.undo_stack.count() == count and len(doc.layers) == layers


def test_zero_size_selection_is_refused_and_a_click_deselects(qtbot, window) -> None:
    doc = window.document
    with pytest.raises(DocumentError, match="empty"):
        doc.selection.select_rect(QRectF(5, 5, 0, 10))
    assert doc.selection.value is None and doc.undo_stack.count() == 0
    window.tools.set_tool(Tool.SELECT_RECT)
    qtbot.mouseClick(window.canvas, Qt.MouseButton.LeftButton, pos=vp(window, 30, 30))
    assert doc.selection.value is None and doc.undo_stack.count() == 0
    drag(qtbot, window, (10, 10), (20, 20))
    qtbot.mouseClick(window.canvas, Qt.MouseButton.LeftButton, pos=vp(window, 30, 30))
    assert doc.selection.value is None, "a click without a drag deselects, as in Krita"
    window.undo()
    assert doc.selection.value is not None


def test_feather_grow_shrink(window) -> None:
    doc = window.document
    doc.selection.select_rect(QRectF(30, 20, 20, 20))
    doc.selection.grow(5)
    grown = doc.selection.coverage()
    assert grown[20, 25] == 255 and grown[20, 24] == 0, "grown 5 px to the left"
    assert grown[15, 25] < 255 or grown[16, 26] == 255  # a rounded corner, not a square one
    assert grown[15, 25] == 0
    doc.selection.shrink(5)
    assert np.array_equal(doc.selection.coverage() == 255,
                          _rect_mask(QRect(30, 20, 20, 20)))
    doc.selection.feather(6)
    soft = doc.selection.coverage()
    assert 0 < soft[30, 30] < 255 and soft[30, 40] == 255 and soft[30, 26] > 0
    with pytest.raises(DocumentError):
        doc.selection.grow(0)


def _rect_mask(r: QRect) -> np.ndarray:
    m = np.zeros((H, W), bool)
    m[r.top() : r.bottom() + 1, r.left() : r.right() + 1] = True
    return m


def test_selection_and_mask_convert_both_ways(window) -> None:
    doc = window.document
    doc.selection.select_ellipse(QRectF(10, 10, 30, 20))
    cov = doc.selection.coverage()
    window.editor.act_to_mask.trigger()
    mask = doc.mask_array()
    assert mask is not None and np.array_equal(np.rint(mask * 255).astype(np.uint8), cov)
    assert doc.undo_stack.undoText() == "Selection to mask"
    doc.selection.deselect()
    window.editor.act_from_mask.trigger()
    assert np.array_equal(doc.selection.coverage(), cov)
    assert np.array_equal(doc.selection.edit_mask(), cov.astype(np.float32) / 255)


# ------------------------------------------------------------------ fill and delete
def test_fill_selection_with_foreground_and_background_and_delete(qtbot, window) -> None:
    doc = window.document
    photo = doc.active_layer
    before = rgba(photo).copy()
    window.tools.set_foreground(QColor(255, 0, 0))
    window.tools.set_background(QColor(0, 0, 255))
    doc.selection.select_rect(QRectF(10, 10, 10, 10))
    key(qtbot, window, Qt.Key.Key_Backspace, SHIFT)
    assert (rgba(photo)[10:20, 10:20] == (255, 0, 0, 255)).all()
    key(qtbot, window, Qt.Key.Key_Backspace)
    assert (rgba(photo)[10:20, 10:20] == (0, 0, 255, 255)).all()
    key(qtbot, window, Qt.Key.Key_Delete)
    after = rgba(photo)
    assert (after[10:20, 10:20, 3] == 0).all()
    outside = ~_rect_mask(QRect(10, 10, 10, 10))
    assert np.array_equal(after[outside], before[outside])
    for _ in range(3):
        window.undo()
    assert np.array_equal(rgba(photo), before)
    cmd = doc.undo_stack.command(1)
    assert cmd.nbytes() == 64 * H * 4, "the fill stored only the one tile it touched"


def test_fill_tool_contiguous_and_global(qtbot, window) -> None:
    doc = Document.new(W, H)
    img = np.full((H, W, 4), 255, np.uint8)
    img[:, 38:42, :3] = 0  # a black bar splits the white picture in two
    doc.add_layer("Bars", image=array_to_qimage(img), undoable=False)
    window.set_document(doc)
    window.canvas.transform.zoom = 4.0 * window.canvas.transform.dpr
    window.canvas.transform.origin = QPointF(20, 20)
    key(qtbot, window, Qt.Key.Key_F)
    assert window.tools.tool is Tool.FILL
    window.tools.set_foreground(QColor(0, 255, 0))
    qtbot.mouseClick(window.canvas, Qt.MouseButton.LeftButton, pos=vp(window, 5, 5))
    out = rgba(doc.active_layer)
    assert (out[:, :38] == (0, 255, 0, 255)).all() and (out[:, 42:] == 255).all()
    window.undo()
    window.editor.contiguous.setChecked(False)
    qtbot.mouseClick(window.canvas, Qt.MouseButton.LeftButton, pos=vp(window, 5, 5))
    out = rgba(doc.active_layer)
    assert (out[:, 42:] == (0, 255, 0, 255)).all() and (out[:, 38:42, :3] == 0).all()


# ------------------------------------------------------------------ move and transform
def _patch_document(window) -> tuple[Document, object]:
    doc = Document.new(W, H)
    patch = doc.add_layer("Patch", image=array_to_qimage(noise_rgba(16, 20, 5)), x=10, y=10,
                          undoable=False)
    doc.undo_stack.setClean()
    window.set_document(doc)
    window.canvas.transform.zoom = 4.0 * window.canvas.transform.dpr
    window.canvas.transform.origin = QPointF(20, 20)
    return doc, patch


def test_transform_by_two_then_undo_is_pixel_exact(qtbot, window) -> None:
    doc, patch = _patch_document(window)
    before = rgba(patch).copy()
    key(qtbot, window, Qt.Key.Key_T, CTRL)
    assert window.tools.tool is Tool.TRANSFORM and window.editor.transform_tool.active
    drag(qtbot, window, (30, 26), (50, 42))  # bottom-right handle: twice the size
    key(qtbot, window, Qt.Key.Key_Return)
    assert not window.editor.transform_tool.active
    assert patch.bounds() == QRect(10, 10, 40, 32)
    scaled = rgba(patch)
    # every source pixel's centre lands on a 2x2 block whose mean is close to it
    assert np.abs(scaled[1::2, 1::2].astype(int) - before.astype(int)).mean() < 40
    assert doc.undo_stack.undoText() == "Transform"
    window.undo()
    assert patch.bounds() == QRect(10, 10, 20, 16)
    assert np.array_equal(rgba(patch), before)


def test_transform_escape_cancels_and_rotation_flips(qtbot, window) -> None:
    doc, patch = _patch_document(window)
    before = rgba(patch).copy()
    key(qtbot, window, Qt.Key.Key_T, CTRL)
    drag(qtbot, window, (20, 18), (40, 30))  # inside: a move
    key(qtbot, window, Qt.Key.Key_Escape)
    assert patch.bounds() == QRect(10, 10, 20, 16) and np.array_equal(rgba(patch), before)
    assert doc.undo_stack.count() == 0
    window.editor.act_flip_transform_h.trigger()
    key(qtbot, window, Qt.Key.Key_Return)
    assert np.array_equal(rgba(patch), before[:, ::-1]), "a flip is exact"


def test_move_tool_drags_the_layer_and_arrows_nudge_the_selection(qtbot, window) -> None:
    doc, patch = _patch_document(window)
    before = rgba(patch).copy()
    key(qtbot, window, Qt.Key.Key_T)
    assert window.tools.tool is Tool.MOVE
    drag(qtbot, window, (15, 15), (25, 20))
    assert (patch.x, patch.y) == (20, 15) and np.array_equal(rgba(patch), before)
    key(qtbot, window, Qt.Key.Key_Right)
    key(qtbot, window, Qt.Key.Key_Down, SHIFT)
    assert (patch.x, patch.y) == (21, 25)
    doc.selection.select_rect(QRectF(21, 25, 5, 5))
    key(qtbot, window, Qt.Key.Key_Left)
    moved = doc.layer_array(patch, straight=False)
    assert np.array_equal(moved[25:30, 20:25], before[:5, :5])
    assert moved[25:30, 25, 3].max() == 0, "the pixels left behind are transparent"
    assert doc.selection.value.rect == QRect(20, 25, 5, 5), "the selection moved too"


# ------------------------------------------------------------------ crop, canvas, image size
def test_crop_tool_and_ora_round_trip(qtbot, window, tmp_path) -> None:
    doc = window.document
    photo = doc.active_layer
    before = rgba(photo).copy()
    key(qtbot, window, Qt.Key.Key_C)
    assert window.tools.tool is Tool.CROP
    drag(qtbot, window, (10, 5), (40, 35))
    drag(qtbot, window, (40, 20), (50, 20))  # the right edge's handle: 10 px wider
    drag(qtbot, window, (25, 20), (26, 20))  # inside: moved by one pixel...
    drag(qtbot, window, (26, 20), (25, 20))  # ...and back
    assert window.editor.crop_tool.rect == QRect(10, 5, 40, 30)
    key(qtbot, window, Qt.Key.Key_Return)
    assert (doc.width, doc.height) == (40, 30)
    assert np.array_equal(rgba(photo), before[5:35, 10:50])
    path = tmp_path / "cropped.ora"
    doc.save(path)
    loaded = load_ora(path)
    assert (loaded.width, loaded.height) == (40, 30)
    assert np.array_equal(loaded.layers[1].rgba(straight=False), before[5:35, 10:50])
    window.undo()
    assert (doc.width, doc.height) == (W, H) and np.array_equal(rgba(photo), before)


def test_canvas_size_with_anchor_and_ora(qtbot, window, tmp_path, monkeypatch) -> None:
    doc = window.document
    photo = doc.active_layer
    before = rgba(photo).copy()
    monkeypatch.setattr(CanvasSizeDialog, "exec", lambda self: True)
    monkeypatch.setattr(CanvasSizeDialog, "values", lambda self: (100, 70, "bottom-right"))
    key(qtbot, window, Qt.Key.Key_C, CTRL | ALT)
    assert (doc.width, doc.height) == (100, 70)
    assert (photo.x, photo.y) == (20, 10) and np.array_equal(rgba(photo), before)
    assert window.size_label.text() == "100 × 70 px"
    doc.save(tmp_path / "canvas.ora")
    loaded = load_ora(tmp_path / "canvas.ora")
    assert (loaded.width, loaded.height) == (100, 70)
    assert (loaded.layers[1].x, loaded.layers[1].y) == (20, 10)
    monkeypatch.setattr(CanvasSizeDialog, "values", lambda self: (50, 40, "top-left"))
    key(qtbot, window, Qt.Key.Key_C, CTRL | ALT)
    assert (doc.width, doc.height) == (50, 40)
    assert np.array_equal(doc.layer_array(photo, straight=False)[10:, 20:], before[:30, :30])
    window.undo()
    window.undo()
    assert (doc.width, doc.height) == (W, H) and (photo.x, photo.y) == (0, 0)


@pytest.mark.parametrize("size", [(0, 60), (100_000, 60)])
def test_bad_canvas_and_image_sizes_are_refused(qtbot, window, messages, monkeypatch,
                                                size) -> None:
    doc = window.document
    before = rgba(doc.active_layer).copy()
    for dialog in (CanvasSizeDialog, ImageSizeDialog):
        monkeypatch.setattr(dialog, "exec", lambda self: True)
    monkeypatch.setattr(CanvasSizeDialog, "values", lambda self: (*size, "center"))
    monkeypatch.setattr(ImageSizeDialog, "values", lambda self: (*size, "smooth"))
    key(qtbot, window, Qt.Key.Key_C, CTRL | ALT)
    key(qtbot, window, Qt.Key.Key_I, CTRL | ALT)
    assert len(messages) == 2 and all(str(size[0]) in text for _, text in messages)
    assert (doc.width, doc.height) == (W, H) and doc.undo_stack.count() == 0
    assert np.array_equal(rgba(doc.active_layer), before)


def test_crop_to_nothing_is_refused(window, messages) -> None:
    from rfedit_desktop.document import image_ops

    doc = window.document
    with pytest.raises(DocumentError, match="nothing to crop"):
        image_ops.crop(doc, QRect(200, 200, 10, 10))
    window.editor.act_crop_selection.trigger()  # no selection
    assert messages and "Select something" in messages[-1][1]
    assert (doc.width, doc.height) == (W, H) and doc.undo_stack.count() == 0


def test_image_size_rotate_and_flip_undo_exactly(window) -> None:
    from rfedit_desktop.document import image_ops

    doc = window.document
    photo = doc.active_layer
    before = rgba(photo).copy()
    doc.selection.select_rect(QRectF(0, 0, 10, 5))
    image_ops.rotate(doc, "cw")
    assert (doc.width, doc.height) == (H, W)
    assert np.array_equal(rgba(photo), np.rot90(before, -1))
    assert doc.selection.value.rect == QRect(H - 5, 0, 5, 10)
    image_ops.rotate(doc, "flip-h")
    image_ops.rotate(doc, "180")
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert (doc.width, doc.height) == (W, H) and np.array_equal(rgba(photo), before)
    image_ops.resize_image(doc, 160, 120, "lanczos")
    assert photo.bounds() == QRect(0, 0, 160, 120)
    assert doc.selection.value.rect == QRect(0, 0, 20, 10), "the selection scales too"
    px = rgba(photo)
    assert (px[..., :3] <= px[..., 3:4]).all(), "valid premultiplied pixels after Lanczos"
    doc.undo_stack.undo()
    assert np.array_equal(rgba(photo), before)


def test_marching_ants_outline_a_rectangle_with_four_lines(window) -> None:
    from rfedit_desktop.ui.selection_tools import selection_edges

    window.document.selection.select_rect(QRectF(10, 10, 20, 5))
    sel = window.document.selection.value
    lines = selection_edges(sel.cov, sel.x, sel.y)
    assert sorted((ln.x1(), ln.y1(), ln.x2(), ln.y2()) for ln in lines) == [
        (10, 10, 10, 15), (10, 10, 30, 10), (10, 15, 30, 15), (30, 10, 30, 15)]
    assert window.editor.ants.edges and window.editor.ants.timer.isActive()


def test_copy_merged_copies_the_visible_image(qtbot, window) -> None:
    doc = window.document
    top = doc.add_layer("Half", image=array_to_qimage(noise_rgba(H, W, 9)))
    doc.set_layer_opacity(top, 0.5, merge=False)
    doc.selection.select_rect(QRectF(5, 5, 10, 10))
    key(qtbot, window, Qt.Key.Key_C, CTRL | SHIFT)
    copied = QGuiApplication.clipboard().image().convertToFormat(
        QImage.Format.Format_ARGB32_Premultiplied)
    want = doc.composite(QRect(5, 5, 10, 10))
    assert copied.size() == want.size() and copied == want


def test_no_two_actions_share_a_key(window) -> None:
    seen: dict[str, str] = {}
    for action in window.all_actions():
        for seq in action.shortcuts():
            text = seq.toString()
            assert text not in seen, f"{text}: {seen.get(text)} and {action.text()}"
            seen[text] = action.text()
    for text in ("Ctrl+R", "J", "T", "Ctrl+T", "C", "F", "Ctrl+A", "Ctrl+Shift+A",
                 "Ctrl+Shift+I", "Ctrl+C", "Ctrl+X", "Ctrl+Shift+C", "Ctrl+V", "Shift+Backspace",
                 "Backspace", "Del", "Ctrl+Alt+I", "Ctrl+Alt+C", "Ctrl+Alt+O"):
        assert text in seen, text


def test_undo_during_a_transform_puts_the_lifted_pixels_back_first(qtbot, window) -> None:
    doc, patch = _patch_document(window)
    before = rgba(patch).copy()
    doc.set_layer_offset(patch, 12, 10, merge=False)
    key(qtbot, window, Qt.Key.Key_T, CTRL)
    drag(qtbot, window, (20, 18), (40, 30))
    key(qtbot, window, Qt.Key.Key_Z, CTRL)
    assert not window.editor.transform_tool.active
    assert patch.bounds() == QRect(10, 10, 20, 16) and np.array_equal(rgba(patch), before)


def test_flip_keeps_the_transform_in_progress(qtbot, window) -> None:
    doc, patch = _patch_document(window)
    before = rgba(patch).copy()
    key(qtbot, window, Qt.Key.Key_T, CTRL)
    drag(qtbot, window, (30, 26), (50, 42))
    window.editor.act_flip_transform_v.trigger()
    key(qtbot, window, Qt.Key.Key_Return)
    assert patch.bounds() == QRect(10, 10, 40, 32)
    assert np.abs(rgba(patch)[::-1][1::2, 1::2].astype(int) - before.astype(int)).mean() < 40


def test_select_menu_radius_commands_ask_and_refuse_without_a_selection(
        qtbot, window, messages, monkeypatch) -> None:
    from PySide6.QtWidgets import QInputDialog

    monkeypatch.setattr(QInputDialog, "getInt", lambda *a, **k: (3, True))
    doc = window.document
    window.editor.act_grow.trigger()
    assert messages and "Select something" in messages[-1][1] and doc.undo_stack.count() == 0
    doc.selection.select_rect(QRectF(20, 20, 10, 10))
    window.editor.act_grow.trigger()
    assert doc.selection.value.rect == QRect(17, 17, 16, 16)
    assert doc.undo_stack.undoText() == "Grow selection"
    key(qtbot, window, Qt.Key.Key_F6, SHIFT)
    assert doc.undo_stack.undoText() == "Feather selection"


def test_crop_keeps_only_the_cut_away_bands_for_undo(window) -> None:
    from rfedit_desktop.document import image_ops

    doc = window.document
    image_ops.crop(doc, QRect(10, 5, 40, 30))
    command = doc.undo_stack.command(doc.undo_stack.count() - 1)
    for part in command.parts:
        kept = part.layer.width * part.layer.height
        cut = sum(band.width() * band.height() for _, band in part.bands)
        assert (kept, kept + cut) == (40 * 30, W * H), "no second copy of the old layer"
    doc.undo_stack.undo()
    assert all(not part.bands for part in command.parts), "undo hands the bands back"


def test_choosing_another_tool_applies_the_transform(qtbot, window) -> None:
    doc, patch = _patch_document(window)
    key(qtbot, window, Qt.Key.Key_T, CTRL)
    drag(qtbot, window, (30, 26), (50, 42))
    key(qtbot, window, Qt.Key.Key_B)
    assert window.tools.tool is Tool.BRUSH and not window.editor.transform_tool.active
    assert patch.bounds() == QRect(10, 10, 40, 32) and doc.undo_stack.undoText() == "Transform"


def test_quitting_with_our_image_on_the_clipboard_does_not_crash(tmp_path) -> None:
    """PySide6 crashed at exit while the clipboard held a QMimeData made in Python."""
    import os
    import subprocess
    import sys

    code = (
        "from PySide6.QtCore import QPoint\n"
        "from PySide6.QtGui import QGuiApplication, QImage\n"
        "from PySide6.QtWidgets import QApplication\n"
        "from rfedit_desktop.ui.editor_actions import EditorActions\n"
        "app = QApplication([])\n"
        "img = QImage(8, 8, QImage.Format.Format_ARGB32_Premultiplied)\n"
        "img.fill(0xff336699)\n"
        "EditorActions._to_clipboard(None, img, QPoint(2, 3))\n"
        "assert QGuiApplication.clipboard().mimeData().hasImage()\n"
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, (out.returncode, out.stderr[-2000:])
