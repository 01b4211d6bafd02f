"""The Flux transformer seen as the velocity field `flow` integrates: `velocity(x, sigma)`.

`flow` knows nothing of prompts, dtypes or devices; this wrapper hides them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch

from .latents import image_ids

if TYPE_CHECKING:
    from .session import Engine


def make_velocity(
    engine: Engine, prompt: str, guidance: float, height: int, width: int
) -> Callable[[torch.Tensor, float], torch.Tensor]:
    """`velocity(x, sigma) -> u` for one prompt and guidance, calling the Flux transformer."""
    pipe = engine.pipe
    transformer = pipe.transformer
    embeds = engine.prompts.encode(pipe, prompt, engine.device)
    model_dtype = transformer.dtype
    img_ids = image_ids(height, width, engine.vae_scale_factor, engine.device, embeds.text_ids.dtype)
    g = None
    if transformer.config.guidance_embeds:
        g = torch.full([1], float(guidance), device=engine.device, dtype=torch.float32)

    def velocity(x: torch.Tensor, sigma: float) -> torch.Tensor:
        # float32 timestep: the embedding is computed in float32 inside, so sigma keeps its
        # precision even when the model runs in bf16
        t = torch.full([x.shape[0]], sigma, device=engine.device, dtype=torch.float32)
        with torch.inference_mode():
            u = transformer(
                hidden_states=x.to(engine.device, model_dtype),
                timestep=t,  # the transformer multiplies by 1000 itself
                guidance=g,
                pooled_projections=embeds.pooled,
                encoder_hidden_states=embeds.prompt_embeds,
                txt_ids=embeds.text_ids,
                img_ids=img_ids,
                return_dict=False,
            )[0]
        u = u.to(x.dtype)
        velocity.last = (x, sigma, u)  # type: ignore[attr-defined]  (for clean previews)
        return u

    velocity.last = None  # type: ignore[attr-defined]
    velocity.truncated = embeds.truncated  # type: ignore[attr-defined]
    return velocity
