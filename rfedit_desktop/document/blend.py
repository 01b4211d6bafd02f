"""Blend modes: our names, who computes them, and how OpenRaster files name them.

QPainter's composition modes agree with the W3C Compositing Level 1 formulas to rounding (half
a level, 8-bit) at every alpha for most modes, but only at full layer opacity: its opacity
arithmetic drifts up to 3 levels, and colour dodge (80 levels), soft light and exclusion (3)
are off at any opacity. The compositor therefore lets Qt blend the modes listed with a QPainter mode
below, in C++, at full opacity, and normal layers at any opacity (their pixels scaled by the
opacity first, which the formula makes equivalent), and sends the rest, and the non-separable
hue, saturation, color and luminosity that Qt lacks, to `blend_pixels` in numpy.
tests/test_blend_modes.py holds every mode to the formulas.

The Porter-Duff destination modes (dst-in, dst-out, dst-atop: MyPaint's and Krita's masking
and erasing layers) use the layer's alpha on the layers below; dst-in and dst-atop clear the
backdrop wherever the layer has no pixel, outside its bounds included (`CLEARS_UNCOVERED`).

Files: `composite-op` holds the OpenRaster 0.0.6 value. Exclusion has none in the spec, so it
is written as `svg:difference` (the nearest picture: exclusion is a softer difference) and the
exact mode goes in `rfedit:composite-op`, which rfedit reads first.
"""

from __future__ import annotations

from PySide6.QtGui import QPainter

_CM = QPainter.CompositionMode

# key -> (QPainter mode or None for numpy, OpenRaster composite-op, label, exact op if the
# spec lacks it); order = menu order.
_TABLE: dict[str, tuple[QPainter.CompositionMode | None, str, str, str | None]] = {
    "normal": (_CM.CompositionMode_SourceOver, "svg:src-over", "Normal", None),
    "multiply": (_CM.CompositionMode_Multiply, "svg:multiply", "Multiply", None),
    "screen": (_CM.CompositionMode_Screen, "svg:screen", "Screen", None),
    "overlay": (_CM.CompositionMode_Overlay, "svg:overlay", "Overlay", None),
    "darken": (_CM.CompositionMode_Darken, "svg:darken", "Darken", None),
    "lighten": (_CM.CompositionMode_Lighten, "svg:lighten", "Lighten", None),
    "color-dodge": (None, "svg:color-dodge", "Color dodge", None),
    "color-burn": (None, "svg:color-burn", "Color burn", None),
    "hard-light": (_CM.CompositionMode_HardLight, "svg:hard-light", "Hard light", None),
    "soft-light": (None, "svg:soft-light", "Soft light", None),
    "difference": (_CM.CompositionMode_Difference, "svg:difference", "Difference", None),
    "exclusion": (None, "svg:difference", "Exclusion", "svg:exclusion"),
    "hue": (None, "svg:hue", "Hue", None),
    "saturation": (None, "svg:saturation", "Saturation", None),
    "color": (None, "svg:color", "Color", None),
    "luminosity": (None, "svg:luminosity", "Luminosity", None),
    "plus": (_CM.CompositionMode_Plus, "svg:plus", "Add (plus)", None),
    "src-atop": (_CM.CompositionMode_SourceAtop, "svg:src-atop", "Clip to below (atop)", None),
    "dst-in": (_CM.CompositionMode_DestinationIn, "svg:dst-in", "Keep below where covered", None),
    "dst-out": (_CM.CompositionMode_DestinationOut, "svg:dst-out", "Erase below", None),
    "dst-atop": (_CM.CompositionMode_DestinationAtop, "svg:dst-atop", "Below atop (dst-atop)",
                 None),
}

BLEND_MODES: tuple[str, ...] = tuple(_TABLE)
"""Every blend-mode key, in the order a menu should list them."""

BLEND_LABELS: dict[str, str] = {k: v[2] for k, v in _TABLE.items()}
"""Human-readable label per key, for the layers panel's combo box."""

_FROM_SVG = {(v[3] or v[1]): k for k, v in _TABLE.items()}


CLEARS_UNCOVERED: frozenset[str] = frozenset({"dst-in", "dst-atop"})
"""Modes whose result is transparent where the layer has no pixel (outside its bounds too):
the backdrop is kept only where the layer covers it."""


def composition_mode(key: str) -> QPainter.CompositionMode | None:
    """The QPainter mode that computes a blend-mode key exactly at full layer opacity, None
    where only numpy does (KeyError for an unknown key)."""
    return _TABLE[key][0]


def svg_name(key: str) -> str:
    """The OpenRaster `composite-op` value for a blend-mode key (a spec value)."""
    return _TABLE[key][1]


def exact_name(key: str) -> str | None:
    """The `rfedit:composite-op` value for a mode the spec lacks, else None."""
    return _TABLE[key][3]


def from_svg_name(op: str | None, exact: str | None = None) -> tuple[str, bool]:
    """(key, known) for an OpenRaster `composite-op` (and rfedit's exact op, which wins when
    known); unknown or missing ops give "normal".

    `known` is False when the op was present but not one we implement, so the loader can warn.
    """
    if exact and exact.strip() in _FROM_SVG:
        return _FROM_SVG[exact.strip()], True
    if not op:
        return "normal", True
    key = _FROM_SVG.get(op.strip())
    return (key, True) if key else ("normal", False)
