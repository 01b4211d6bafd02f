"""Plumbing shared by the loops: calling the model, drawing noise, progress and cancelling."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..errors import Cancelled

Velocity = Callable[[torch.Tensor, float], torch.Tensor]
"""`velocity(x, sigma) -> u`: the model's dx/dsigma at noise level `sigma` (a python float)."""

Callback = Callable[[int, int, torch.Tensor], "bool | None"]
"""`callback(step, total, latent)` after each step (step counts from 1); True cancels."""


def state_dtype(dtype: torch.dtype) -> torch.dtype:
    """Arithmetic runs in at least float32 even when the model runs in bf16 or fp16."""
    return torch.promote_types(dtype, torch.float32)


def call_velocity(velocity: Velocity, x: torch.Tensor, sigma: float) -> torch.Tensor:
    u = velocity(x, sigma)
    if not isinstance(u, torch.Tensor) or u.shape != x.shape:
        shape = tuple(u.shape) if isinstance(u, torch.Tensor) else type(u).__name__
        raise ValueError(f"velocity returned {shape}, expected a tensor of shape {tuple(x.shape)}")
    return u.to(x.dtype)


def draw_noise(
    like: torch.Tensor, generator: torch.Generator | None
) -> torch.Tensor:
    """Standard normal noise shaped like `like`, drawn in float32 on the generator's device.

    Drawing in a fixed dtype and device keeps a seed's noise identical whatever the model's
    dtype is.
    """
    device = generator.device if generator is not None else torch.device("cpu")
    z = torch.randn(like.shape, generator=generator, device=device, dtype=torch.float32)
    return z.to(like.device, like.dtype)


def report(callback: Callback | None, step: int, total: int, latent: torch.Tensor) -> None:
    if callback is not None and callback(step, total, latent) is True:
        raise Cancelled(f"cancelled at step {step} of {total}")


class CountedVelocity:
    """A velocity that counts its evaluations, so NFE is measured, never computed from a formula.

    Every call goes through `call_velocity`'s shape check; `calls` is the honest NFE.
    """

    def __init__(self, velocity: Velocity) -> None:
        self.velocity = velocity
        self.calls = 0

    def __call__(self, x: torch.Tensor, sigma: float) -> torch.Tensor:
        self.calls += 1
        return call_velocity(self.velocity, x, sigma)

    def __getattr__(self, name: str) -> object:
        # the engine hangs facts on its velocity (`last`, `truncated`); let them show through
        return getattr(self.velocity, name)
