"""FLUX.1-dev's public component configs, and the peaks published for its memory modes.

The planner's tests and the GPU benchmark need the real model's sizes without its weights:
the configs below are those of black-forest-labs/FLUX.1-dev's diffusers folders, and
`flux1_dev_shape` counts their parameters by building them on torch's meta device (no memory).
"""

from __future__ import annotations

from typing import Any

TRANSFORMER: dict[str, Any] = {
    "attention_head_dim": 128, "axes_dims_rope": (16, 56, 56), "guidance_embeds": True,
    "in_channels": 64, "joint_attention_dim": 4096, "num_attention_heads": 24,
    "num_layers": 19, "num_single_layers": 38, "patch_size": 1, "pooled_projection_dim": 768,
}
T5: dict[str, Any] = {
    "d_model": 4096, "d_ff": 10240, "d_kv": 64, "num_heads": 64, "num_layers": 24,
    "vocab_size": 32128, "feed_forward_proj": "gated-gelu", "relative_attention_num_buckets": 32,
    "relative_attention_max_distance": 128, "is_encoder_decoder": False, "use_cache": False,
}
CLIP: dict[str, Any] = {
    "hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12,
    "num_attention_heads": 12, "vocab_size": 49408, "max_position_embeddings": 77,
    "projection_dim": 768, "hidden_act": "quick_gelu",
}
VAE: dict[str, Any] = {
    "in_channels": 3, "out_channels": 3, "latent_channels": 16,
    "block_out_channels": (128, 256, 512, 512), "layers_per_block": 2,
    "down_block_types": ("DownEncoderBlock2D",) * 4, "up_block_types": ("UpDecoderBlock2D",) * 4,
    "norm_num_groups": 32, "use_quant_conv": False, "use_post_quant_conv": False,
    "shift_factor": 0.1159, "scaling_factor": 0.3611, "sample_size": 1024,
}
TEXT_TOKENS = 512
"""FLUX.1-dev pads T5 prompts to 512 tokens."""
GGUF_Q4_1_BYTES = 7_530_000_000
"""Size of city96's flux1-dev-Q4_1.gguf (about 7.53 GB)."""

#: Peak GiB of a 1024² FLUX.1-dev pipeline as diffusers' quantisation benchmarks publish them
#: (issue 12): (transformer weights, offload) -> peak.
PUBLISHED_PEAKS: dict[tuple[str, str], float] = {
    ("none", "none"): 36.2,
    ("fp8", "none"): 28.5,
    ("int8", "none"): 24.4,
    ("nf4", "none"): 17.3,
    ("nf4", "model-offload"): 12.4,
    ("gguf", "none"): 21.3,
    ("gguf", "model-offload"): 9.2,
}


def build(component: str, device: Any = "meta", dtype: Any = None, config: dict | None = None):
    """One component at FLUX.1-dev's size (random weights) on `device`."""
    import torch
    from diffusers import AutoencoderKL, FluxTransformer2DModel
    from transformers import CLIPTextConfig, CLIPTextModel, T5Config, T5EncoderModel

    with torch.device(device):
        if component == "transformer":
            model = FluxTransformer2DModel(**(config or TRANSFORMER))
        elif component == "text_encoder_2":
            model = T5EncoderModel(T5Config(**(config or T5)))
        elif component == "text_encoder":
            model = CLIPTextModel(CLIPTextConfig(**(config or CLIP)))
        elif component == "vae":
            model = AutoencoderKL(**(config or VAE))
        else:
            raise ValueError(f"unknown component {component!r}")
    if dtype is not None:
        model = model.to(dtype=dtype)
    return model.eval().requires_grad_(False)


def flux1_dev_shape(gguf_bytes: int | None = None):
    """FLUX.1-dev as the planner sees it, counted from the configs on the meta device."""
    from .memory_plan import ModelShape, count_module

    parts = {name: count_module(build(name))
             for name in ("transformer", "text_encoder", "text_encoder_2", "vae")}
    parts = {n: type(c)(c.params, 2 * c.params, c.largest_tensor) for n, c in parts.items()}
    width = TRANSFORMER["num_attention_heads"] * TRANSFORMER["attention_head_dim"]
    return ModelShape(parts, width, T5["d_model"], TEXT_TOKENS, gguf_bytes=gguf_bytes)
