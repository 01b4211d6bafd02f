"""How each transformer weight format is made at load time: bitsandbytes 8-bit and NF4 through
diffusers' quantisation config (CUDA only), fp8 storage with compute in the pipeline's dtype
through diffusers' layerwise casting, GGUF by the loader. Which format to use is decided (and
impossible combinations refused) by `memory_plan` before anything loads.
"""

from __future__ import annotations

import importlib.util
from typing import Any

#: Modules fp8 storage leaves in the compute dtype: diffusers' defaults (norms, positional
#: embeddings) plus the input and output projections, whose precision shows in every pixel.
FP8_SKIP = ("^x_embedder$", "^context_embedder$")


def bitsandbytes_available() -> bool:
    """Whether the optional bitsandbytes package is installed (it runs only on CUDA)."""
    return importlib.util.find_spec("bitsandbytes") is not None


def load_kwargs(quantization: str, dtype: Any) -> dict[str, Any]:
    """Extra `from_pretrained`/`from_single_file` arguments for the transformer."""
    if quantization not in ("int8", "nf4"):
        return {}
    from diffusers import BitsAndBytesConfig

    if quantization == "int8":
        config = BitsAndBytesConfig(load_in_8bit=True)
    else:
        config = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                    bnb_4bit_compute_dtype=dtype)
    return {"quantization_config": config}


def after_load(pipe: Any, quantization: str, dtype: Any) -> None:
    """Formats applied to a loaded transformer: fp8 storage, upcast layer by layer."""
    if quantization != "fp8":
        return
    import torch
    from diffusers.hooks.layerwise_casting import DEFAULT_SKIP_MODULES_PATTERN

    pipe.transformer.enable_layerwise_casting(
        storage_dtype=torch.float8_e4m3fn, compute_dtype=dtype,
        skip_modules_pattern=(*DEFAULT_SKIP_MODULES_PATTERN, *FP8_SKIP),
    )
