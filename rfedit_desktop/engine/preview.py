"""A cheap RGB picture of any latent, for live previews at every step without the VAE.

Flux's VAE latent is close enough to linear in colour that a 16×3 matrix plus a bias gives a
recognisable thumbnail; decoding with the VAE at every step would cost more than the step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

# Linear factors from FLUX.1's normalised 16-channel latent ((z - shift) * scale) to RGB in
# [-1, 1], one row per latent channel, as published by ComfyUI in comfy/latent_formats.py
# (class Flux: latent_rgb_factors and latent_rgb_factors_bias). They are measured numbers.
FLUX_LATENT_RGB_FACTORS: tuple[tuple[float, float, float], ...] = (
    (-0.0346, 0.0244, 0.0681),
    (0.0034, 0.0210, 0.0687),
    (0.0275, -0.0668, -0.0433),
    (-0.0174, 0.0160, 0.0617),
    (0.0859, 0.0721, 0.0329),
    (0.0004, 0.0383, 0.0115),
    (0.0405, 0.0861, 0.0915),
    (-0.0236, -0.0185, -0.0259),
    (-0.0245, 0.0250, 0.1180),
    (0.1008, 0.0755, -0.0421),
    (-0.0515, 0.0201, 0.0011),
    (0.0428, -0.0012, -0.0036),
    (0.0817, 0.0765, 0.0749),
    (-0.1264, -0.0522, -0.1103),
    (-0.0280, -0.0881, -0.0499),
    (-0.1262, -0.0982, -0.0778),
)
FLUX_LATENT_RGB_BIAS: tuple[float, float, float] = (-0.0329, -0.0718, -0.0851)


def fallback_factors(channels: int) -> np.ndarray:
    """A fixed projection for latents without published factors: each third of the channels
    averaged into one of R, G, B (so at least the layout and contrast show)."""
    m = np.zeros((channels, 3), dtype=np.float32)
    for c in range(channels):
        m[c, min(2, c * 3 // channels)] = 1.0
    m /= np.maximum(m.sum(axis=0, keepdims=True), 1.0)
    return m * 0.5


def rgb_projection(
    channels: int, settings: dict[str, Any] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(factors C×3, bias 3) for a latent with `channels` channels.

    A model's `rfedit.json` may supply its own `latent_rgb_factors`/`latent_rgb_bias`; else
    Flux's published factors for 16 channels; else the fixed fallback.
    """
    settings = settings or {}
    given = settings.get("latent_rgb_factors")
    if given is not None:
        factors = np.asarray(given, dtype=np.float32)
        if factors.shape == (channels, 3):
            bias = np.asarray(settings.get("latent_rgb_bias", (0.0, 0.0, 0.0)), dtype=np.float32)
            return factors, bias.reshape(3)
    if channels == len(FLUX_LATENT_RGB_FACTORS):
        return (
            np.asarray(FLUX_LATENT_RGB_FACTORS, dtype=np.float32),
            np.asarray(FLUX_LATENT_RGB_BIAS, dtype=np.float32),
        )
    return fallback_factors(channels), np.zeros(3, dtype=np.float32)


def latent_to_rgb(latent: Any, factors: np.ndarray, bias: Sequence[float]) -> np.ndarray:
    """An unpacked latent (1×C×h×w or C×h×w, tensor or array) → h×w×3 uint8."""
    arr = latent.detach().float().cpu().numpy() if hasattr(latent, "detach") else np.asarray(latent)
    if arr.ndim == 4:
        arr = arr[0]
    rgb = np.einsum("chw,ck->hwk", arr.astype(np.float32), factors) + np.asarray(bias, np.float32)
    return np.clip((rgb + 1.0) * 127.5, 0, 255).round().astype(np.uint8)


def packed_to_rgb(
    packed: Any, latent_h: int, latent_w: int, factors: np.ndarray, bias: Sequence[float]
) -> np.ndarray:
    """A packed Flux latent (1×(h/2·w/2)×4C tokens) → h×w×3 uint8 preview."""
    arr = packed.detach().float().cpu().numpy() if hasattr(packed, "detach") else np.asarray(packed)
    if arr.ndim == 3:
        arr = arr[0]
    c = arr.shape[-1] // 4
    # tokens (h/2, w/2) × (C, 2, 2) → C × h × w; the same layout diffusers packs with.
    grid = arr.reshape(latent_h // 2, latent_w // 2, c, 2, 2).transpose(2, 0, 3, 1, 4)
    return latent_to_rgb(grid.reshape(c, latent_h, latent_w), factors, bias)
