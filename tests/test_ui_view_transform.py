"""Zoom and pan arithmetic of the canvas, without widgets."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPointF, QRectF, QSize

from rfedit_desktop.ui.view_transform import MAX_ZOOM, MIN_ZOOM, ViewTransform, next_zoom


@pytest.mark.parametrize("dpr", [1.0, 2.0, 1.25])
@pytest.mark.parametrize("zoom", [0.1, 0.5, 1.0, 3.7, 16.0])
def test_zoom_keeps_anchor_point_fixed(dpr: float, zoom: float) -> None:
    t = ViewTransform(dpr)
    t.origin = QPointF(13.0, -7.0)
    t.zoom = 0.8
    anchor = QPointF(321.5, 144.25)
    before = t.to_doc(anchor)
    t.zoom_at(anchor, zoom)
    after = t.to_doc(anchor)
    assert after.x() == pytest.approx(before.x(), abs=1e-9)
    assert after.y() == pytest.approx(before.y(), abs=1e-9)
    assert t.zoom == pytest.approx(zoom)


def test_round_trip_and_rects() -> None:
    t = ViewTransform(2.0)
    t.zoom = 3.0
    t.origin = QPointF(10, 20)
    p = QPointF(5, 7)
    v = t.to_view(p)
    assert (v.x(), v.y()) == pytest.approx((10 + 5 * 1.5, 20 + 7 * 1.5))
    back = t.to_doc(v)
    assert (back.x(), back.y()) == pytest.approx((5, 7))
    r = t.rect_to_doc(t.rect_to_view(QRectF(1, 2, 30, 40)))
    assert (r.x(), r.y(), r.width(), r.height()) == pytest.approx((1, 2, 30, 40))


def test_fit_shows_whole_document_centred() -> None:
    t = ViewTransform(1.0)
    t.fit(QSize(2000, 1000), QSize(800, 600), margin=0)
    assert t.zoom == pytest.approx(0.4)
    top_left = t.to_view(QPointF(0, 0))
    bottom_right = t.to_view(QPointF(2000, 1000))
    assert top_left.x() == pytest.approx(0)
    assert bottom_right.x() == pytest.approx(800)
    assert (top_left.y() + bottom_right.y()) / 2 == pytest.approx(300)


def test_fit_on_high_dpi_counts_physical_pixels() -> None:
    t = ViewTransform(2.0)
    t.fit(QSize(400, 400), QSize(400, 400), margin=0)
    # 400 logical px = 800 physical px for 400 document px: zoom 2 (physical), scale 1 (logical)
    assert t.zoom == pytest.approx(2.0)
    assert t.scale == pytest.approx(1.0)


def test_zoom_ladder_returns_to_exactly_100_percent() -> None:
    z = 1.0
    for _ in range(5):
        z = next_zoom(z, 1)
    for _ in range(5):
        z = next_zoom(z, -1)
    assert z == pytest.approx(1.0, abs=1e-12)
    assert next_zoom(1.0, 1) > 1.0 > next_zoom(1.0, -1)
    off_ladder = 1.1
    assert 1.1 < next_zoom(off_ladder, 1) <= 1.1 * 2 ** 0.25 + 1e-9
    assert next_zoom(MAX_ZOOM, 3) == MAX_ZOOM
    assert next_zoom(MIN_ZOOM, -3) == MIN_ZOOM
    assert next_zoom(1.0, 0.5) == pytest.approx(2 ** 0.125)
