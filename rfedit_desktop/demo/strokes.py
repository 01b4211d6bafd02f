"""Rough, hand-painted versions of demo scenes: the inputs of stroke-to-image.

What a person does with a big brush in a few seconds: the background filled in roughly the
right colour (bands for a gradient), the object as a wobbly blob of roughly the right size,
place and colour, with a few scribbled strokes of a different shade across it. Drawn without
anti-aliasing, with jittered colours, so nothing in it is a clean render. Deterministic from a
seed, so the benchmark's inputs are reproducible.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from .dataset import COLOURS, RESOLUTION, Scene, random_scene, render, shape_polygon


def _jitter(
    colour: tuple[int, int, int], rng: np.random.Generator, amount: float
) -> tuple[int, int, int]:
    c = np.asarray(colour, np.float32) + rng.uniform(-amount, amount, 3)
    return tuple(int(v) for v in np.clip(c, 0, 255))


def _densify(points: list[tuple[float, float]], n: int) -> np.ndarray:
    """Resample a closed polygon to `n` points evenly spaced along its outline."""
    p = np.asarray(points + points[:1], np.float64)
    seg = np.linalg.norm(np.diff(p, axis=0), axis=1)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    t = np.linspace(0.0, cum[-1], n, endpoint=False)
    return np.stack([np.interp(t, cum, p[:, 0]), np.interp(t, cum, p[:, 1])], axis=1)


def wobbly_outline(scene: Scene, rng: np.random.Generator, size: int) -> np.ndarray:
    """The object's outline, moved, resized and bent by a few random low-frequency waves."""
    r = scene.radius * size * rng.uniform(0.85, 1.15)
    cx = (scene.cx + rng.uniform(-0.04, 0.04)) * size
    cy = (scene.cy + rng.uniform(-0.04, 0.04)) * size
    pts = _densify(shape_polygon(scene.shape, cx, cy, r), 80)
    angle = np.arctan2(pts[:, 1] - cy, pts[:, 0] - cx)
    bend = np.zeros_like(angle)
    for k in range(2, 6):
        bend += rng.normal(0, 0.05) * np.cos(k * angle + rng.uniform(0, 2 * math.pi))
    bend += rng.normal(0, 0.02, len(angle))
    centre = np.array([cx, cy])
    return centre + (pts - centre) * (1.0 + bend)[:, None]


def stroke_image(scene: Scene, seed: int, resolution: int = RESOLUTION) -> np.ndarray:
    """A rough painting of `scene`, HxWx3 uint8; the same seed gives the same pixels."""
    rng = np.random.default_rng(seed)
    size = resolution
    bg = COLOURS[scene.background]
    img = Image.new("RGB", (size, size), _jitter(bg, rng, 14))
    draw = ImageDraw.Draw(img)
    if scene.style == "gradient":
        base = np.asarray(bg, np.float32)
        for k, t in enumerate((0.0, 0.33, 0.66)):
            shade = base + (255 - base) * 0.45 * (1 - t) - base * 0.45 * t
            y0 = int(size * k / 3 + rng.integers(-2, 3))
            draw.rectangle((0, y0, size, size), fill=_jitter(tuple(int(v) for v in shade), rng, 12))
    for _ in range(int(rng.integers(2, 5))):  # a few loose background brush marks
        y = rng.uniform(0, size)
        x0, x1 = sorted(rng.uniform(0, size, 2))
        shade = _jitter(img.getpixel((int(min(x0, size - 1)), int(min(y, size - 1)))), rng, 14)
        draw.line((x0, y, x1, y + rng.uniform(-4, 4)), fill=shade, width=int(rng.integers(2, 5)))
    outline = wobbly_outline(scene, rng, size)
    colour = COLOURS[scene.colour]
    draw.polygon([tuple(p) for p in outline], fill=_jitter(colour, rng, 22))
    lo, hi = outline.min(axis=0), outline.max(axis=0)
    for _ in range(int(rng.integers(3, 7))):  # scribbles across the object
        a = lo + (hi - lo) * rng.uniform(0.15, 0.85, 2)
        b = lo + (hi - lo) * rng.uniform(0.15, 0.85, 2)
        draw.line((*a, *b), fill=_jitter(colour, rng, 35), width=int(rng.integers(1, 4)))
    return np.asarray(img)


def stroke_set(
    n: int, seed: int, resolution: int = RESOLUTION
) -> tuple[np.ndarray, np.ndarray, list[Scene]]:
    """`n` (strokes, clean render, scene) triples: the benchmark's inputs and references."""
    rng = np.random.default_rng(seed)
    scenes = [random_scene(rng) for _ in range(n)]
    strokes = np.stack(
        [stroke_image(s, seed * 100_003 + i, resolution) for i, s in enumerate(scenes)]
    )
    clean = np.stack([render(s, resolution) for s in scenes])
    return strokes, clean, scenes
