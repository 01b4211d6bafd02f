"""What every sampler run shares: the sigma grid for an image size and seeded noise streams.

Edit, inversion and generation must agree on both, or a cached inversion would not match.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from .. import flow

if TYPE_CHECKING:
    from .session import Engine


def seed_generator(seed: int, stream: int) -> torch.Generator:
    """A CPU generator per purpose (0: inversion noise y1, 1: editing noise), so a cache hit,
    which skips drawing y1, leaves the editing noise unchanged."""
    g = torch.Generator(device="cpu")
    g.manual_seed((seed * 2 + stream) % (2**63))
    return g


def sigma_schedule(engine: Engine, steps: int, height: int, width: int) -> torch.Tensor:
    """The model's shifted sigma grid for `steps` steps at this image size."""
    seq = flow.image_seq_len(height, width, engine.vae_scale_factor)
    return flow.flux_sigmas(steps, seq, config=engine.shift_config)
