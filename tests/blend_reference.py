"""The W3C Compositing and Blending Level 1 formulas, written out plainly in float64 numpy.

A reference for the tests only: written from the specification
(https://www.w3.org/TR/compositing-1/), not imported from the product, on premultiplied RGBA
arrays in R, G, B, A order with values 0..255.
"""

from __future__ import annotations

import numpy as np


def _lum(c):
    return 0.3 * c[..., 0] + 0.59 * c[..., 1] + 0.11 * c[..., 2]


def _clip_color(c):
    out = c.copy()
    lum = _lum(c)
    n = c.min(axis=-1)
    x = c.max(axis=-1)
    for i in np.ndindex(lum.shape):
        col, L = out[i], lum[i]
        if n[i] < 0:
            col = L + (col - L) * L / (L - n[i])
        if x[i] > 1:  # the spec's x is the maximum before the first correction
            col = L + (col - L) * (1 - L) / (x[i] - L)
        out[i] = col
    return out


def _set_lum(c, lum):
    return _clip_color(c + (lum - _lum(c))[..., None])


def _sat(c):
    return c.max(axis=-1) - c.min(axis=-1)


def _set_sat(c, s):
    out = np.zeros_like(c)
    for i in np.ndindex(s.shape):
        col = c[i]
        order = np.argsort(col, kind="stable")
        lo, mid, hi = order
        if col[hi] > col[lo]:
            out[i][mid] = (col[mid] - col[lo]) * s[i] / (col[hi] - col[lo])
            out[i][hi] = s[i]
        # else: all stay 0
    return out


def _hard_light(cb, cs):
    return np.where(cs <= 0.5, cb * 2 * cs, cb + (2 * cs - 1) - cb * (2 * cs - 1))


def _soft_light(cb, cs):
    d = np.where(cb <= 0.25, ((16 * cb - 12) * cb + 4) * cb, np.sqrt(cb))
    return np.where(cs <= 0.5, cb - (1 - 2 * cs) * cb * (1 - cb), cb + (2 * cs - 1) * (d - cb))


def _dodge(cb, cs):
    out = np.empty_like(cb)
    for i in np.ndindex(cb.shape):
        if cb[i] == 0:
            out[i] = 0
        elif cs[i] >= 1:
            out[i] = 1
        else:
            out[i] = min(1.0, cb[i] / (1 - cs[i]))
    return out


def _burn(cb, cs):
    out = np.empty_like(cb)
    for i in np.ndindex(cb.shape):
        if cb[i] == 1:
            out[i] = 1
        elif cs[i] <= 0:
            out[i] = 0
        else:
            out[i] = 1 - min(1.0, (1 - cb[i]) / cs[i])
    return out


BLEND = {
    "normal": lambda cb, cs: cs,
    "multiply": lambda cb, cs: cb * cs,
    "screen": lambda cb, cs: cb + cs - cb * cs,
    "overlay": lambda cb, cs: _hard_light(cs, cb),
    "darken": np.minimum,
    "lighten": np.maximum,
    "color-dodge": _dodge,
    "color-burn": _burn,
    "hard-light": _hard_light,
    "soft-light": _soft_light,
    "difference": lambda cb, cs: np.abs(cb - cs),
    "exclusion": lambda cb, cs: cb + cs - 2 * cb * cs,
    "hue": lambda cb, cs: _set_lum(_set_sat(cs, _sat(cb)), _lum(cb)),
    "saturation": lambda cb, cs: _set_lum(_set_sat(cb, _sat(cs)), _lum(cb)),
    "color": lambda cb, cs: _set_lum(cs, _lum(cb)),
    "luminosity": lambda cb, cs: _set_lum(cb, _lum(cs)),
}


def composite(backdrop: np.ndarray, source: np.ndarray, mode: str, opacity: float = 1.0):
    """`source` (premultiplied RGBA uint8) composited over `backdrop` with `mode` and
    `opacity`; float64 result on the 0..255 scale, premultiplied."""
    b = backdrop.astype(np.float64) / 255
    s = source.astype(np.float64) / 255 * opacity
    ab, as_ = b[..., 3:], s[..., 3:]
    if mode == "plus":  # Porter-Duff "lighter", clamped
        return np.minimum(b + s, 1) * 255
    if mode == "src-atop":
        out = s * ab + b * (1 - as_)
        out[..., 3] = b[..., 3]
        return out * 255
    if mode == "dst-in":  # Porter-Duff: the backdrop where the source is
        return b * as_ * 255
    if mode == "dst-out":  # the backdrop where the source is not
        return b * (1 - as_) * 255
    if mode == "dst-atop":  # the backdrop inside the source, the source outside the backdrop
        out = b * as_ + s * (1 - ab)
        out[..., 3] = s[..., 3]
        return out * 255
    with np.errstate(divide="ignore", invalid="ignore"):
        cb = np.clip(np.where(ab > 0, b[..., :3] / ab, 0), 0, 1)
        cs = np.clip(np.where(as_ > 0, s[..., :3] / as_, 0), 0, 1)
    mixed = BLEND[mode](cb, cs)
    co = s[..., :3] * (1 - ab) + b[..., :3] * (1 - as_) + as_ * ab * mixed
    ao = as_ + ab - as_ * ab
    return np.concatenate([co, ao], axis=-1) * 255


def random_premultiplied(rng: np.random.Generator, shape) -> np.ndarray:
    """Premultiplied RGBA uint8 with every kind of alpha: 0, 255 and everything between."""
    a = rng.integers(0, 256, shape, dtype=np.int64)
    a.flat[:: 7] = 255
    a.flat[3 :: 11] = 0
    c = (rng.random((*shape, 3)) * (a[..., None] + 1)).astype(np.int64)
    c = np.minimum(c, a[..., None])
    return np.concatenate([c, a[..., None]], axis=-1).astype(np.uint8)
