"""The demo model's components: the FLUX.1 classes from diffusers/transformers, scaled down.

Same classes as FLUX.1 so that the demo model goes through exactly the engine code a real Flux
goes through; only the sizes differ. Choices (and why):

- VAE: `AutoencoderKL` with 3 blocks, a 4x downsampling, 4 latent channels, no quant convs
  (Flux has none), no mid-block attention (cheap on CPU). 64x64 pixels -> 16x16x4 latents ->
  8x8 = 64 packed tokens of 16 values, each token covering 8x8 pixels. (An 8x VAE with 16
  channels, FLUX.1's own layout, would give only 16 tokens of 16x16 pixels; it was not tried.)
  Channels (16, 32, 64) because the full-resolution convolutions dominate the CPU cost.
- Transformer: `FluxTransformer2DModel`, 2 double-stream + 4 single-stream blocks, width 128.
  No guidance embedding (like FLUX.1-schnell): guidance distillation needs a trained teacher
  we do not have; the model is conditional with 10% caption dropout, so the empty prompt (the
  paper's inversion prompt) is in its training distribution.
- Text encoders: small `CLIPTextModel` and `T5EncoderModel`, randomly initialised from a fixed
  seed and never trained (saved as they are); the transformer learns to read them. T5's
  relative-position bias is drawn with std 3 instead of its default 0.125, so that a word's code
  depends on its neighbours (see `build_text_encoders`).
- Scheduler: Flux's own `FlowMatchEulerDiscreteScheduler`, with a static shift of 3 (SD3's
  rule `3 s / (1 + 2 s)`) instead of FLUX.1's dynamic one, and training draws its sigmas with
  the same shift. The object's outline is decided at high noise, where FLUX.1's rule (only a
  1.6x shift at 64 tokens) put too few training samples: a model trained with it learned
  colours but drew every shape as the same blob. The engine reads the shift from this config,
  so it samples the grid training weighted.
"""

from __future__ import annotations

from typing import Any

T5_MAX_LENGTH = 16  # every demo caption fits; the engine reads it from tokenizer_2
SIGMA_SHIFT = 3.0  # static shift (SD3's rule) of the sampling grid and of training's sigmas
TEXT_SEED = 1234
T5_POSITION_BIAS_STD = 3.0

VAE_CONFIG: dict[str, Any] = dict(
    in_channels=3,
    out_channels=3,
    down_block_types=("DownEncoderBlock2D",) * 3,
    up_block_types=("UpDecoderBlock2D",) * 3,
    block_out_channels=(16, 32, 64),
    layers_per_block=1,
    latent_channels=4,
    norm_num_groups=8,
    sample_size=64,
    use_quant_conv=False,
    use_post_quant_conv=False,
    mid_block_add_attention=False,
    scaling_factor=1.0,
    shift_factor=0.0,
)

TRANSFORMER_CONFIG: dict[str, Any] = dict(
    patch_size=1,
    in_channels=16,
    num_layers=2,
    num_single_layers=4,
    attention_head_dim=32,
    num_attention_heads=4,
    joint_attention_dim=64,
    pooled_projection_dim=64,
    guidance_embeds=False,
    axes_dims_rope=(8, 12, 12),
)

SCHEDULER_CONFIG: dict[str, Any] = dict(
    num_train_timesteps=1000,
    shift=SIGMA_SHIFT,
    use_dynamic_shifting=False,
    base_shift=0.5,
    max_shift=1.15,
    base_image_seq_len=256,
    max_image_seq_len=4096,
)


def build_tokenizers():
    """The offline CLIP and T5 tokenizers over the demo vocabulary."""
    from ..engine.offline_tokenizers import build_tokenizers as _build
    from .dataset import vocabulary

    return _build(vocabulary(), clip_max_length=77, t5_max_length=T5_MAX_LENGTH)


def build_text_encoders(clip_vocab: int, t5_vocab: int):
    """Small random CLIP and T5 encoders; the same weights for the same seed."""
    import torch
    from transformers import CLIPTextConfig, CLIPTextModel, T5Config, T5EncoderModel

    torch.manual_seed(TEXT_SEED)
    clip = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=clip_vocab,
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=2,
            max_position_embeddings=77,
            projection_dim=64,
            bos_token_id=0,
            eos_token_id=1,
            pad_token_id=1,
        )
    )
    t5 = T5EncoderModel(
        T5Config(
            vocab_size=t5_vocab,
            d_model=64,
            d_kv=16,
            d_ff=128,
            num_layers=2,
            num_heads=4,
            relative_attention_num_buckets=8,
            relative_attention_max_distance=16,
            feed_forward_proj="gated-gelu",
            pad_token_id=0,
            eos_token_id=1,
            decoder_start_token_id=0,
        )
    )
    # T5's default init gives a near-zero relative-position bias, so its attention is almost
    # uniform and every word comes out as itself plus the sentence average: "blue" in "a blue
    # circle on a yellow background" and in "a yellow circle on a blue background" would be
    # the same token (measured: 7% apart). Flux gives text tokens no positions of their own, so
    # the transformer could not tell object from background colour. A strong random position
    # bias (still random, still fixed) makes each word mix with its neighbours (58% apart).
    gen = torch.Generator().manual_seed(TEXT_SEED + 1)
    with torch.no_grad():
        bias = t5.encoder.block[0].layer[0].SelfAttention.relative_attention_bias.weight
        bias.copy_(torch.randn(bias.shape, generator=gen) * T5_POSITION_BIAS_STD)
    return clip.eval(), t5.eval()


def build_vae(seed: int = 0):
    import torch
    from diffusers import AutoencoderKL

    torch.manual_seed(seed)
    return AutoencoderKL(**VAE_CONFIG)


def build_transformer(seed: int = 0):
    import torch
    from diffusers import FluxTransformer2DModel

    torch.manual_seed(seed)
    return FluxTransformer2DModel(**TRANSFORMER_CONFIG)


def build_scheduler():
    from diffusers import FlowMatchEulerDiscreteScheduler

    return FlowMatchEulerDiscreteScheduler(**SCHEDULER_CONFIG)


def assemble_pipeline(vae, transformer):
    """A `FluxPipeline` from trained parts plus the fixed text side."""
    from diffusers import FluxPipeline

    clip_tok, t5_tok = build_tokenizers()
    clip, t5 = build_text_encoders(len(clip_tok), len(t5_tok))
    return FluxPipeline(
        scheduler=build_scheduler(),
        vae=vae,
        text_encoder=clip,
        tokenizer=clip_tok,
        text_encoder_2=t5,
        tokenizer_2=t5_tok,
        transformer=transformer,
    )
