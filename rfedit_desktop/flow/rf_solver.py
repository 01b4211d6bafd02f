"""RF-Solver: a second-order Taylor step for inversion and sampling (Wang et al., "Taming
Rectified Flow for Inversion and Editing", ICML 2025; update rule as in its public code,
RF-Solver-Edit `denoise`).

- σ convention: ALGORITHM.md §1 (σ = 0 clean, σ = 1 noise, u = dx/dσ), on RF-Inversion's grid
  (§2): inversion walks σ_N = 0 → σ_{k0}, sampling σ_{k0} → 0, the same points both ways.
- One step from σ_a to σ_b (h = σ_b − σ_a; h > 0 inverting, h < 0 sampling):

      v     = u(x, σ_a)
      v_mid = u(x + (h/2)·v, σ_a + h/2)            (half-step evaluation)
      u'    = (v_mid − v) / (h/2)                   (du/dσ along the path)
      x    ← x + h·v + (h²/2)·u'

  Taylor's second-order term with the derivative from the half step; algebraically it is the
  explicit midpoint rule x + h·v_mid, so the round-trip error is O(h²): about 4× smaller per
  doubling of N.
- No reference noise and no γ/η control: the inversion is the plain ODE, more accurately solved.
- NFE: 2 per step, inversion 2·(N − k0), sampling 2·(N − k0).
"""

from __future__ import annotations

import torch

from ._steps import Callback, Velocity
from .inversion import InversionResult
from .solver_walk import StepRule, walk_invert, walk_sample


def rf_solver_step(
    velocity: Velocity, x: torch.Tensor, sigma_a: float, sigma_b: float
) -> torch.Tensor:
    """One RF-Solver step σ_a → σ_b (2 evaluations)."""
    h = sigma_b - sigma_a
    v = velocity(x, sigma_a)
    v_mid = velocity(x + (h / 2) * v, sigma_a + h / 2)
    derivative = (v_mid - v) / (h / 2)
    return x + h * v + (0.5 * h * h) * derivative


def _rule() -> StepRule:
    return rf_solver_step


def rf_solver_invert(
    velocity: Velocity,
    y0: torch.Tensor,
    sigmas: torch.Tensor,
    *,
    strength: float = 1.0,
    keep_trajectory: bool = False,
    callback: Callback | None = None,
) -> InversionResult:
    """Invert `y0` to σ_{k0} with RF-Solver steps (`y1` is None: no reference noise)."""
    return walk_invert(velocity, y0, sigmas, _rule, strength=strength,
                       keep_trajectory=keep_trajectory, callback=callback)


def rf_solver_sample(
    velocity: Velocity,
    x: torch.Tensor,
    sigmas: torch.Tensor,
    *,
    strength: float = 1.0,
    callback: Callback | None = None,
    mask: torch.Tensor | None = None,
    trajectory: list[torch.Tensor] | None = None,
) -> tuple[torch.Tensor, int]:
    """Sample from `x` at σ_{k0} to σ = 0 with RF-Solver steps; returns (latent, NFE)."""
    return walk_sample(velocity, x, sigmas, _rule, strength=strength, callback=callback,
                       mask=mask, trajectory=trajectory)
