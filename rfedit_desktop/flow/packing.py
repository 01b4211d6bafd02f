"""Flux's 2x2 patch packing of VAE latents into a token sequence (as diffusers' FluxPipeline)."""

from __future__ import annotations

import torch


def pack_latents(latents: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, H/2 * W/2, 4C); each token holds one 2x2 patch, channel-major."""
    if latents.ndim != 4:
        raise ValueError(f"expected latents of shape (B, C, H, W), got {tuple(latents.shape)}")
    b, c, h, w = latents.shape
    if h % 2 or w % 2:
        raise ValueError(f"latent height and width must be even, got {h}x{w}")
    x = latents.reshape(b, c, h // 2, 2, w // 2, 2).permute(0, 2, 4, 1, 3, 5)
    return x.reshape(b, (h // 2) * (w // 2), c * 4)


def unpack_latents(packed: torch.Tensor, latent_height: int, latent_width: int) -> torch.Tensor:
    """Inverse of `pack_latents`; the sizes are the latent's (pixel size / VAE scale factor)."""
    if packed.ndim != 3:
        raise ValueError(f"expected packed latents (B, L, 4C), got {tuple(packed.shape)}")
    b, n, d = packed.shape
    h, w = latent_height, latent_width
    if h % 2 or w % 2 or (h // 2) * (w // 2) != n or d % 4:
        raise ValueError(
            f"packed shape {tuple(packed.shape)} does not match latent size {h}x{w}"
        )
    x = packed.reshape(b, h // 2, w // 2, d // 4, 2, 2).permute(0, 3, 1, 4, 2, 5)
    return x.reshape(b, d // 4, h, w)


def image_seq_len(height_px: int, width_px: int, vae_scale_factor: int = 8) -> int:
    """Packed token count of an image: (H/16)(W/16) for Flux's VAE (factor 8) and 2x2 patches."""
    patch = vae_scale_factor * 2
    return (int(height_px) // patch) * (int(width_px) // patch)
