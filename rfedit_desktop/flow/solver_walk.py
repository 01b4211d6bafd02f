"""The loop RF-Solver and FireFlow share: one step rule walked up the grid or down it.

Both solvers invert and sample on RF-Inversion's own σ grid (ALGORITHM.md §2): inversion walks
σ_N = 0 → σ_{k0}, sampling σ_{k0} → 0, and a step rule maps the latent at σ_a to σ_b whichever
way it points. Keeping the trajectory, masked sampling, progress and cancelling are the same as
in `invert` and `edit`, so a solver differs from RF-Inversion only in its step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import torch

from ._steps import Callback, CountedVelocity, Velocity, report, state_dtype
from .editing import _check_mask
from .grid import check_sigmas, start_index
from .inversion import InversionResult


class StepRule(Protocol):
    """One solver step from σ_a to σ_b (either direction); may keep state between steps."""

    def __call__(
        self, velocity: Velocity, x: torch.Tensor, sigma_a: float, sigma_b: float
    ) -> torch.Tensor: ...


RuleFactory = Callable[[], StepRule]
"""A fresh rule per walk, so a solver's memory (FireFlow's reused velocity) never leaks across."""


def walk_invert(
    velocity: Velocity,
    y0: torch.Tensor,
    sigmas: torch.Tensor,
    new_rule: RuleFactory,
    *,
    strength: float = 1.0,
    keep_trajectory: bool = False,
    callback: Callback | None = None,
) -> InversionResult:
    """Walk `y0` from σ = 0 up to σ_{k0} with the rule; `nfe` is the evaluations counted."""
    sig = check_sigmas(sigmas)
    n = len(sig) - 1
    k0 = start_index(n, strength)
    counted = CountedVelocity(velocity)
    rule = new_rule()
    y = y0.detach().to(state_dtype(y0.dtype))
    start = y
    trajectory = [y] if keep_trajectory else None
    total = n - k0
    for done, j in enumerate(range(n, k0, -1), start=1):
        y = rule(counted, y, sig[j], sig[j - 1])
        if trajectory is not None:
            trajectory.append(y)
        report(callback, done, total, y)
    return InversionResult(
        latent=y, y0=start, y1=None, trajectory=trajectory, nfe=counted.calls, start_index=k0
    )


def walk_sample(
    velocity: Velocity,
    x: torch.Tensor,
    sigmas: torch.Tensor,
    new_rule: RuleFactory,
    *,
    strength: float = 1.0,
    callback: Callback | None = None,
    mask: torch.Tensor | None = None,
    trajectory: list[torch.Tensor] | None = None,
) -> tuple[torch.Tensor, int]:
    """Walk `x` (at σ_{k0}) down to σ = 0; returns the latent and the evaluations counted.

    With `mask` (1 = may change) and the inversion's `trajectory`, the unmasked region is put
    back on the trajectory after every step, as `edit` does.
    """
    sig = check_sigmas(sigmas)
    n = len(sig) - 1
    k0 = start_index(n, strength)
    x = x.detach().to(state_dtype(x.dtype))
    m = _check_mask(mask, trajectory, x, n, k0)
    counted = CountedVelocity(velocity)
    rule = new_rule()
    total = n - k0
    for done, i in enumerate(range(k0, n), start=1):
        x = rule(counted, x, sig[i], sig[i + 1])
        if m is not None:
            x = m * x + (1.0 - m) * trajectory[n - (i + 1)].to(x.device, x.dtype)
        report(callback, done, total, x)
    return x, counted.calls
