"""The exact velocity field of Gaussian data, a model with no training error (ALGORITHM.md §8.4).

With data N(m, s^2 I) every discretisation error is the scheme's own, so tests and benchmarks
can measure convergence order and sampler marginals without a network.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


def gaussian_velocity(mean: float, std: float) -> Callable[[torch.Tensor, float], torch.Tensor]:
    """u(x, sigma) = E[eps - x0 | x_sigma = x] for x0 ~ N(mean, std^2), per coordinate."""
    if std <= 0:
        raise ValueError(f"std must be > 0, got {std!r}")
    m, s2 = float(mean), float(std) ** 2

    def velocity(x: torch.Tensor, sigma: float) -> torch.Tensor:
        sigma = float(sigma)
        var = (1.0 - sigma) ** 2 * s2 + sigma**2
        gain = (sigma - (1.0 - sigma) * s2) / var
        return gain * (x - (1.0 - sigma) * m) - m

    return velocity
