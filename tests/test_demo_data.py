"""The demo domain: scenes, captions and strokes are reproducible and say what is drawn."""

from __future__ import annotations

import numpy as np
import pytest

from rfedit_desktop.demo.dataset import (
    COLOURS,
    SHAPES,
    Scene,
    all_captions,
    make_dataset,
    object_mask,
    parse_caption,
    render,
    vocabulary,
)
from rfedit_desktop.demo.strokes import stroke_image, stroke_set


def test_same_seed_same_pixels_and_captions():
    a_img, a_sc = make_dataset(12, seed=5)
    b_img, b_sc = make_dataset(12, seed=5)
    c_img, _ = make_dataset(12, seed=6)
    assert np.array_equal(a_img, b_img)
    assert [s.caption for s in a_sc] == [s.caption for s in b_sc]
    assert not np.array_equal(a_img, c_img)
    assert a_img.shape == (12, 64, 64, 3) and a_img.dtype == np.uint8


def _mean_colour(img: np.ndarray, weight: np.ndarray) -> np.ndarray:
    return (img.astype(np.float64) * weight[..., None]).sum((0, 1)) / weight.sum()


def _nearest(rgb: np.ndarray) -> str:
    return min(COLOURS, key=lambda c: np.sum((np.asarray(COLOURS[c]) - rgb) ** 2))


def test_captions_match_the_drawn_content():
    images, scenes = make_dataset(40, seed=9)
    for img, s in zip(images, scenes, strict=True):
        inside = object_mask(s)
        core = (inside > 0.999).astype(np.float64)
        outside = (inside < 0.001).astype(np.float64)
        assert core.sum() > 10 and outside.sum() > 1000
        assert _nearest(_mean_colour(img, core)) == s.colour
        if s.style == "plain":
            assert _nearest(_mean_colour(img, outside)) == s.background
        # the caption's words are the scene's attributes, in the fixed grammar
        parsed = parse_caption(s.caption)
        assert (parsed.shape, parsed.colour, parsed.background, parsed.size, parsed.style) == (
            s.shape,
            s.colour,
            s.background,
            s.size,
            s.style,
        )


def test_shapes_differ_in_their_masks():
    masks = [object_mask(Scene(sh, "red", "blue")) for sh in SHAPES]
    for i in range(len(masks)):
        for j in range(i + 1, len(masks)):
            assert np.abs(masks[i] - masks[j]).sum() > 20, (SHAPES[i], SHAPES[j])


def test_render_is_antialiased():
    img = render(Scene("circle", "white", "black"))
    grey = np.unique(img[..., 0])
    assert len(grey) > 4  # intermediate values on the edge, not just two colours


def test_vocabulary_covers_every_caption():
    words = set(vocabulary())
    caps = all_captions()
    assert len(caps) == len(set(caps)) == 1120
    assert all(set(c.split()) <= words for c in caps)


def test_bad_scene_and_caption_are_rejected():
    with pytest.raises(ValueError, match="shape"):
        Scene("hexagon", "red", "blue")
    with pytest.raises(ValueError, match="colour"):
        Scene("circle", "mauve", "blue")
    with pytest.raises(ValueError, match="caption"):
        parse_caption("a photo of a cat")
    with pytest.raises(ValueError):
        make_dataset(-1, 0)


def test_strokes_are_deterministic_and_rough():
    s = Scene("star", "yellow", "purple", "large", "gradient", 0.5, 0.5, 0.3)
    a, b, c = stroke_image(s, 3), stroke_image(s, 3), stroke_image(s, 4)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    clean = render(s)
    diff = np.abs(a.astype(int) - clean.astype(int)).mean()
    assert 2 < diff < 60  # near the scene, but not a clean render
    x1, y1, sc1 = stroke_set(4, seed=2)
    x2, y2, sc2 = stroke_set(4, seed=2)
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2) and sc1 == sc2


def test_strokes_keep_the_object_colour_roughly():
    for seed, s in enumerate(make_dataset(20, seed=1)[1]):
        img = stroke_image(s, seed)
        core = (object_mask(s.with_(radius=s.radius * 0.5)) > 0.999).astype(np.float64)
        assert _nearest(_mean_colour(img, core)) == s.colour
