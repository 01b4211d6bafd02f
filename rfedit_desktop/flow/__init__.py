"""RF-Inversion mathematics on any velocity function (ALGORITHM.md), pure torch.

Nothing here knows about images, Flux weights or Qt: a model is any callable
`velocity(x, sigma) -> u` with sigma a python float, so every property can be tested with
analytic fields and random networks.
"""

from .analytic import gaussian_velocity
from .editing import edit, eta_schedule, sample, sdedit
from .grid import (
    FLUX_DEV,
    ShiftConfig,
    check_sigmas,
    flux_mu,
    flux_sigmas,
    nfe,
    start_index,
    step_sizes,
)
from .inversion import InversionResult, invert
from .packing import image_seq_len, pack_latents, unpack_latents

__all__ = [
    "InversionResult",
    "check_sigmas",
    "edit",
    "eta_schedule",
    "FLUX_DEV",
    "ShiftConfig",
    "flux_mu",
    "flux_sigmas",
    "gaussian_velocity",
    "image_seq_len",
    "invert",
    "nfe",
    "pack_latents",
    "sample",
    "sdedit",
    "start_index",
    "step_sizes",
    "unpack_latents",
]
