"""Controlled reverse ODE/SDE: structured noise -> edited latent (ALGORITHM.md §4-§6).

One loop serves RF-Inversion editing, plain sampling and SDEdit, so the baselines differ from
the method only in their parameters.
"""

from __future__ import annotations

import math

import torch

from ._steps import Callback, Velocity, call_velocity, draw_noise, report, state_dtype
from .grid import check_sigmas, check_strength, is_real, start_index, step_sizes


def eta_schedule(
    num_steps: int,
    eta: float,
    start: float = 0.0,
    stop: float = 0.25,
    decay_power: float | None = None,
) -> list[float]:
    """eta_i for each step i of N: eta inside [floor(start N), floor(stop N)), else 0.

    With `decay_power` p the window's values fade as eta (1 - i/N)^p. Indices are absolute grid
    indices, so a strength truncation does not move the window.
    """
    if not (is_real(eta) and 0.0 <= eta <= 1.0):
        raise ValueError(f"eta must be in [0, 1], got {eta!r}")
    if not (is_real(start) and is_real(stop) and 0.0 <= start <= 1.0 and 0.0 <= stop <= 1.0):
        raise ValueError(f"start and stop must be fractions in [0, 1], got {start!r}, {stop!r}")
    if start > stop:
        raise ValueError(f"start ({start}) must not be after stop ({stop})")
    if decay_power is not None and not (is_real(decay_power) and decay_power >= 0):
        raise ValueError(f"decay_power must be >= 0 or None, got {decay_power!r}")
    # the tolerance keeps e.g. start = 3/28 on step 3 despite rounding in 3/28 * 28
    first = math.floor(start * num_steps + 1e-9)
    last = math.floor(stop * num_steps + 1e-9)
    etas = []
    for i in range(num_steps):
        value = float(eta) if first <= i < last else 0.0
        if value and decay_power is not None:
            value *= (1.0 - i / num_steps) ** decay_power
        etas.append(value)
    return etas


def _check_mask(
    mask: torch.Tensor | None,
    trajectory: list[torch.Tensor] | None,
    x: torch.Tensor,
    n: int,
    k0: int,
) -> torch.Tensor | None:
    if mask is None:
        return None
    if trajectory is None:
        raise ValueError("a masked edit needs the inversion's trajectory (keep_trajectory=True)")
    try:
        shape = torch.broadcast_shapes(mask.shape, x.shape)
    except RuntimeError:
        shape = None
    if shape != x.shape:
        raise ValueError(f"mask shape {tuple(mask.shape)} does not broadcast to {tuple(x.shape)}")
    if len(trajectory) != n - k0 + 1:
        raise ValueError(
            f"trajectory has {len(trajectory)} latents; {n - k0 + 1} expected for "
            f"{n} steps from index {k0}"
        )
    m = mask.detach().to(x.device, x.dtype)
    if m.numel() and (m.min() < 0 or m.max() > 1):
        raise ValueError("mask values must lie in [0, 1]")
    return m


def _denoise(
    velocity: Velocity,
    x: torch.Tensor,
    y0: torch.Tensor | None,
    sigmas: torch.Tensor,
    k0: int,
    etas: list[float],
    *,
    stochastic: bool,
    generator: torch.Generator | None,
    callback: Callback | None,
    mask: torch.Tensor | None = None,
    trajectory: list[torch.Tensor] | None = None,
) -> torch.Tensor:
    sig = check_sigmas(sigmas)
    deltas = step_sizes(sigmas)
    n = len(sig) - 1
    m = _check_mask(mask, trajectory, x, n, k0)
    total = n - k0
    for done, i in enumerate(range(k0, n), start=1):
        sigma, delta, eta = sig[i], deltas[i], etas[i]
        v = -call_velocity(velocity, x, sigma)
        noisy = stochastic and sigma < 1.0 and sig[i + 1] > 0.0 and eta < 1.0
        if noisy:
            # Lemma A.4: same marginals as the ODE; the score comes from the velocity.
            drift = 2.0 * v - x / (1.0 - sigma)
        else:
            drift = v
        if eta > 0:
            drift = (1.0 - eta) * drift + eta * ((y0 - x) / sigma)
        x = x + delta * drift
        if noisy:
            scale = math.sqrt((1.0 - eta) * 2.0 * sigma * delta / (1.0 - sigma))
            x = x + scale * draw_noise(x, generator)
        if m is not None:
            x = m * x + (1.0 - m) * trajectory[n - (i + 1)].to(x.device, x.dtype)
        report(callback, done, total, x)
    return x


def edit(
    velocity: Velocity,
    x: torch.Tensor,
    y0: torch.Tensor,
    sigmas: torch.Tensor,
    *,
    eta: float = 0.9,
    start: float = 0.0,
    stop: float = 0.25,
    decay_power: float | None = None,
    strength: float = 1.0,
    stochastic: bool = False,
    generator: torch.Generator | None = None,
    callback: Callback | None = None,
    mask: torch.Tensor | None = None,
    trajectory: list[torch.Tensor] | None = None,
) -> torch.Tensor:
    """Walk the inverted latent `x` (at sigma_{k0}) down to sigma = 0 under the target velocity.

    Inside the eta window each step is pulled towards the straight line to `y0`; eta = 1
    everywhere ends on y0, eta = 0 everywhere is plain Euler sampling. `stochastic` uses the
    rectified SDE (§5) with deterministic first and last steps. With `mask` (1 = may change)
    and the inversion's `trajectory`, the unmasked region is put back on the trajectory after
    every step, so it ends exactly on y0. Returns the latent in float32 (or float64).
    """
    sig = check_sigmas(sigmas)
    n = len(sig) - 1
    k0 = start_index(n, strength)
    etas = eta_schedule(n, eta, start, stop, decay_power)
    if x.shape != y0.shape:
        raise ValueError(f"x shape {tuple(x.shape)} differs from y0 {tuple(y0.shape)}")
    dtype = state_dtype(x.dtype)
    x = x.detach().to(dtype)
    y0 = y0.detach().to(x.device, dtype)
    return _denoise(
        velocity, x, y0, sigmas, k0, etas,
        stochastic=stochastic, generator=generator, callback=callback,
        mask=mask, trajectory=trajectory,
    )


def sample(
    velocity: Velocity,
    noise: torch.Tensor,
    sigmas: torch.Tensor,
    *,
    stochastic: bool = False,
    generator: torch.Generator | None = None,
    callback: Callback | None = None,
) -> torch.Tensor:
    """Plain generation from `noise` at sigma_0 down to 0: Euler ODE, or the rectified SDE."""
    n = len(check_sigmas(sigmas)) - 1
    x = noise.detach().to(state_dtype(noise.dtype))
    return _denoise(
        velocity, x, None, sigmas, 0, [0.0] * n,
        stochastic=stochastic, generator=generator, callback=callback,
    )


def sdedit(
    velocity: Velocity,
    y0: torch.Tensor,
    sigmas: torch.Tensor,
    *,
    strength: float,
    generator: torch.Generator | None,
    callback: Callback | None = None,
) -> torch.Tensor:
    """SDEdit baseline: noise y0 to sigma_{k0} with fresh noise, then plain Euler sampling."""
    check_strength(strength)
    n = len(check_sigmas(sigmas)) - 1
    k0 = start_index(n, strength)
    y = y0.detach().to(state_dtype(y0.dtype))
    sigma = float(sigmas[k0])
    x = (1.0 - sigma) * y + sigma * draw_noise(y, generator)
    return _denoise(
        velocity, x, None, sigmas, k0, [0.0] * n,
        stochastic=False, generator=generator, callback=callback,
    )
