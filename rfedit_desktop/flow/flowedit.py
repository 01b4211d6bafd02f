"""FlowEdit: editing without inversion (Kulikov, Kleiner, Huberman-Spiegelglas, Michaeli,
"FlowEdit: Inversion-Free Text-Based Editing Using Pre-Trained Flow Models", ICCV 2025; update
rule as in its public code, `FlowEditFLUX`).

- σ convention: ALGORITHM.md §1, on the same grid (§2) walked downwards, σ_0 = 1 > … > σ_N = 0.
  The source velocity u_src carries the source prompt and source guidance, the target velocity
  u_tgt the target prompt and guidance (Flux's distilled guidance lives inside each velocity).
- The edit starts at Z = x_src and skips the first N − n_max steps. For i = N − n_max … N − n_min − 1:

      for k in 1 … n_avg:   ε_k ~ N(0, I)                    (fresh, from the seeded generator)
                            Z_src = (1 − σ_i)·x_src + σ_i·ε_k  (a noised copy of the source)
                            Z_tgt = Z_src + (Z − x_src)
                            Δ    += [u_tgt(Z_tgt, σ_i) − u_src(Z_src, σ_i)] / n_avg
      Z ← Z + (σ_{i+1} − σ_i)·Δ

  Then, if n_min > 0, the last n_min steps are plain Euler sampling under u_tgt from
  X = (1 − σ_i)·x_src + σ_i·ε + (Z − x_src) at i = N − n_min (one more fresh ε), and X is the
  result; otherwise Z is.
- Properties: n_max = 0 returns x_src; identical source and target velocities give Δ = 0 at
  every step (Z_tgt is computed as Z_src + (Z − x_src), so it equals Z_src bit for bit), and with
  n_min = 0 the result is x_src exactly.
- The source terms u_src(Z_src, σ_i) depend only on x_src, the seed, the grid and the source
  conditioning: a re-edit with another target can take them from a cache.
- NFE: 2·n_avg·(n_max − n_min) + n_min; with cached source terms n_avg·(n_max − n_min) + n_min.
  The paper's FLUX setting: N = 28, n_max = 24, n_min = 0, n_avg = 1, source guidance 1.5,
  target guidance 5.5.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ._steps import Callback, CountedVelocity, Velocity, draw_noise, report, state_dtype
from .grid import check_sigmas, is_integer


@dataclass
class FlowEditResult:
    """The edited latent, the evaluations it cost and the source terms, in the order used."""

    latent: torch.Tensor
    nfe: int
    source_velocities: list[torch.Tensor]


def check_flowedit(num_steps: int, n_max: int, n_min: int, n_avg: int) -> None:
    """0 <= n_min <= n_max <= N and n_avg >= 1, all whole numbers; ValueError says which."""
    for name, value in (("n_max", n_max), ("n_min", n_min), ("n_avg", n_avg)):
        if not is_integer(value):
            raise ValueError(f"{name} must be a whole number, got {value!r}")
    if not 0 <= n_max <= num_steps:
        raise ValueError(f"n_max must be from 0 to the number of steps ({num_steps}), got {n_max}")
    if not 0 <= n_min <= n_max:
        raise ValueError(f"n_min must be from 0 to n_max ({n_max}), got {n_min}")
    if n_avg < 1:
        raise ValueError(f"n_avg must be >= 1, got {n_avg}")


def flowedit(
    source_velocity: Velocity,
    target_velocity: Velocity,
    x_src: torch.Tensor,
    sigmas: torch.Tensor,
    *,
    n_max: int,
    n_min: int = 0,
    n_avg: int = 1,
    generator: torch.Generator | None,
    callback: Callback | None = None,
    source_velocities: list[torch.Tensor] | None = None,
) -> FlowEditResult:
    """Edit `x_src` by integrating u_tgt − u_src along noised copies of it (module docstring).

    `source_velocities`, from an earlier result with the same source, seed, grid and n
    parameters, replaces the source evaluations; the result is bit-identical either way.
    """
    sig = check_sigmas(sigmas)
    n = len(sig) - 1
    check_flowedit(n, n_max, n_min, n_avg)
    first, tail = n - n_max, n - n_min
    expected = n_avg * (tail - first)
    if source_velocities is not None and len(source_velocities) != expected:
        raise ValueError(
            f"{len(source_velocities)} cached source velocities; {expected} expected"
        )
    u_src, u_tgt = CountedVelocity(source_velocity), CountedVelocity(target_velocity)
    x0 = x_src.detach().to(state_dtype(x_src.dtype))
    z = x0
    used: list[torch.Tensor] = []
    for done, i in enumerate(range(first, tail), start=1):
        sigma = sig[i]
        delta = torch.zeros_like(x0)
        for _ in range(n_avg):
            z_src = (1.0 - sigma) * x0 + sigma * draw_noise(x0, generator)
            z_tgt = z_src + (z - x0)
            if source_velocities is not None:
                v_src = source_velocities[len(used)].to(x0.device, x0.dtype)
            else:
                v_src = u_src(z_src, sigma)
            used.append(v_src)
            delta = delta + (u_tgt(z_tgt, sigma) - v_src) / n_avg
        z = z + (sig[i + 1] - sigma) * delta
        report(callback, done, n_max, z)
    if n_min == 0:
        return FlowEditResult(z, u_src.calls + u_tgt.calls, used)
    sigma = sig[tail]
    x = (1.0 - sigma) * x0 + sigma * draw_noise(x0, generator) + (z - x0)
    for done, i in enumerate(range(tail, n), start=n_max - n_min + 1):
        x = x + (sig[i + 1] - sig[i]) * u_tgt(x, sig[i])
        report(callback, done, n_max, x)
    return FlowEditResult(x, u_src.calls + u_tgt.calls, used)
