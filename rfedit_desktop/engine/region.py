"""Edit regions: which part of a photo the model sees, at what scale, and how its result goes back.

A photo is far larger than a model's pixel budget, so an edit runs on a crop: the mask's
bounding box grown by a context margin (or an edit area the artist chose), resampled to the
budget in either direction, edited, resampled back and pasted. Where the crop had to shrink,
`keep_detail` puts the photo's own fine detail back wherever the edit left the picture alone.

numpy and Pillow only (no torch), so the GUI can show the working resolution before a run with
the very numbers the engine will use.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageFilter

from ..errors import EditError
from .images import back_to_size, fit_size

#: Automatic context margin, as a fraction of the mask box's longer side (Krita grows its
#: inpaint box relative to the box too). benchmarks/bench_photo_edit.py (table 4) measured that
#: every extra margin costs model pixels per image pixel and lets the edit spill further over
#: the unchanged part of the mask (0 was best, 1/4 three to five times worse); an eighth keeps
#: that cost small while still showing the model a band of surroundings.
AUTO_CONTEXT_FRACTION = 0.125
#: The automatic margin is never below this many image pixels, so a tiny mask still shows the
#: model some surroundings.
MIN_AUTO_CONTEXT = 32
#: Largest context margin accepted (image pixels); anything above is certainly a typo.
MAX_CONTEXT = 20_000
#: Below this many model pixels per image pixel the panel warns that the model sees too little.
LOW_SCALE = 0.5
#: Grey levels (0-255) of change between the edit and the model's own reconstruction of the
#: input below which a pixel counts as untouched (full original detail) and above which it
#: counts as edited (no original detail), measured at the model's size after a small blur.
CHANGE_LOW, CHANGE_HIGH = 3.0, 12.0
#: Rows processed at a time when the crop is large, so no whole-image float arrays are made.
_ROWS = 256


@dataclass(frozen=True)
class Box:
    """A rectangle of image pixels: left, top, width, height."""

    x: int
    y: int
    w: int
    h: int

    def slices(self) -> tuple[slice, slice]:
        return slice(self.y, self.y + self.h), slice(self.x, self.x + self.w)

    def as_list(self) -> list[int]:
        return [self.x, self.y, self.w, self.h]

    def grown(self, margin: int, width: int, height: int) -> Box:
        """This box with `margin` pixels on every side, clipped to a width×height image."""
        x0, y0 = max(0, self.x - margin), max(0, self.y - margin)
        x1 = min(width, self.x + self.w + margin)
        y1 = min(height, self.y + self.h + margin)
        return Box(x0, y0, x1 - x0, y1 - y0)


@dataclass(frozen=True)
class RegionPlan:
    """What the model will see: the box of image pixels and the model's size for it."""

    box: Box
    model_width: int
    model_height: int
    context: int  # the margin actually added around the mask box (0 without a mask)
    whole: bool  # the box is the whole image

    @property
    def scale(self) -> float:
        """Model pixels per image pixel (geometric mean of the two sides)."""
        return math.sqrt(self.model_width * self.model_height / (self.box.w * self.box.h))

    def describe(self) -> str:
        """The working resolution as the Edit panel says it."""
        b = self.box
        return (f"edit area {b.w}×{b.h} → model {self.model_width}×{self.model_height} "
                f"({self.scale:.2f}×)")


# -- checks ------------------------------------------------------------------------------------
def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def check_region(region: Any, width: int, height: int) -> Box:
    """The region as a Box inside a width×height image; EditError says what is wrong."""
    if not isinstance(region, (tuple, list)) or len(region) != 4 or not all(
            _is_int(v) for v in region):
        raise EditError(f"The region must be four whole numbers x, y, width, height; "
                        f"got {region!r}.")
    x, y, w, h = (int(v) for v in region)
    if w <= 0 or h <= 0:
        raise EditError(f"The region must have a positive size, got {w}×{h}.")
    if x < 0 or y < 0 or x + w > width or y + h > height:
        raise EditError(f"The region {x},{y},{w},{h} (x, y, width, height) does not lie "
                        f"inside the {width}×{height} image.")
    return Box(x, y, w, h)


