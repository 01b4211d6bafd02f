"""The request's pixels made ready for the model (size grid, alpha, mask) and put back after.

Kept apart from the model code because it is plain numpy: the artist's exact pixels outside
the mask depend only on what happens here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from . import images
from .images import image_digest
from .request import EditRequest

if TYPE_CHECKING:
    from .session import Engine

#: Feather radius (pixels at the input's size) of the mask's soft edge, as a fraction of the
#: shorter side; at least 2 px.
FEATHER_FRACTION = 0.01


@dataclass
class Prepared:
    """The request's pixels made ready for the model, plus what is needed to undo the resize."""

    original: np.ndarray  # H×W×3 uint8 at the input's size, alpha flattened
    model_rgb: np.ndarray  # h×w×3 uint8 at the model's size
    height: int  # model size
    width: int
    digest: str
    mask: np.ndarray | None = None  # H×W float32 in [0, 1] at the input's size, 1 = may change
    weight: np.ndarray | None = None  # the mask feathered: how much of the edit each pixel takes


def pixel_budget(engine: Engine, max_megapixels: float) -> int:
    """The most pixels the model may see: the request's limit, capped by the engine's."""
    budget = int(max_megapixels * 1_000_000)
    if engine.max_pixels:
        budget = min(budget, engine.max_pixels)
    return budget


def prepare(engine: Engine, request: EditRequest) -> Prepared:
    """Load, flatten alpha, fit to the model's size grid; validate the mask against the image."""
    rgb = images.load_image(request.image)
    if rgb.ndim == 3 and rgb.shape[2] == 4:
        rgb = images.flatten_alpha(rgb, request.background)
    h0, w0 = rgb.shape[:2]
    h, w = images.fit_size(
        h0, w0, pixel_budget(engine, request.max_megapixels), multiple=engine.size_multiple
    )
    model_rgb = images.to_model_size(rgb, h, w)
    mask = weight = None
    if request.mask is not None:
        mask = images.prepare_mask(request.mask, h0, w0)
        weight = edit_weight(mask, max(2, round(FEATHER_FRACTION * min(h0, w0))))
    return Prepared(rgb, model_rgb, h, w, image_digest(model_rgb), mask, weight)


def edit_weight(mask: np.ndarray, radius: float) -> np.ndarray:
    """How much of the edit each pixel takes: the mask with its edge softened *inwards*.

    Zero wherever the mask is zero, so that nothing outside the artist's mask ever changes;
    inside, a ramp of about `radius` pixels from the edge hides the seam between edited and
    original pixels. The radius shrinks for thin masks (a stroke narrower than twice the
    radius would otherwise fade away): at most a quarter of the mask's mean thickness,
    2·area/perimeter.
    """
    m = np.clip(np.asarray(mask, np.float32), 0.0, 1.0)
    inside = m > 0.5
    if not inside.any():
        return m
    padded = np.pad(inside, 1, mode="edge")
    edge = inside & ~(padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:])
    thickness = 2.0 * float(inside.sum()) / max(1, int(edge.sum()))
    r = min(float(radius), thickness / 4.0)
    if r < 0.5:
        return m
    ramp = np.clip(2.0 * images.feather(inside.astype(np.float32), r) - 1.0, 0.0, 1.0)
    return np.minimum(m, ramp).astype(np.float32)


def composite_in_mask(prepared: Prepared, edited: np.ndarray) -> np.ndarray:
    """Edited pixels inside the (feathered) mask, the original's exact pixels elsewhere."""
    weight = prepared.weight.astype(np.float32)[..., None]
    orig = prepared.original.astype(np.float32)
    out = orig + weight * (edited.astype(np.float32) - orig)
    out = np.clip(np.round(out), 0, 255).astype(np.uint8)
    outside = weight[..., 0] <= 0.0
    out[outside] = prepared.original[outside]
    return out
