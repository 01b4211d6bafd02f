"""RF-Inversion, RF-Solver, FireFlow and FlowEdit on any velocity function (ALGORITHM.md).

Nothing here knows about images, Flux weights or Qt: a model is any callable
`velocity(x, sigma) -> u` with sigma a python float, so every property can be tested with
analytic fields and random networks.
"""

from ._steps import CountedVelocity
from .analytic import gaussian_velocity
from .editing import edit, eta_schedule, sample, sdedit
from .fireflow import fireflow_invert, fireflow_sample
from .flowedit import FlowEditResult, check_flowedit, flowedit
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
from .rf_solver import rf_solver_invert, rf_solver_sample

__all__ = [
    "CountedVelocity",
    "FlowEditResult",
    "check_flowedit",
    "fireflow_invert",
    "fireflow_sample",
    "flowedit",
    "rf_solver_invert",
    "rf_solver_sample",
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