def check_context(context: Any) -> None:
    """None (automatic) or a whole number of pixels from 0 to MAX_CONTEXT."""
    if context is None:
        return
    if not _is_int(context) or not 0 <= int(context) <= MAX_CONTEXT:
        raise EditError(f"The context margin must be a whole number of pixels from 0 to "
                        f"{MAX_CONTEXT}, got {context!r}.")


def parse_region(text: str) -> tuple[int, int, int, int]:
    """'X,Y,W,H' → four integers (the CLI's --region); EditError otherwise."""
    parts = [p.strip() for p in str(text).split(",")]
    try:
        if len(parts) != 4:
            raise ValueError
        values = tuple(int(p) for p in parts)
    except ValueError:
        raise EditError(f"--region takes four whole numbers X,Y,W,H, got {text!r}.") from None
    return values  # type: ignore[return-value]


# -- planning ----------------------------------------------------------------------------------
def pixel_budget(max_megapixels: float, model_max_pixels: int | None) -> int:
    """The most pixels the model may see: the request's limit, capped by the model's own."""
    budget = int(max_megapixels * 1_000_000)
    return min(budget, model_max_pixels) if model_max_pixels else budget


def mask_box(mask: np.ndarray) -> Box | None:
    """The bounding box of a mask's nonzero pixels, or None for an empty mask."""
    inside = np.asarray(mask) > 0
    rows, cols = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))
    if rows.size == 0:
        return None
    return Box(int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1),
               int(rows[-1] - rows[0] + 1))


def auto_context(box: Box) -> int:
    """The automatic margin around a mask box: a fraction of its longer side."""
    return max(MIN_AUTO_CONTEXT, round(AUTO_CONTEXT_FRACTION * max(box.w, box.h)))


def model_size_for(box: Box, budget: int, multiple: int, upscale: bool) -> tuple[int, int]:
    """(height, width) of the model's view of `box`: the aspect kept, the budget filled.

    With `upscale` a box smaller than the budget is enlarged to fill it (a small region gets
    the model's full resolution); without, it is only ever shrunk.
    """
    h, w = box.h, box.w
    if upscale and h * w < budget:
        s = math.sqrt(budget / (h * w))
        h, w = max(1, math.ceil(h * s)), max(1, math.ceil(w * s))
    return fit_size(h, w, budget, multiple=multiple)


def plan_region(
    width: int,
    height: int,
    budget: int,
    multiple: int,
    mask: np.ndarray | None = None,
    region: Sequence[int] | None = None,
    context: int | None = None,
) -> RegionPlan:
    """Where the edit runs in a width×height image.

    An explicit `region` is the box itself. Otherwise a mask's bounding box grown by `context`
    pixels (None: `auto_context`), clipped to the image; otherwise the whole image. A crop is
    resampled to fill the budget; the whole image is only ever shrunk, as it always was.
    """
    check_context(context)
    used = 0
    if region is not None:
        box = check_region(region, width, height)
    else:
        tight = mask_box(mask) if mask is not None else None
        if tight is None:
            box = Box(0, 0, width, height)
        else:
            used = auto_context(tight) if context is None else int(context)
            box = tight.grown(used, width, height)
    whole = box == Box(0, 0, width, height)
    mh, mw = model_size_for(box, budget, multiple, upscale=not whole)
    return RegionPlan(box, mw, mh, used, whole)


# -- resampling and stitching -------------------------------------------------------------------
def _rows(im: Image.Image, box: Box, r0: int, r1: int, method: Image.Resampling) -> np.ndarray:
    """Rows r0..r1 of `im` resampled to the box's size: a band at a time, seamlessly (the
    filter reads the source beyond the band), so no whole-box float image is ever made."""
    sy = im.height / box.h
    band = im.resize((box.w, r1 - r0), method, box=(0, r0 * sy, im.width, r1 * sy))
    return np.asarray(band)


