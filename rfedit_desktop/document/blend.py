"""Blend modes: our names, the QPainter mode that computes them, and their OpenRaster names.

QPainter's composition modes implement the SVG compositing operators that OpenRaster's
`composite-op` attribute names, in C++ and on premultiplied pixels, so the compositor needs no
numpy for blending. Modes Qt lacks (hue, saturation, color, luminosity) are read as "normal"
with a warning rather than refused, because a file is still worth opening.
"""

from __future__ import annotations

from PySide6.QtGui import QPainter

_CM = QPainter.CompositionMode

# key -> (QPainter mode, OpenRaster composite-op, label for menus); order = menu order.
_TABLE: dict[str, tuple[QPainter.CompositionMode, str, str]] = {
    "normal": (_CM.CompositionMode_SourceOver, "svg:src-over", "Normal"),
    "multiply": (_CM.CompositionMode_Multiply, "svg:multiply", "Multiply"),
    "screen": (_CM.CompositionMode_Screen, "svg:screen", "Screen"),
    "overlay": (_CM.CompositionMode_Overlay, "svg:overlay", "Overlay"),
    "darken": (_CM.CompositionMode_Darken, "svg:darken", "Darken"),
    "lighten": (_CM.CompositionMode_Lighten, "svg:lighten", "Lighten"),
    "color-dodge": (_CM.CompositionMode_ColorDodge, "svg:color-dodge", "Color dodge"),
    "color-burn": (_CM.CompositionMode_ColorBurn, "svg:color-burn", "Color burn"),
    "hard-light": (_CM.CompositionMode_HardLight, "svg:hard-light", "Hard light"),
    "soft-light": (_CM.CompositionMode_SoftLight, "svg:soft-light", "Soft light"),
    "difference": (_CM.CompositionMode_Difference, "svg:difference", "Difference"),
    "exclusion": (_CM.CompositionMode_Exclusion, "svg:exclusion", "Exclusion"),
    "plus": (_CM.CompositionMode_Plus, "svg:plus", "Add (plus)"),
    "src-atop": (_CM.CompositionMode_SourceAtop, "svg:src-atop", "Clip to below (atop)"),
}

BLEND_MODES: tuple[str, ...] = tuple(_TABLE)
"""Every blend-mode key, in the order a menu should list them."""

BLEND_LABELS: dict[str, str] = {k: v[2] for k, v in _TABLE.items()}
"""Human-readable label per key, for the layers panel's combo box."""

_FROM_SVG = {v[1]: k for k, v in _TABLE.items()}


def composition_mode(key: str) -> QPainter.CompositionMode:
    """The QPainter mode for a blend-mode key (KeyError for an unknown key)."""
    return _TABLE[key][0]


def svg_name(key: str) -> str:
    """The OpenRaster `composite-op` value for a blend-mode key."""
    return _TABLE[key][1]


def from_svg_name(op: str | None) -> tuple[str, bool]:
    """(key, known) for an OpenRaster `composite-op`; unknown or missing ops give "normal".

    `known` is False when the op was present but not one we implement, so the loader can warn.
    """
    if not op:
        return "normal", True
    key = _FROM_SVG.get(op.strip())
    return (key, True) if key else ("normal", False)
