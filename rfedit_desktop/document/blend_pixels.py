"""Exact W3C blending (Compositing and Blending Level 1) of premultiplied 8-bit pixels in numpy.

Qt's composition modes round some modes coarsely (colour dodge is up to 123 levels off at
partly transparent pixels, soft light and exclusion about 3) and lack the non-separable modes,
so the compositor sends those modes here: source-over with the blend function B(Cb, Cs),

    co = cs (1 - ab) + cb (1 - as) + as ab B(Cb, Cs),    ao = as + ab (1 - as)

on premultiplied colours c and straight colours C, in float32, rounded to nearest once.
Pixels are HxWx4 uint8 in image_io.NATIVE_RGBA byte order, as QImage ARGB32_Premultiplied
holds them.
"""

from __future__ import annotations

import numpy as np

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


def _lum(c: np.ndarray) -> np.ndarray:
    return c @ _W


def _clip_color(c: np.ndarray) -> np.ndarray:
    lum = _lum(c)[..., None]
    n = c.min(axis=-1, keepdims=True)
    x = c.max(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        low = lum + (c - lum) * lum / (lum - n)
        c = np.where(n < 0, low, c)
        high = lum + (c - lum) * (1 - lum) / (x - lum)
        c = np.where(x > 1, high, c)
    return np.nan_to_num(c, nan=0.0)


def _set_lum(c: np.ndarray, lum: np.ndarray) -> np.ndarray:
    return _clip_color(c + (lum - _lum(c))[..., None])


def _sat(c: np.ndarray) -> np.ndarray:
    return c.max(axis=-1) - c.min(axis=-1)


def _set_sat(c: np.ndarray, s: np.ndarray) -> np.ndarray:
    lo = c.min(axis=-1, keepdims=True)
    span = c.max(axis=-1, keepdims=True) - lo
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(span > 0, (c - lo) * s[..., None] / span, 0.0)
    return out.astype(np.float32)


def _soft_light(cb: np.ndarray, cs: np.ndarray) -> np.ndarray:
    d = np.where(cb <= 0.25, ((16 * cb - 12) * cb + 4) * cb, np.sqrt(cb))
    return np.where(
        cs <= 0.5, cb - (1 - 2 * cs) * cb * (1 - cb), cb + (2 * cs - 1) * (d - cb)
    )


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
"""B(Cb, Cs) per blend-mode key, on straight colours in [0, 1], (..., 3) float32."""


def blend_into(dst: np.ndarray, src: np.ndarray, mode: str, opacity: float = 1.0) -> None:
    """Composite premultiplied `src` over premultiplied `dst` in place (both HxWx4 uint8)."""
    s = src.astype(np.float32)
    s *= np.float32(opacity / 255.0)
    d = dst.astype(np.float32)
    d *= np.float32(1 / 255.0)
    a_s = s[..., _A : _A + 1]
    a_b = d[..., _A : _A + 1]
    if mode == "plus":
        out = np.minimum(s + d, 1.0)
    elif mode == "src-atop":
        out = s * a_b + d * (1 - a_s)
        out[..., _A] = d[..., _A]
    else:
        cs_p = s[..., _COLOUR_BYTES]
        cb_p = d[..., _COLOUR_BYTES]
        with np.errstate(divide="ignore", invalid="ignore"):
            cs = np.where(a_s > 0, cs_p / a_s, 0.0).astype(np.float32)
            cb = np.where(a_b > 0, cb_p / a_b, 0.0).astype(np.float32)
        np.clip(cs, 0.0, 1.0, out=cs)
        np.clip(cb, 0.0, 1.0, out=cb)
        blended = BLEND_FUNCTIONS[mode](cb, cs)
        both = a_s * a_b
        out = np.empty_like(d)
        out[..., _COLOUR_BYTES] = cs_p * (1 - a_b) + cb_p * (1 - a_s) + both * blended
        out[..., _A] = (a_s + a_b - both)[..., 0]
    out *= 255.0
    out += 0.5
    np.clip(out, 0.0, 255.0, out=out)
    res = out.astype(np.uint8)
    alpha = res[..., _A : _A + 1]
    np.minimum(res, alpha, out=res)  # keep every colour <= alpha (valid premultiplied)
    dst[...] = res
