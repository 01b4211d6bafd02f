"""Exact W3C blending (Compositing and Blending Level 1) of premultiplied 8-bit pixels in numpy.

Qt's composition modes round some modes coarsely (colour dodge is up to 123 levels off at
partly transparent pixels, soft light and exclusion about 3) and lack the non-separable modes,
so the compositor sends those modes here: source-over with the blend function B(Cb, Cs),

    co = cs (1 - ab) + cb (1 - as) + as ab B(Cb, Cs),    ao = as + ab (1 - as)

on premultiplied colours c and straight colours C, in float32, rounded to nearest once.
Pixels are HxWx4 uint8 in image_io.NATIVE_RGBA byte order, as QImage ARGB32_Premultiplied
holds them. The Porter-Duff modes (plus, src-atop, dst-in, dst-out, dst-atop) have formulas of
their own. Only the pixels that can change are computed, in planar (channel, pixel) arrays
so that every numpy operation runs over contiguous memory.
"""

from __future__ import annotations

import numpy as np

from .blend import CLEARS_UNCOVERED
from .image_io import NATIVE_RGBA

_A = NATIVE_RGBA[3]
_COLOUR_BYTES = [i for i in range(4) if i != _A]


def _lum_weights() -> np.ndarray:
    """W3C Lum() weights of R, G, B placed at their bytes among _COLOUR_BYTES."""
    w = np.zeros(3, np.float32)
    for channel, weight in zip(NATIVE_RGBA[:3], (0.3, 0.59, 0.11), strict=True):
        w[_COLOUR_BYTES.index(channel)] = weight
    return w


_W = _lum_weights()


# Colours below are planar: shape (3, n), channel first.
def _lum(c: np.ndarray) -> np.ndarray:
    return _W @ c


def _clip_color(c: np.ndarray) -> np.ndarray:
    lum = _lum(c)
    n = c.min(axis=0)
    x = c.max(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        low = lum + (c - lum) * (lum / (lum - n))
        c = np.where(n < 0, low, c)
        high = lum + (c - lum) * ((1 - lum) / (x - lum))
        c = np.where(x > 1, high, c)
    return np.nan_to_num(c, nan=0.0)


def _set_lum(c: np.ndarray, lum: np.ndarray) -> np.ndarray:
    return _clip_color(c + (lum - _lum(c)))


def _sat(c: np.ndarray) -> np.ndarray:
    return c.max(axis=0) - c.min(axis=0)


def _set_sat(c: np.ndarray, s: np.ndarray) -> np.ndarray:
    lo = c.min(axis=0)
    span = c.max(axis=0) - lo
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(span > 0, (c - lo) * (s / span), 0.0)
    return out.astype(np.float32)


def _soft_light(cb: np.ndarray, cs: np.ndarray) -> np.ndarray:
    d = np.where(cb <= 0.25, ((16 * cb - 12) * cb + 4) * cb, np.sqrt(cb))
    return np.where(cs <= 0.5, cb - (1 - 2 * cs) * cb * (1 - cb), cb + (2 * cs - 1) * (d - cb))


def _hard_light(cb: np.ndarray, cs: np.ndarray) -> np.ndarray:
    s2 = 2 * cs
    return np.where(cs <= 0.5, cb * s2, cb + (s2 - 1) - cb * (s2 - 1))


def _dodge(cb: np.ndarray, cs: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.minimum(1.0, cb / (1 - cs))
    return np.where(cb <= 0, 0.0, np.where(cs >= 1, 1.0, q))


def _burn(cb: np.ndarray, cs: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        q = 1 - np.minimum(1.0, (1 - cb) / cs)
    return np.where(cb >= 1, 1.0, np.where(cs <= 0, 0.0, q))


BLEND_FUNCTIONS = {
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
"""B(Cb, Cs) per blend-mode key, on straight colours in [0, 1], planar (3, n) float32."""


def blend_into(dst: np.ndarray, src: np.ndarray, mode: str, opacity: float = 1.0) -> None:
    """Composite premultiplied `src` over premultiplied `dst` in place (both HxWx4 uint8;
    `dst` may be a strided view into an image)."""
    alpha = src[..., _A]
    if alpha.all() or mode in CLEARS_UNCOVERED:
        h, w = alpha.shape
        planar = np.moveaxis(_blend_planar(_planes(src), _planes(dst), mode, opacity), 0, -1)
        dst[...] = planar.reshape(h, w, 4)
        return
    ys, xs = np.nonzero(alpha)  # a transparent source pixel changes nothing (in these modes)
    if ys.size == 0:
        return
    s = np.ascontiguousarray(src[ys, xs].T, dtype=np.float32)
    d = np.ascontiguousarray(dst[ys, xs].T, dtype=np.float32)
    dst[ys, xs] = _blend_planar(s, d, mode, opacity).T


def _planes(pixels: np.ndarray) -> np.ndarray:
    """HxWx4 uint8 -> (4, H*W) float32, one contiguous row per channel."""
    return np.ascontiguousarray(np.moveaxis(pixels, -1, 0), dtype=np.float32).reshape(4, -1)


def _blend_planar(s: np.ndarray, d: np.ndarray, mode: str, opacity: float) -> np.ndarray:
    """(4, n) float32 premultiplied 0..255 in, (4, n) uint8 out."""
    s *= np.float32(opacity / 255.0)
    d *= np.float32(1 / 255.0)
    a_s, a_b = s[_A], d[_A]
    if mode == "normal":
        out = s + d * (1 - a_s)
    elif mode == "plus":
        out = np.minimum(s + d, 1.0)
    elif mode == "src-atop":
        out = s * a_b + d * (1 - a_s)
        out[_A] = a_b
    elif mode == "dst-in":
        out = d * a_s
    elif mode == "dst-out":
        out = d * (1 - a_s)
    elif mode == "dst-atop":
        out = d * a_s + s * (1 - a_b)
        out[_A] = a_s
    else:
        cs_p, cb_p = s[_COLOUR_BYTES], d[_COLOUR_BYTES]
        cs = cs_p / a_s  # a_s > 0: only covered pixels come here
        cb = cb_p / np.maximum(a_b, np.float32(1e-6))  # a_b = 0 means cb_p = 0
        np.clip(cs, 0.0, 1.0, out=cs)
        np.clip(cb, 0.0, 1.0, out=cb)
        both = a_s * a_b
        out = np.empty_like(d)
        out[_COLOUR_BYTES] = (
            cs_p * (1 - a_b) + cb_p * (1 - a_s) + both * BLEND_FUNCTIONS[mode](cb, cs)
        )
        out[_A] = a_s + a_b - both
    out *= 255.0
    out += 0.5
    np.clip(out, 0.0, 255.0, out=out)
    res = out.astype(np.uint8)
    np.minimum(res, res[_A], out=res)  # keep every colour <= alpha (valid premultiplied)
    return res
