"""One edit (or inversion) on its way through the methods: what every step reads, and the
timed steps they share, so each method's function takes one argument, not six."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from .latents import encode_image
from .prepare import Prepared, prepare
from .progress import Reporter
from .request import EditRequest, ProgressFn
from .sampling import sigma_schedule
from .velocity import make_velocity

if TYPE_CHECKING:
    from .session import Engine


@dataclass
class EditRun:
    """The engine, the request, its prepared pixels and σ grid, progress, and the seconds
    spent per phase (`timings`, filled as the steps run)."""

    engine: Engine
    request: EditRequest
    prepared: Prepared
    sigmas: torch.Tensor
    reporter: Reporter
    timings: dict[str, float]

    @classmethod
    def begin(cls, engine: Engine, request: EditRequest, progress: ProgressFn | None,
              cancel: threading.Event | None, phases: tuple[str, ...]) -> EditRun:
        """Prepare the request's pixels (timed as load_image) and its σ grid; `phases` are
        the timings reported, all starting at 0."""
        timings = dict.fromkeys(("load_image", *phases), 0.0)
        t = time.perf_counter()
        prepared = prepare(engine, request)
        timings["load_image"] = time.perf_counter() - t
        reporter = Reporter(engine, progress, cancel, request.preview_every,
                            prepared.height, prepared.width)
        sigmas = sigma_schedule(engine, request.steps, prepared.height, prepared.width)
        return cls(engine, request, prepared, sigmas, reporter, timings)

    def encode(self) -> torch.Tensor:
        """The picture's clean latent (timed as encode_image)."""
        self.reporter.phase("encode", "encoding the image")
        t = time.perf_counter()
        y0 = encode_image(self.engine, self.prepared.model_rgb)
        self.timings["encode_image"] = time.perf_counter() - t
        return y0

    def velocity(self, prompt: str,
                 guidance: float) -> Callable[[torch.Tensor, float], torch.Tensor]:
        """The model's velocity under `prompt` (its encoding timed as encode_prompt)."""
        t = time.perf_counter()
        velocity = make_velocity(self.engine, prompt, guidance, self.prepared.height,
                                 self.prepared.width)
        self.timings["encode_prompt"] += time.perf_counter() - t
        return velocity
