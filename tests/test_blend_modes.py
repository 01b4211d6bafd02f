"""Every blend mode against the W3C Compositing and Blending Level 1 formulas (blend_reference,
written in the tests from the specification), on random premultiplied pixels including partly
and fully transparent ones, at many layer opacities; and groups composited as a unit."""

from __future__ import annotations

import numpy as np
import pytest
from blend_reference import composite, random_premultiplied

from rfedit_desktop.document import BLEND_MODES, Document
from rfedit_desktop.document.image_io import array_to_qimage, qimage_to_array

OPACITIES = (1.0, 0.93, 0.77, 0.5, 0.31, 0.13, 0.04)


def doc_with(backdrop: np.ndarray, source: np.ndarray, mode: str, opacity: float) -> Document:
    h, w = backdrop.shape[:2]
    doc = Document(w, h)
    doc.add_layer("below", image=array_to_qimage(backdrop, premultiplied=True), undoable=False)
    top = doc.add_layer("top", image=array_to_qimage(source, premultiplied=True), undoable=False)
    doc.set_layer_blend_mode(top, mode)
    doc.set_layer_opacity(top, opacity)
    return doc


@pytest.mark.parametrize("mode", BLEND_MODES)
def test_blend_mode_within_two_levels_of_the_w3c_formula_at_every_alpha(mode):
    rng = np.random.default_rng(abs(hash(mode)) % 2**32)
    backdrop = random_premultiplied(rng, (24, 40))
    source = random_premultiplied(rng, (24, 40))
    worst = 0.0
    for opacity in OPACITIES:
        doc = doc_with(backdrop, source, mode, opacity)
        got = qimage_to_array(doc.composite(), straight=False).astype(np.float64)
        want = composite(backdrop, source, mode, opacity)
        worst = max(worst, float(np.abs(got - want).max()))
    assert worst <= 2.0, f"{mode}: {worst:.2f} levels off the formula"


def test_qt_would_be_off_where_numpy_blends():
    """The reason for numpy: colour dodge through QPainter misses the formula by far at
    partial alpha (a check that the reference really tells the two apart)."""
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QPainter

    rng = np.random.default_rng(5)
    backdrop = random_premultiplied(rng, (160, 160))
    source = random_premultiplied(rng, (160, 160))
    img = array_to_qimage(backdrop, premultiplied=True)
    p = QPainter(img)
    p.setCompositionMode(QPainter.CompositionMode.CompositionMode_ColorDodge)
    p.drawImage(QPoint(0, 0), array_to_qimage(source, premultiplied=True))
    p.end()
    qt = qimage_to_array(img, straight=False).astype(np.float64)
    assert np.abs(qt - composite(backdrop, source, "color-dodge")).max() > 20


def test_merge_down_uses_the_exact_blend():
    rng = np.random.default_rng(9)
    backdrop = random_premultiplied(rng, (16, 16))
    backdrop[..., 3] = 255
    backdrop[..., :3] = np.minimum(backdrop[..., :3], 255)
    source = random_premultiplied(rng, (16, 16))
    doc = doc_with(backdrop, source, "soft-light", 0.6)
    merged = doc.merge_down(doc.active_layer)
    got = qimage_to_array(merged.image, straight=False).astype(np.float64)
    assert np.abs(got - composite(backdrop, source, "soft-light", 0.6)).max() <= 2.0


def _opaque_backdrop_doc(size: tuple[int, int]) -> Document:
    doc = Document(*size)
    backdrop = np.zeros((size[1], size[0], 4), np.uint8)
    backdrop[...] = (40, 120, 200, 255)
    doc.add_layer("below", image=array_to_qimage(backdrop, premultiplied=True), undoable=False)
    return doc


@pytest.mark.parametrize(("mode", "outside"), [("dst-in", 0), ("dst-atop", 0), ("dst-out", 255)])
def test_destination_modes_act_outside_a_small_layer_too(mode, outside) -> None:
    """A Krita or MyPaint masking layer smaller than the canvas: where it has no pixel, dst-in
    and dst-atop leave nothing of the layers below, dst-out leaves them as they are."""
    doc = _opaque_backdrop_doc((32, 24))
    patch = np.zeros((8, 10, 4), np.uint8)
    patch[...] = (0, 0, 0, 255)  # opaque black (premultiplied)
    top = doc.add_layer("mask", image=array_to_qimage(patch, premultiplied=True), x=6, y=5,
                        undoable=False)
    doc.set_layer_blend_mode(top, mode)
    got = qimage_to_array(doc.composite(), straight=False)
    assert got[0, 0, 3] == outside and got[23, 31, 3] == outside  # far outside the patch
    inside = got[8, 10]
    if mode == "dst-out":
        assert inside[3] == 0  # erased where the layer covers
    else:
        assert tuple(inside) == (40, 120, 200, 255)  # the backdrop kept where covered
    merged = doc.merge_down(top)  # merging computes the same picture
    assert np.array_equal(qimage_to_array(doc.composite(), straight=False), got)
    assert merged.width == 32


def test_destination_modes_survive_an_ora_round_trip(tmp_path) -> None:
    from rfedit_desktop.document import load_ora

    doc = _opaque_backdrop_doc((16, 16))
    for mode in ("dst-in", "dst-out", "dst-atop"):
        doc.set_layer_blend_mode(doc.add_layer(mode, undoable=False), mode)
    doc.save(tmp_path / "modes.ora")
    again = load_ora(tmp_path / "modes.ora")
    assert [la.blend_mode for la in again.layers][1:] == ["dst-in", "dst-out", "dst-atop"]
    assert not getattr(again, "load_warnings", None)
