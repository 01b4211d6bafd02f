"""The request's pixels made ready for the model (region, size grid, alpha, mask) and put back.

Kept apart from the model code because it is plain numpy: the artist's exact pixels outside
the mask depend only on what happens here. The crop and stitch geometry is `region`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from . import images
from .images import image_digest
from .region import Box, RegionPlan, back_to_box, plan_region, stitch
from .region import pixel_budget as region_budget
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
    model_rgb: np.ndarray  # h×w×3 uint8 at the model's size: the region the model sees
    height: int  # model size
    width: int
    digest: str
    plan: RegionPlan  # the region the model sees
    mask: np.ndarray | None = None  # H×W float32 in [0, 1] at the input's size, 1 = may change
    weight: np.ndarray | None = None  # the mask feathered, in the region's box: the edit's share

    @property
    def box(self) -> Box:
        return self.plan.box

    def crop(self) -> np.ndarray:
        """The original's pixels in the region's box (a view, not a copy)."""
        rows, cols = self.box.slices()
        return self.original[rows, cols]


def pixel_budget(engine: Engine, max_megapixels: float) -> int:
    """The most pixels the model may see: the request's limit, capped by the engine's."""
    return region_budget(max_megapixels, engine.max_pixels)


def prepare(engine: Engine, request: EditRequest) -> Prepared:
    """Load, flatten alpha, crop to the edit region and fit it to the model's size grid.

    The digest (the inversion cache's key) is of the crop at the model's size, so a re-edit
    of the same region finds its inversion and another region does not.
    """
    rgb = images.load_image(request.image)
    if rgb.ndim == 3 and rgb.shape[2] == 4:
        rgb = images.flatten_alpha(rgb, request.background)
    h0, w0 = rgb.shape[:2]
    mask = None
    if request.mask is not None:
        mask = images.prepare_mask(request.mask, h0, w0, exact=True)
    plan = plan_region(w0, h0, pixel_budget(engine, request.max_megapixels),
                       engine.size_multiple, mask=mask, region=request.region,
                       context=request.context)
    rows, cols = plan.box.slices()
    model_rgb = images.to_model_size(rgb[rows, cols], plan.model_height, plan.model_width)
    weight = None
    if mask is not None:
        radius = max(2, round(FEATHER_FRACTION * min(h0, w0)))
        weight = edit_weight(mask[rows, cols], radius)
    return Prepared(rgb, model_rgb, plan.model_height, plan.model_width,
                    image_digest(model_rgb), plan, mask, weight)


def finish(prepared: Prepared, edited: np.ndarray,
           reconstruction: np.ndarray | None = None) -> np.ndarray:
    """The model's result (model size) back in the whole image, at the input's size.

    Resampled to the region's box (with the photo's detail kept when the model's
    `reconstruction` of the input is given), then pasted: blended by the feathered mask when
    there is one, so every pixel outside the mask keeps its exact value.
    """
    box = prepared.box
    crop = prepared.crop() if reconstruction is not None else None
    result = back_to_box(edited, box, crop, reconstruction)
    if prepared.weight is None and prepared.plan.whole:
        return result
    return stitch(prepared.original, box, result, prepared.weight)


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