def _blur(grey: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of 0..255 values (Pillow's, in C), as float32."""
    im = Image.fromarray(np.clip(np.rint(grey), 0, 255).astype(np.uint8))
    return np.asarray(im.filter(ImageFilter.GaussianBlur(sigma)), np.float32)


def change_weight(edited: np.ndarray, reconstruction: np.ndarray) -> np.ndarray:
    """How much the edit changed each pixel's coarse content, 0..1, at the model's size.

    Measured against the model's own reconstruction of the input (the decoded input latent),
    not the input, so the VAE's small errors on fine texture do not count as an edit.
    """
    d = np.abs(edited.astype(np.int16) - reconstruction.astype(np.int16)).max(axis=2)
    w = np.clip((_blur(d, 1.0) - CHANGE_LOW) / (CHANGE_HIGH - CHANGE_LOW), 0.0, 1.0)
    # Grow the changed area a little: an edited edge must not pick up the original's edge.
    return np.clip(2.0 * _blur(255.0 * w, 1.5) / 255.0, 0.0, 1.0).astype(np.float32)


def back_to_box(
    edited: np.ndarray,
    box: Box,
    original: np.ndarray | None = None,
    reconstruction: np.ndarray | None = None,
) -> np.ndarray:
    """The model's result (model size) at the box's size, uint8.

    Given the `original` crop (box size) and the model's `reconstruction` of it (model size),
    the photo's detail is kept: result = edit + (1 − change)·(original − reconstruction), all
    at the box's size, and the original itself wherever the change is 0. So an edit that
    changed nothing returns the photo exactly; where it changed the picture the edit wins.
    """
    if original is None or reconstruction is None:
        return back_to_size(edited, box.h, box.w)
    weight = Image.fromarray(change_weight(edited, reconstruction))
    e_im = Image.fromarray(np.ascontiguousarray(edited))
    r_im = Image.fromarray(np.ascontiguousarray(reconstruction))
    out = np.empty((box.h, box.w, 3), np.uint8)
    for r0 in range(0, box.h, _ROWS):
        r1 = min(box.h, r0 + _ROWS)
        w = np.clip(_rows(weight, box, r0, r1, Image.Resampling.BILINEAR), 0.0, 1.0)
        orig = original[r0:r1]
        if not w.any():
            out[r0:r1] = orig
            continue
        up = _rows(e_im, box, r0, r1, Image.Resampling.LANCZOS)
        if w.min() >= 1.0:  # all of the band was edited: the edit alone
            out[r0:r1] = up
            continue
        up = up.astype(np.float32)
        detail = orig.astype(np.float32) - _rows(r_im, box, r0, r1, Image.Resampling.LANCZOS)
        band = up + (1.0 - w)[..., None] * detail
        np.clip(np.rint(band), 0, 255, out=band)
        band = band.astype(np.uint8)
        untouched = w <= 0.0
        band[untouched] = orig[untouched]
        out[r0:r1] = band
    return out


def stitch(
    original: np.ndarray, box: Box, result: np.ndarray, weight: np.ndarray | None = None
) -> np.ndarray:
    """The whole image with `result` (box size) pasted into `box`.

    With `weight` (box size, the feathered mask), the result is blended in by it and every
    pixel whose weight is 0 keeps the original's exact value.
    """
    out = original.copy()
    rows, cols = box.slices()
    if weight is None:
        out[rows, cols] = result
        return out
    target = out[rows, cols]
    for r in range(0, box.h, _ROWS):
        part = slice(r, min(box.h, r + _ROWS))
        w = weight[part]
        orig = target[part]
        blend = orig + w[..., None] * (result[part].astype(np.float32) - orig)
        blend = np.clip(np.rint(blend), 0, 255).astype(np.uint8)
        outside = w <= 0.0
        blend[outside] = orig[outside]
        target[part] = blend
    return out
