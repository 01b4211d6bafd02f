"""The one request/result pair that the CLI, the GUI and the benchmarks all use.

Everything relevant to an edit lives in `EditRequest` (the idea krita-ai-diffusion calls
WorkflowInput), so that an edit can be logged, cached, replayed and stored in a project file.
No torch here: the GUI builds requests on its own thread before torch is imported.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, Literal

import numpy as np

Method = Literal[
    "rf-inversion", "sdedit", "ode", "stochastic", "rf-solver", "fireflow", "flowedit"
]
METHODS: tuple[str, ...] = (
    "rf-inversion", "sdedit", "ode", "stochastic", "rf-solver", "fireflow", "flowedit"
)
INVERTING_METHODS: tuple[str, ...] = ("rf-inversion", "ode", "stochastic", "rf-solver", "fireflow")
"""The methods that invert the source first (and so use the inversion cache)."""

METHOD_OPTIONS: dict[str, tuple[str, ...]] = {
    "rf-inversion": ("gamma", "eta", "start", "stop", "decay_power", "strength"),
    "stochastic": ("gamma", "eta", "start", "stop", "decay_power", "strength"),
    "ode": ("strength",),
    "sdedit": ("strength",),
    "rf-solver": ("strength",),
    "fireflow": ("strength",),
    "flowedit": ("n_max", "n_min", "n_avg"),
}
"""The method-specific parameters each method reads; prompts, steps, guidance, source
guidance and seed apply to every method."""


@dataclass
class EditRequest:
    """One edit: pixels in, parameters, seed. Pixels are HxWx3 or HxWx4 uint8 (or a PIL image).

    `mask` (HxW, uint8 or float in [0, 1]; 1 = may change) restricts the edit to a region.
    `start`/`stop` are the eta window as fractions of the steps; `strength` truncates the
    inversion (1 = invert all the way to noise).

    What the model sees (engine/region.py): with a mask, the mask's bounding box grown by
    `context` image pixels (None: a margin relative to the box), clipped to the image; an
    explicit `region` (x, y, width, height) instead names that box itself; with neither, the
    whole image. `keep_detail` restores the photo's fine detail where the edit changed nothing. `loras` are
    `(path, weight)` pairs: paths as the engine's machine sees them (the engine records each
    file's content digest).
    """

    image: Any
    prompt: str
    source_prompt: str = ""
    method: str = "rf-inversion"
    steps: int = 28
    gamma: float = 0.5
    eta: float = 0.9
    start: float = 0.0
    stop: float = 0.25
    decay_power: float | None = None
    strength: float = 1.0
    guidance: float = 3.5
    source_guidance: float = 0.0
    seed: int = 0
    mask: Any = None
    max_megapixels: float = 1.0
    background: tuple[int, int, int] = (255, 255, 255)
    preview_every: int = 1
    region: tuple[int, int, int, int] | None = None
    context: int | None = None
    keep_detail: bool = True
    # FlowEdit only (None: its paper's setting, see presets.flowedit_counts)
    n_max: int | None = None
    n_min: int | None = None
    n_avg: int | None = None
    loras: tuple[tuple[str, float], ...] = ()

    def params(self) -> dict[str, Any]:
        """The parameters without pixels: what goes into PNG text chunks and edit history.
        (Not `asdict`: it would deep-copy the pixels first, 20 ms for a 12-megapixel photo.)"""
        d = {f.name: copy.deepcopy(getattr(self, f.name)) for f in fields(self)
             if f.name not in ("image", "mask")}
        d["has_mask"] = self.mask is not None
        if self.region is not None:
            d["region"] = [int(v) for v in self.region]
        return d


@dataclass
class ProgressEvent:
    """A progress report; `preview` is an RGB uint8 approximation of the current latent."""

    phase: str  # "load", "encode", "invert", "edit", "decode"
    step: int
    total: int
    preview: np.ndarray | None = None
    message: str = ""


ProgressFn = Callable[[ProgressEvent], None]


@dataclass
class EditResult:
    """Pixels at the input's size (HxWx3 uint8) plus everything needed to explain them."""

    image: np.ndarray
    metadata: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
    nfe: int = 0
    cache_hit: bool = False
