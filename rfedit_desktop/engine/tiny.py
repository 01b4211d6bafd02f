"""A tiny random pipeline of the real Flux architecture, built fully offline.

Tests and benchmarks need every component of a Flux pipeline (two tokenizers, CLIP and T5 text
encoders, the MMDiT transformer, the VAE, the flow-matching scheduler) without a download and in
milliseconds. The sizes follow diffusers' own tiny Flux test configuration; the VAE has four
blocks so that, like the real one, it shrinks images by 8 and produces 16 latent channels.
Weights are random but seeded, so two calls with one seed give bit-identical pipelines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .offline_tokenizers import build_tokenizers

#: Words the tiny tokenizers know as whole tokens (anything else is spelled in characters).
TINY_VOCABULARY: tuple[str, ...] = (
    "a photo of cat dog man woman face portrait with glasses hat smiling old young red blue "
    "green yellow black white house tree sky sea mountain painting watercolor oil sketch "
    "car bedroom church flower city night day sunny snow"
).split()

#: Flux's scheduler settings (FLUX.1-dev's scheduler_config.json): dynamic shift on.
FLUX_SCHEDULER_CONFIG: dict[str, Any] = {
    "num_train_timesteps": 1000,
    "shift": 3.0,
    "use_dynamic_shifting": True,
    "base_shift": 0.5,
    "max_shift": 1.15,
    "base_image_seq_len": 256,
    "max_image_seq_len": 4096,
}

LATENT_CHANNELS = 16


def tiny_flux(seed: int = 0, guidance_embeds: bool = True):
    """A seeded random `FluxPipeline` with tiny components, in eval mode, on the CPU in fp32."""
    import torch
    from diffusers import (
        AutoencoderKL,
        FlowMatchEulerDiscreteScheduler,
        FluxPipeline,
        FluxTransformer2DModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, T5Config, T5EncoderModel

    clip_tok, t5_tok = build_tokenizers(TINY_VOCABULARY)
    # Each component gets its own seed derived from `seed`, so adding one never changes another.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        transformer = FluxTransformer2DModel(
            patch_size=1,
            in_channels=4 * LATENT_CHANNELS,
            num_layers=1,
            num_single_layers=1,
            attention_head_dim=16,
            num_attention_heads=2,
            joint_attention_dim=32,
            pooled_projection_dim=32,
            guidance_embeds=guidance_embeds,
            axes_dims_rope=(4, 4, 8),
        )
        torch.manual_seed(seed + 1)
        text_encoder = CLIPTextModel(
            CLIPTextConfig(
                vocab_size=len(clip_tok),
                hidden_size=32,
                intermediate_size=37,
                projection_dim=32,
                num_hidden_layers=2,
                num_attention_heads=4,
                max_position_embeddings=clip_tok.model_max_length,
                hidden_act="gelu",
                bos_token_id=clip_tok.convert_tokens_to_ids("<|startoftext|>"),
                eos_token_id=clip_tok.convert_tokens_to_ids("<|endoftext|>"),
                pad_token_id=clip_tok.convert_tokens_to_ids("<|endoftext|>"),
            )
        )
        torch.manual_seed(seed + 2)
        text_encoder_2 = T5EncoderModel(
            T5Config(
                vocab_size=len(t5_tok),
                d_model=32,
                d_kv=8,
                d_ff=37,
                num_layers=2,
                num_heads=4,
                relative_attention_num_buckets=8,
                feed_forward_proj="gated-gelu",
                is_encoder_decoder=False,
                use_cache=False,
                pad_token_id=t5_tok.pad_token_id,
                eos_token_id=t5_tok.eos_token_id,
            )
        )
        torch.manual_seed(seed + 3)
        vae = AutoencoderKL(
            in_channels=3,
            out_channels=3,
            down_block_types=("DownEncoderBlock2D",) * 4,
            up_block_types=("UpDecoderBlock2D",) * 4,
            block_out_channels=(8, 8, 16, 16),
            layers_per_block=1,
            latent_channels=LATENT_CHANNELS,
            norm_num_groups=4,
            sample_size=64,
            use_quant_conv=False,
            use_post_quant_conv=False,
            mid_block_add_attention=False,
            # Flux's own latent normalisation, so the engine's (x - shift) * scale path is exercised.
            shift_factor=0.1159,
            scaling_factor=0.3611,
        )
    scheduler = FlowMatchEulerDiscreteScheduler(**FLUX_SCHEDULER_CONFIG)
    pipe = FluxPipeline(
        scheduler=scheduler,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=clip_tok,
        text_encoder_2=text_encoder_2,
        tokenizer_2=t5_tok,
        transformer=transformer,
    )
    for module in (transformer, text_encoder, text_encoder_2, vae):
        module.eval().requires_grad_(False)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def save_tiny_flux(folder: str | Path, seed: int = 0, guidance_embeds: bool = True) -> Path:
    """Write the tiny pipeline as a diffusers folder (safetensors), for loader tests."""
    folder = Path(folder)
    tiny_flux(seed, guidance_embeds).save_pretrained(folder, safe_serialization=True)
    return folder
