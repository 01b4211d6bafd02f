"""Inputs the engine tests share: a small seeded picture and an EditRequest around it."""

from __future__ import annotations

import numpy as np

from rfedit_desktop.engine.request import EditRequest

STEPS = 4


def picture(h: int = 48, w: int = 64, seed: int = 0) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    rng = np.random.default_rng(seed)
    base = np.stack([x * 255 / w, y * 255 / h, np.full_like(x, 128)], axis=-1)
    return np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8)


def request(**kw) -> EditRequest:
    kw.setdefault("image", picture())
    kw.setdefault("prompt", "a red house")
    kw.setdefault("steps", STEPS)
    kw.setdefault("preview_every", 0)
    return EditRequest(**kw)
