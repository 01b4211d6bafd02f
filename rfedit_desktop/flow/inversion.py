"""Controlled forward ODE: image latent -> structured noise (paper Eq. 8, ALGORITHM.md §3)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ._steps import Callback, Velocity, call_velocity, draw_noise, report, state_dtype
from .grid import check_sigmas, is_real, start_index, step_sizes


@dataclass
class InversionResult:
    """What an inversion leaves for editing and for the cache.

    `y1` is the reference noise gamma pulls towards (None for the solvers that have none).
    `trajectory` holds the latent at every grid point visited, by sigma ascending: index 0 is
    `y0` (sigma_N = 0) and index j the latent at sigma_{N-j}, the last one being `latent`
    (sigma_{start_index}).
    """

    latent: torch.Tensor
    y0: torch.Tensor
    y1: torch.Tensor | None
    trajectory: list[torch.Tensor] | None
    nfe: int
    start_index: int


def check_gamma(gamma: float) -> None:
    if not (is_real(gamma) and 0.0 <= gamma <= 1.0):
        raise ValueError(f"gamma must be in [0, 1], got {gamma!r}")


def invert(
    velocity: Velocity,
    y0: torch.Tensor,
    sigmas: torch.Tensor,
    *,
    gamma: float = 0.5,
    y1: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    strength: float = 1.0,
    keep_trajectory: bool = False,
    callback: Callback | None = None,
) -> InversionResult:
    """Walk `y0` up the grid from sigma = 0 to sigma_{k0}, pulled towards `y1` with weight gamma.

    Each step from sigma_a to sigma_b evaluates the model and the conditional field
    (y1 - Y)/(1 - sigma_a) at the state's own sigma_a. gamma = 0 is plain Euler inversion;
    gamma = 1 ends exactly on y1 (for strength 1). `y1` is drawn from `generator` when not given.
    The velocity receives sigma as a python float.
    """
    check_gamma(gamma)
    sig = check_sigmas(sigmas)
    deltas = step_sizes(sigmas)
    n = len(sig) - 1
    k0 = start_index(n, strength)
    dtype = state_dtype(y0.dtype)
    y = y0.detach().to(dtype)
    if y1 is None:
        y1 = draw_noise(y, generator)
    else:
        if y1.shape != y0.shape:
            raise ValueError(f"y1 shape {tuple(y1.shape)} differs from y0 {tuple(y0.shape)}")
        y1 = y1.detach().to(y.device, dtype)
    y0 = y
    trajectory = [y] if keep_trajectory else None
    total = n - k0
    for done, j in enumerate(range(n, k0, -1), start=1):
        sigma_a, delta = sig[j], deltas[j - 1]
        drift = call_velocity(velocity, y, sigma_a)
        if gamma > 0:
            pull = (y1 - y) / (1.0 - sigma_a)
            drift = (1.0 - gamma) * drift + gamma * pull
        y = y + delta * drift
        if trajectory is not None:
            trajectory.append(y)
        report(callback, done, total, y)
    return InversionResult(
        latent=y, y0=y0, y1=y1, trajectory=trajectory, nfe=total, start_index=k0
    )
