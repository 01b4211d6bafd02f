"""The sigma grid shared by inversion and editing (ALGORITHM.md §2).

Inversion walks the grid upwards and editing walks the very same grid downwards; computing it
once per request is the first condition for a faithful round trip.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

BASE_SEQ_LEN = 256
MAX_SEQ_LEN = 4096
BASE_SHIFT = 0.5
MAX_SHIFT = 1.15


@dataclass(frozen=True)
class ShiftConfig:
    """How a model's scheduler bends the grid; the defaults are FLUX.1-dev's.

    Read from the model's scheduler config rather than assumed, so that a fine-tune trained
    with other constants (or a static shift) is sampled on the grid it was trained for.
    """

    base_seq_len: int = BASE_SEQ_LEN
    max_seq_len: int = MAX_SEQ_LEN
    base_shift: float = BASE_SHIFT
    max_shift: float = MAX_SHIFT
    dynamic: bool = True
    static_shift: float = 1.0

    @classmethod
    def from_scheduler_config(cls, config: Mapping[str, Any]) -> ShiftConfig:
        """From a diffusers FlowMatchEulerDiscreteScheduler config (missing keys: Flux's)."""

        def get(key: str, default: Any) -> Any:
            value = config.get(key)
            return default if value is None else value

        return cls(
            base_seq_len=int(get("base_image_seq_len", BASE_SEQ_LEN)),
            max_seq_len=int(get("max_image_seq_len", MAX_SEQ_LEN)),
            base_shift=float(get("base_shift", BASE_SHIFT)),
            max_shift=float(get("max_shift", MAX_SHIFT)),
            dynamic=bool(get("use_dynamic_shifting", False)),
            static_shift=float(get("shift", 1.0)),
        )


FLUX_DEV = ShiftConfig()


def flux_mu(image_seq_len: int, config: ShiftConfig = FLUX_DEV) -> float:
    """Flux's shift parameter, linear in the packed token count (256 -> 0.5, 4096 -> 1.15).

    Not clamped outside that range, the same as diffusers' `calculate_shift`.
    """
    slope = (config.max_shift - config.base_shift) / (config.max_seq_len - config.base_seq_len)
    return config.base_shift + slope * (image_seq_len - config.base_seq_len)


def flux_sigmas(
    num_steps: int,
    image_seq_len: int | None = None,
    shift: bool = True,
    config: ShiftConfig = FLUX_DEV,
) -> torch.Tensor:
    """The descending grid `sigma_0 = 1 > ... > sigma_N = 0` as N+1 float32 values.

    The base grid `linspace(1, 1/N, N)` is shifted by `e^mu / (e^mu + 1/sigma - 1)` with
    `mu = flux_mu(image_seq_len, config)`; `image_seq_len=None` or `shift=False` (Schnell)
    leaves it unshifted. A config without dynamic shifting applies its static shift `s` as
    `s sigma / (1 + (s - 1) sigma)` (identity for s = 1), as diffusers does. Computed in
    float64 and rounded once, so it may differ from diffusers' float32 arithmetic by one ulp.
    """
    if not is_integer(num_steps) or num_steps < 1:
        raise ValueError(f"num_steps must be an integer >= 1, got {num_steps!r}")
    num_steps = int(num_steps)
    base = torch.linspace(1.0, 1.0 / num_steps, num_steps, dtype=torch.float64)
    if shift and config.dynamic and image_seq_len is not None:
        if image_seq_len < 1:
            raise ValueError(f"image_seq_len must be >= 1, got {image_seq_len!r}")
        e = math.exp(flux_mu(image_seq_len, config))
        base = e / (e + (1.0 / base - 1.0))
    elif shift and not config.dynamic and config.static_shift != 1.0:
        s = config.static_shift
        base = s * base / (1.0 + (s - 1.0) * base)
    return torch.cat([base, base.new_zeros(1)]).to(torch.float32)


def check_sigmas(sigmas: torch.Tensor) -> list[float]:
    """Validate a grid and return it as python floats (what the velocity callable receives)."""
    if not isinstance(sigmas, torch.Tensor):
        sigmas = torch.as_tensor(sigmas, dtype=torch.float32)
    if sigmas.ndim != 1 or sigmas.numel() < 2:
        raise ValueError(
            f"sigmas must be a 1-D tensor of at least 2 values (N+1 for N steps), "
            f"got shape {tuple(sigmas.shape)}"
        )
    values = sigmas.detach().to("cpu", torch.float64)
    if not torch.isfinite(values).all():
        raise ValueError("sigmas must be finite")
    if not (values[1:] < values[:-1]).all():
        raise ValueError("sigmas must be strictly descending (sigma_0 = 1 > ... > sigma_N = 0)")
    if values[0] > 1.0 or values[-1] != 0.0:
        raise ValueError(
            f"sigmas must lie in [0, 1] and end at 0, got first {values[0].item():.6g}, "
            f"last {values[-1].item():.6g}"
        )
    return [float(v) for v in sigmas.detach().to("cpu").tolist()]


def step_sizes(sigmas: torch.Tensor) -> list[float]:
    """Delta_i = sigma_i - sigma_{i+1}, computed in the grid's own dtype (as diffusers does)."""
    s = sigmas.detach().to("cpu")
    return [float(d) for d in (s[:-1] - s[1:]).tolist()]


def start_index(num_steps: int, strength: float) -> int:
    """k0 = N - round(strength * N), rounding halves up, kept <= N - 1 so one step always runs.

    strength = 1 is a full inversion to noise (k0 = 0); small strengths touch only the last,
    low-noise steps.
    """
    if not is_integer(num_steps) or num_steps < 1:
        raise ValueError(f"num_steps must be an integer >= 1, got {num_steps!r}")
    check_strength(strength)
    num_steps = int(num_steps)
    done = int(math.floor(strength * num_steps + 0.5))
    return num_steps - max(1, min(num_steps, done))


def is_real(value: object) -> bool:
    """A plain number (python or numpy), not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def is_integer(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_strength(strength: float) -> None:
    if not (is_real(strength) and 0.0 < strength <= 1.0):
        raise ValueError(f"strength must be in (0, 1], got {strength!r}")


def nfe(kind: str, num_steps: int, strength: float = 1.0) -> int:
    """Model evaluations a method costs on an N-step grid.

    `invert`, `edit` and `sdedit` each cost N - k0; `sample` costs N; `round-trip` (invert then
    edit, the full RF-Inversion) costs 2 (N - k0).
    """
    k = num_steps - start_index(num_steps, strength)
    table = {"invert": k, "edit": k, "sdedit": k, "sample": num_steps, "round-trip": 2 * k}
    if kind not in table:
        raise ValueError(f"unknown kind {kind!r}; expected one of {sorted(table)}")
    return table[kind]
