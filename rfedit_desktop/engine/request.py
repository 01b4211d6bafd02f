"""The one request/result pair that the CLI, the GUI and the benchmarks all use.

Everything relevant to an edit lives in `EditRequest` (the idea krita-ai-diffusion calls
WorkflowInput), so that an edit can be logged, cached, replayed and stored in a project file.
No torch here: the GUI builds requests on its own thread before torch is imported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

Method = Literal["rf-inversion", "sdedit", "ode", "stochastic"]
METHODS: tuple[str, ...] = ("rf-inversion", "sdedit", "ode", "stochastic")


@dataclass
class EditRequest:
    """One edit: pixels in, parameters, seed. Pixels are HxWx3 or HxWx4 uint8 (or a PIL image).

    `mask` (HxW, uint8 or float in [0, 1]; 1 = may change) restricts the edit to a region.
    `start`/`stop` are the eta window as fractions of the steps; `strength` truncates the
    inversion (1 = invert all the way to noise). `loras` are `(path, weight)` pairs: paths as
    the engine's machine sees them (the engine records each file's content digest).
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
    loras: tuple[tuple[str, float], ...] = ()

    def params(self) -> dict[str, Any]:
        """The parameters without pixels: what goes into PNG text chunks and edit history."""
        d = asdict(self)
        d.pop("image")
        d.pop("mask")
        d["has_mask"] = self.mask is not None
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
