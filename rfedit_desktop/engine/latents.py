"""Pixels to the packed latent tokens Flux works on and back: the VAE, token positions, masks.

One place knows the VAE's shift and scale and the 2×2 packing, so encode and decode stay
exact inverses of each other's conventions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from .. import flow
from . import images
from .devices import configure_vae_tiling
from .prepare import Prepared

if TYPE_CHECKING:
    from .session import Engine


def _vae_shift_scale(engine: Engine) -> tuple[float, float]:
    cfg = engine.pipe.vae.config
    shift = cfg.get("shift_factor", None) or 0.0
    scale = cfg.get("scaling_factor", None) or 1.0
    return float(shift), float(scale)


def encode_image(engine: Engine, rgb: np.ndarray) -> torch.Tensor:
    """h×w×3 uint8 → packed, normalised latent (1, tokens, 4C) in float32, from the VAE mean."""
    vae = engine.pipe.vae
    configure_vae_tiling(engine.pipe, rgb.shape[0], rgb.shape[1])
    x = torch.from_numpy(np.array(rgb, dtype=np.float32)).permute(2, 0, 1)[None] / 127.5 - 1.0
    x = x.to(engine.device, vae.dtype)
    with torch.inference_mode():
        # The mean, not a sample: encoding the same pixels must give the same latent.
        z = vae.encode(x).latent_dist.mean
    shift, scale = _vae_shift_scale(engine)
    z = (z.float() - shift) * scale
    return flow.pack_latents(z)


def decode_latent(engine: Engine, packed: torch.Tensor, height: int, width: int) -> np.ndarray:
    """Packed normalised latent → h×w×3 uint8 pixels at the model's size."""
    vae = engine.pipe.vae
    f = engine.vae_scale_factor
    z = flow.unpack_latents(packed.float(), height // f, width // f)
    shift, scale = _vae_shift_scale(engine)
    z = (z / scale + shift).to(engine.device, vae.dtype)
    configure_vae_tiling(engine.pipe, height, width)
    with torch.inference_mode():
        x = vae.decode(z, return_dict=False)[0]
    x = ((x.float().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)
    return x[0].permute(1, 2, 0).cpu().numpy()


def image_ids(height: int, width: int, f: int, device: torch.device, dtype) -> torch.Tensor:
    """Flux's 2-D rotary positions of the packed tokens (row, column) as diffusers builds them."""
    lh, lw = height // (2 * f), width // (2 * f)
    ids = torch.zeros(lh, lw, 3)
    ids[..., 1] = torch.arange(lh)[:, None]
    ids[..., 2] = torch.arange(lw)[None, :]
    return ids.reshape(lh * lw, 3).to(device=device, dtype=dtype)


def latent_mask(engine: Engine, prepared: Prepared, like: torch.Tensor) -> torch.Tensor:
    """Pixel mask → packed token mask (0 or 1): a latent cell may change if any pixel in it
    takes part of the edit, the feathered margin included, so the soft edge blends into
    regenerated content rather than into the VAE's copy of the original."""
    f = engine.vae_scale_factor
    m = images.to_model_size(prepared.weight, prepared.height, prepared.width)
    m = torch.from_numpy(np.ascontiguousarray(m, dtype=np.float32))[None, None]
    m = (torch.nn.functional.max_pool2d(m, kernel_size=f, stride=f) > 1e-3).float()
    c = engine.latent_channels
    packed = flow.pack_latents(m.expand(1, c, m.shape[2], m.shape[3]).contiguous())
    return packed.to(like.device, like.dtype)
