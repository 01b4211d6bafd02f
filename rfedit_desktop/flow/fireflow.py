"""FireFlow: a midpoint step that reuses the previous step's midpoint velocity (Deng et al.,
"FireFlow: Fast Inversion of Rectified Flow for Image Semantic Editing", ICML 2025; update rule
as in its public code, `denoise_fireflow`).

- σ convention: ALGORITHM.md §1, on RF-Inversion's grid (§2), walked up for inversion and down
  for sampling, as `rf_solver`.
- One step from σ_a to σ_b (h = σ_b − σ_a):

      v̂     = v_mid of the previous step            (first step: u(x, σ_a), evaluated)
      v_mid = u(x + (h/2)·v̂, σ_a + h/2)
      x    ← x + h·v_mid

  The predictor's velocity v̂ is half a step stale (it was taken at the previous midpoint), an
  O(h) error that enters the midpoint state as O(h²) and the step as O(h³): the method stays
  second order at one new evaluation per step.
- First step: there is no previous midpoint, so the walk starts with one extra evaluation of
  u at the starting point (σ = 0 for inversion, σ_{k0} for sampling), as the public code does.
  Inversion and sampling each start afresh: sampling runs under another conditioning, so the
  inversion's last velocity is not reused.
- NFE: (N − k0) + 1 for inversion, the same for sampling.
"""

from __future__ import annotations

import torch

from ._steps import Callback, Velocity
from .inversion import InversionResult
from .solver_walk import walk_invert, walk_sample


class FireFlowStep:
    """The step rule with its memory: the last midpoint velocity."""

    def __init__(self) -> None:
        self.reused: torch.Tensor | None = None

    def __call__(
        self, velocity: Velocity, x: torch.Tensor, sigma_a: float, sigma_b: float
    ) -> torch.Tensor:
        h = sigma_b - sigma_a
        v = self.reused if self.reused is not None else velocity(x, sigma_a)
        v_mid = velocity(x + (h / 2) * v, sigma_a + h / 2)
        self.reused = v_mid
        return x + h * v_mid


def fireflow_invert(
    velocity: Velocity,
    y0: torch.Tensor,
    sigmas: torch.Tensor,
    *,
    strength: float = 1.0,
    keep_trajectory: bool = False,
    callback: Callback | None = None,
) -> InversionResult:
    """Invert `y0` to σ_{k0} with FireFlow steps (`y1` is None: no reference noise)."""
    return walk_invert(velocity, y0, sigmas, FireFlowStep, strength=strength,
                       keep_trajectory=keep_trajectory, callback=callback)


def fireflow_sample(
    velocity: Velocity,
    x: torch.Tensor,
    sigmas: torch.Tensor,
    *,
    strength: float = 1.0,
    callback: Callback | None = None,
    mask: torch.Tensor | None = None,
    trajectory: list[torch.Tensor] | None = None,
) -> tuple[torch.Tensor, int]:
    """Sample from `x` at σ_{k0} to σ = 0 with FireFlow steps; returns (latent, NFE)."""
    return walk_sample(velocity, x, sigmas, FireFlowStep, strength=strength, callback=callback,
                       mask=mask, trajectory=trajectory)
