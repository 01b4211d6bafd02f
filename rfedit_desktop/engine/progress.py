"""Progress events with previews, and the cancel check, for one engine run.

`flow` only calls back with step numbers and latents; this turns them into what the artist sees.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

import torch

from ..errors import Cancelled
from .preview import packed_to_rgb, rgb_projection
from .request import ProgressEvent, ProgressFn

if TYPE_CHECKING:
    from .session import Engine


class Reporter:
    """Turns flow's step callbacks into ProgressEvents with previews; checks cancel."""

    def __init__(
        self,
        engine: Engine,
        progress: ProgressFn | None,
        cancel: threading.Event | None,
        preview_every: int,
        height: int,
        width: int,
    ) -> None:
        self.progress, self.cancel, self.every = progress, cancel, preview_every
        f = engine.vae_scale_factor
        self.lh, self.lw = height // f, width // f
        self.factors, self.bias = rgb_projection(engine.latent_channels, engine.settings)

    def check(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled("cancelled")

    def phase(self, name: str, message: str = "") -> None:
        self.check()
        if self.progress is not None:
            self.progress(ProgressEvent(name, 0, 1, message=message or name))

    def steps(
        self, name: str, velocity: Callable[..., torch.Tensor] | None = None
    ) -> Callable[[int, int, torch.Tensor], bool]:
        """A flow callback. Given the editing `velocity`, previews show its clean-image
        prediction x - sigma u (u = eps - x0) instead of the still-noisy state: midway through an
        edit the artist sees the picture that is forming, not grain."""

        def callback(step: int, total: int, latent: torch.Tensor) -> bool:
            if self.progress is not None:
                preview = None
                if self.every and (step % self.every == 0 or step == total):
                    shown = latent
                    last = getattr(velocity, "last", None)
                    if last is not None and step < total:
                        x, sigma, u = last
                        shown = x - sigma * u
                    preview = packed_to_rgb(shown, self.lh, self.lw, self.factors, self.bias)
                self.progress(ProgressEvent(name, step, total, preview=preview))
            return self.cancel is not None and self.cancel.is_set()

        return callback
