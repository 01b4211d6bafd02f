"""Brush engine: dabs, undo/redo exactness, tile-only undo data, eraser, mask, picker."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor

from rfedit_desktop.document import BrushSettings, Document, DocumentError, Stroke, pick_color
from rfedit_desktop.document.history import STROKE_TILE
from rfedit_desktop.document.image_io import new_image


@pytest.fixture(autouse=True)
def _app(qapp):
    return qapp


def draw(doc, layer, points, **settings):
    s = Stroke(doc, BrushSettings(**settings))
    (x, y, *p) = points[0]
    s.begin(layer, QPointF(x, y), p[0] if p else 1.0)
    for x, y, *p in points[1:]:
        s.move(QPointF(x, y), p[0] if p else 1.0)
    return s.end()


def test_stroke_undo_redo_is_pixel_exact_and_one_command():
    doc = Document.new(200, 150)
    la = doc.add_layer("ink")
    n = doc.undo_stack.count()
    before = la.rgba(straight=False)
    cmd = draw(
        doc,
        la,
        [(10, 10, 0.2), (100, 60, 1.0), (190, 140, 0.5)],
        size=18,
        color=QColor(200, 30, 60),
        opacity=0.7,
        hardness=0.3,
    )
    after = la.rgba(straight=False)
    assert doc.undo_stack.count() == n + 1 and doc.undo_stack.undoText() == "Brush stroke"
    assert not np.array_equal(before, after)
    for _ in range(3):
        doc.undo_stack.undo()
        assert np.array_equal(la.rgba(straight=False), before)
        doc.undo_stack.redo()
        assert np.array_equal(la.rgba(straight=False), after)
    assert cmd.layer is la


def test_stroke_stores_only_touched_tiles():
    doc = Document(1024, 1024)
    la = doc.add_layer("big")
    cmd = draw(doc, la, [(100, 100), (300, 120)], size=10)
    layer_bytes = la.nbytes()
    assert cmd.nbytes() <= 10 * STROKE_TILE * STROKE_TILE * 4
    assert cmd.nbytes() * 50 < layer_bytes
    # the touched tiles are exactly those the stroke's pixels fall in
    changed = np.argwhere(la.rgba(straight=False)[..., 3] > 0)
    tiles = {(x // STROKE_TILE, y // STROKE_TILE) for y, x in changed}
    assert tiles <= set(cmd.tiles.tiles)


def test_dab_profile_hard_centre_and_antialiased_rim():
    doc = Document(64, 64)
    la = doc.add_layer("a")
    draw(doc, la, [(32, 32)], size=20, hardness=1.0, color=QColor(255, 0, 0))
    a = la.rgba()[..., 3]
    assert a[32, 32] == 255 and a[32, 24] == 255  # inside radius 10
    assert a[32, 44] == 0 and a[10, 10] == 0  # outside
    assert 0 < a[32, 41] < 255 and 0 < a[32, 22] < 255  # one anti-aliased rim pixel
    assert ((a > 0) & (a < 255)).sum() < 2 * np.pi * 10 * 2  # only a thin rim is partial
    rgba = la.rgba()
    assert tuple(rgba[32, 32]) == (255, 0, 0, 255)


def test_opacity_caps_the_whole_stroke_even_where_dabs_overlap():
    doc = Document(80, 40)
    la = doc.add_layer("a")
    draw(doc, la, [(10, 20), (70, 20), (10, 20)], size=16, hardness=1.0, opacity=0.5, spacing=0.05)
    a = la.rgba()[..., 3]
    assert a.max() == 128  # 0.5 x 255, however many dabs covered a pixel


def test_low_flow_builds_up_within_a_stroke():
    doc = Document(80, 40)
    la = doc.add_layer("a")
    draw(doc, la, [(40, 20)], size=16, hardness=1.0, flow=0.25)
    one = int(la.rgba()[20, 40, 3])
    doc.undo_stack.undo()
    draw(
        doc,
        la,
        [(40, 20), (40.6, 20), (40, 20), (40.6, 20)],
        size=16,
        hardness=1.0,
        flow=0.25,
        spacing=0.01,
    )
    many = int(la.rgba()[20, 40, 3])
    assert 60 <= one <= 68 and many > one


def test_pressure_changes_size():
    doc = Document(100, 100)
    la = doc.add_layer("a")
    draw(doc, la, [(50, 50, 1.0)], size=40, hardness=1.0, pressure_size=True, min_size=0.1)
    full = int((la.rgba()[..., 3] > 0).sum())
    doc.undo_stack.undo()
    draw(doc, la, [(50, 50, 0.25)], size=40, hardness=1.0, pressure_size=True, min_size=0.1)
    light = int((la.rgba()[..., 3] > 0).sum())
    assert light < full / 4


def test_pressure_to_opacity():
    doc = Document(40, 40)
    la = doc.add_layer("a")
    draw(
        doc, la, [(20, 20, 0.5)], size=10, hardness=1.0, pressure_size=False, pressure_opacity=True
    )
    assert abs(int(la.rgba()[20, 20, 3]) - 128) <= 1


def test_eraser_is_destination_out_and_undoes():
    doc = Document.new(60, 60)
    bg = doc.layers[0]
    draw(doc, bg, [(30, 30)], size=20, hardness=1.0, eraser=True)
    assert bg.rgba()[30, 30, 3] == 0 and bg.rgba()[2, 2, 3] == 255
    assert doc.undo_stack.undoText() == "Eraser stroke"
    doc.undo_stack.undo()
    assert bg.rgba()[30, 30, 3] == 255


def test_alpha_lock_keeps_coverage():
    doc = Document(40, 40)
    la = doc.add_layer("a", image=new_image(20, 40, QColor(0, 0, 255)))
    doc.set_layer_alpha_locked(la, True)
    draw(doc, la, [(5, 20), (35, 20)], size=10, hardness=1.0, color=QColor(255, 0, 0))
    rgba = la.rgba()
    assert tuple(rgba[20, 10]) == (255, 0, 0, 255)
    assert la.width == 20  # painting never grows a layer


def test_stroke_on_offset_layer_uses_document_coordinates():
    doc = Document(100, 100)
    la = doc.add_layer("off", image=new_image(50, 50), x=40, y=40)
    draw(doc, la, [(60, 60)], size=6, hardness=1.0, color=QColor(0, 255, 0))
    assert la.rgba()[20, 20, 3] == 255
    assert doc.composite().pixelColor(60, 60).green() == 255


def test_mask_brush_and_mask_eraser():
    doc = Document.new(50, 50)
    mask = doc.add_mask_layer()
    composite_before = doc.composite().copy()
    draw(doc, mask, [(10, 25), (40, 25)], size=10, hardness=1.0, color=QColor(0, 0, 0))
    assert doc.undo_stack.undoText() == "Mask brush"
    m = doc.mask_array()
    assert m[25, 25] == 1.0 and m[0, 0] == 0.0
    assert doc.composite() == composite_before  # the mask never shows in the picture
    draw(doc, mask, [(25, 25)], size=6, hardness=1.0, eraser=True)
    assert doc.undo_stack.undoText() == "Mask eraser"
    assert doc.mask_array()[25, 25] == 0.0


def test_cancel_restores_and_pushes_nothing():
    doc = Document.new(40, 40)
    bg = doc.layers[0]
    before = bg.rgba(straight=False)
    n = doc.undo_stack.count()
    s = Stroke(doc, BrushSettings(size=10, color=QColor(0, 0, 0)))
    s.begin(bg, QPointF(5, 5))
    s.move(QPointF(35, 35))
    assert not np.array_equal(bg.rgba(straight=False), before)
    s.cancel()
    assert np.array_equal(bg.rgba(straight=False), before) and doc.undo_stack.count() == n


def test_stroke_outside_layer_pushes_nothing_and_misuse_errors():
    doc = Document.new(40, 40)
    assert draw(doc, doc.layers[0], [(-50, -50), (-60, -40)], size=5) is None
    s = Stroke(doc, BrushSettings())
    with pytest.raises(DocumentError):
        s.move(QPointF(1, 1))


def test_spacing_places_dabs_evenly():
    doc = Document(400, 40)
    la = doc.add_layer("a")
    s = Stroke(doc, BrushSettings(size=20, spacing=0.25, pressure_size=False))
    s.begin(la, QPointF(10, 20))
    for x in range(11, 311):  # many small mouse moves
        s.move(QPointF(x, 20))
    s.end()
    assert abs(s.dab_count - (1 + 300 / 5)) <= 2


def test_region_changed_emitted_per_move():
    doc = Document.new(100, 100)
    rects = []
    doc.region_changed.connect(rects.append)
    s = Stroke(doc, BrushSettings(size=10))
    dirty = s.begin(doc.layers[0], QPointF(50, 50))
    assert rects[-1] == dirty and dirty.contains(50, 50)
    dirty = s.move(QPointF(60, 50))
    assert rects[-1] == dirty and dirty.contains(60, 50)
    s.end()


def test_pick_color_composite_and_layer():
    doc = Document.new(20, 20, background=QColor(10, 20, 30))
    la = doc.add_layer("half", image=new_image(20, 20, QColor(255, 0, 0, 128)))
    c = pick_color(doc, QPointF(5, 5))
    assert abs(c.red() - 133) <= 1 and c.alpha() == 255
    c = pick_color(doc, QPointF(5, 5), sample="layer", layer=la)
    assert (c.red(), c.green(), c.alpha()) == (255, 0, 128)
    assert pick_color(doc, QPointF(50, 5)).alpha() == 0


def test_random_strokes_always_undo_and_redo_exactly():
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    doc = Document.new(96, 64)
    la = doc.add_layer("fuzz", image=new_image(80, 50, QColor(0, 120, 0, 200)), x=10, y=6)
    point = st.tuples(st.floats(-20, 120), st.floats(-20, 90), st.floats(0, 1))

    @settings(
        max_examples=40, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
    )
    @given(
        st.lists(point, min_size=1, max_size=6),
        st.floats(1, 40),
        st.floats(0, 1),
        st.floats(0, 1),
        st.floats(0, 1),
        st.floats(0.01, 1),
        st.booleans(),
        st.booleans(),
        st.booleans(),
    )
    def check(points, size, hardness, opacity, flow, spacing, eraser, p_size, lock):
        la.alpha_locked = lock
        before = la.rgba(straight=False)
        cmd = draw(
            doc,
            la,
            points,
            size=size,
            hardness=hardness,
            opacity=opacity,
            flow=flow,
            spacing=spacing,
            eraser=eraser,
            pressure_size=p_size,
            color=QColor(200, 10, 90),
        )
        after = la.rgba(straight=False)
        if cmd is None:
            assert np.array_equal(before, after)
            return
        doc.undo_stack.undo()
        assert np.array_equal(la.rgba(straight=False), before)
        doc.undo_stack.redo()
        assert np.array_equal(la.rgba(straight=False), after)
        a = after[..., 3:4].astype(int)
        assert (after[..., :3].astype(int) <= a).all()  # still valid premultiplied pixels

    check()
