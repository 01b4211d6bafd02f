"""Single-file Flux transformers as users download them, turned into diffusers' layout.

FLUX.1 single files come in Black Forest Labs' own key naming (`flux1-dev.safetensors`,
city96's GGUF quantisations), sometimes behind ComfyUI's `model.diffusion_model.` prefix, and
sometimes already in diffusers' naming (fine-tunes saved with `save_file(transformer
.state_dict())`). diffusers' own converter hard-codes the full-size model's width, so the
conversion here reads every size from the tensors themselves; the result is then checked key by
key and shape by shape against the base's transformer config, because diffusers silently leaves
any weight it does not find uninitialised.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

from ..errors import EditError

#: Prefixes other tools put in front of the transformer's keys (ComfyUI full checkpoints).
PREFIXES: tuple[str, ...] = ("model.diffusion_model.", "diffusion_model.")
#: Keys of other components that full ComfyUI checkpoints carry next to the transformer.
FOREIGN_PREFIXES: tuple[str, ...] = ("text_encoders.", "vae.", "first_stage_model.",
                                     "cond_stage_model.", "conditioner.")
BFL_MARKER = "double_blocks.0.img_attn.qkv.weight"
DIFFUSERS_MARKER = "transformer_blocks.0.attn.to_q.weight"
_MAX_HEADER = 100 * 1024 * 1024  # safetensors' own limit on the JSON header

# One-to-one renames, BFL name -> diffusers name ({i}: block index).
_GLOBAL = {
    "time_in.in_layer": "time_text_embed.timestep_embedder.linear_1",
    "time_in.out_layer": "time_text_embed.timestep_embedder.linear_2",
    "vector_in.in_layer": "time_text_embed.text_embedder.linear_1",
    "vector_in.out_layer": "time_text_embed.text_embedder.linear_2",
    "guidance_in.in_layer": "time_text_embed.guidance_embedder.linear_1",
    "guidance_in.out_layer": "time_text_embed.guidance_embedder.linear_2",
    "txt_in": "context_embedder",
    "img_in": "x_embedder",
    "final_layer.linear": "proj_out",
}
_DOUBLE = {
    "img_mod.lin": "norm1.linear",
    "txt_mod.lin": "norm1_context.linear",
    "img_attn.norm.query_norm.scale": "attn.norm_q.weight",
    "img_attn.norm.key_norm.scale": "attn.norm_k.weight",
    "txt_attn.norm.query_norm.scale": "attn.norm_added_q.weight",
    "txt_attn.norm.key_norm.scale": "attn.norm_added_k.weight",
    "img_mlp.0": "ff.net.0.proj",
    "img_mlp.2": "ff.net.2",
    "txt_mlp.0": "ff_context.net.0.proj",
    "txt_mlp.2": "ff_context.net.2",
    "img_attn.proj": "attn.to_out.0",
    "txt_attn.proj": "attn.to_add_out",
}
_SINGLE = {
    "modulation.lin": "norm.linear",
    "norm.query_norm.scale": "attn.norm_q.weight",
    "norm.key_norm.scale": "attn.norm_k.weight",
    "linear2": "proj_out",
}


def check_safetensors(path: Path) -> None:
    """Read only the header: an EditError if the file is not a complete safetensors file."""
    path = Path(path)
    size = path.stat().st_size
    what = (f"{path.name} is not a usable .safetensors file ({{}}); it may be an unfinished "
            "download, damaged, or another format renamed. Download or convert it again.")
    try:
        with path.open("rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise EditError(what.format(f"only {size} bytes"))
            (n,) = struct.unpack("<Q", head)
            if n == 0 or n > _MAX_HEADER or n > size - 8:
                raise EditError(what.format("its header is unreadable"))
            header = json.loads(f.read(n).decode("utf-8"))
    except EditError:
        raise
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise EditError(what.format("its header is unreadable")) from exc
    if not isinstance(header, dict):
        raise EditError(what.format("its header is unreadable"))
    end = 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        try:
            end = max(end, int(entry["data_offsets"][1]))
        except (KeyError, TypeError, IndexError, ValueError) as exc:
            raise EditError(what.format("its header is unreadable")) from exc
    if 8 + n + end > size:
        raise EditError(what.format(f"it is truncated: {size} of {8 + n + end} bytes"))


def check_gguf(path: Path) -> None:
    """An EditError if the file does not start with the GGUF magic number."""
    with Path(path).open("rb") as f:
        if f.read(4) != b"GGUF":
            raise EditError(f"{Path(path).name} is not a GGUF file (it lacks the GGUF header); "
                            "it may be an unfinished download or another format renamed.")


def read_checkpoint(path: Path) -> dict[str, Any]:
    """All tensors of a .safetensors or .gguf file (GGUF weights stay quantised)."""
    path = Path(path)
    if path.suffix.lower() == ".gguf":
        check_gguf(path)
        from diffusers.models.model_loading_utils import load_gguf_checkpoint

        try:
            return load_gguf_checkpoint(str(path))
        except ValueError as exc:  # an unsupported quantisation type
            raise EditError(f"{path.name}: {exc}") from exc
    check_safetensors(path)
    from safetensors.torch import load_file

    return load_file(str(path))


def _strip(checkpoint: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in checkpoint.items():
        for prefix in PREFIXES:
            if key.startswith(prefix):
                key = key[len(prefix):]
                break
        if key.startswith(FOREIGN_PREFIXES):
            continue
        out[key] = value
    return out


def _swap_halves(t):
    """BFL's final modulation is (shift, scale); diffusers' AdaLayerNormContinuous wants
    (scale, shift)."""
    import torch

    a, b = t.chunk(2, dim=0)
    return torch.cat([b, a], dim=0)


def bfl_to_diffusers(checkpoint: dict[str, Any]) -> dict[str, Any]:
    """Rename and split BFL keys into diffusers' FluxTransformer2DModel keys.

    Fused tensors are split by sizes read from the weights (q, k, v each as wide as the model),
    so any width works, the tiny test model as well as the 3072-wide FLUX.1.
    """
    sd = dict(checkpoint)
    out: dict[str, Any] = {}

    def take(src: str, dst: str) -> None:
        for suffix in (".weight", ".bias"):
            if src + suffix in sd:
                out[dst + suffix] = sd.pop(src + suffix)
        if src in sd:  # norm scales carry their full name
            out[dst] = sd.pop(src)

    for src, dst in _GLOBAL.items():
        take(src, dst)
    for suffix in (".weight", ".bias"):
        key = "final_layer.adaLN_modulation.1" + suffix
        if key in sd:
            out["norm_out.linear" + suffix] = _swap_halves(sd.pop(key))
    doubles = sorted({int(k.split(".")[1]) for k in sd if k.startswith("double_blocks.")})
    singles = sorted({int(k.split(".")[1]) for k in sd if k.startswith("single_blocks.")})
    for i in doubles:
        src, dst = f"double_blocks.{i}.", f"transformer_blocks.{i}."
        for a, b in _DOUBLE.items():
            take(src + a, dst + b)
        for stream, names in (("img", ("to_q", "to_k", "to_v")),
                              ("txt", ("add_q_proj", "add_k_proj", "add_v_proj"))):
            for suffix in (".weight", ".bias"):
                key = f"{src}{stream}_attn.qkv{suffix}"
                if key in sd:
                    for name, part in zip(names, sd.pop(key).chunk(3, dim=0), strict=True):
                        out[f"{dst}attn.{name}{suffix}"] = part
    for i in singles:
        src, dst = f"single_blocks.{i}.", f"single_transformer_blocks.{i}."
        for a, b in _SINGLE.items():
            take(src + a, dst + b)
        # linear1 fuses q, k, v (each as wide as the model) and the MLP input projection.
        width = _rows(out.get(f"{dst}proj_out.weight"), sd.get(f"{src}linear2.weight"))
        for suffix in (".weight", ".bias"):
            key = f"{src}linear1{suffix}"
            if key in sd and width:
                fused = sd.pop(key)
                rows = fused.shape[0]
                parts = fused.split([width, width, width, rows - 3 * width], dim=0)
                for name, part in zip(("attn.to_q", "attn.to_k", "attn.to_v", "proj_mlp"),
                                      parts, strict=True):
                    out[f"{dst}{name}{suffix}"] = part
    out.update(sd)  # anything left over is reported as unexpected by `match_model`
    return out


def _rows(*tensors) -> int:
    for t in tensors:
        if t is not None:
            return int(t.shape[0])
    return 0


def logical_shape(t) -> tuple[int, ...]:
    """A tensor's shape as the model sees it (GGUF parameters store bytes per row)."""
    quant = getattr(t, "quant_type", None)
    if quant is None:
        return tuple(t.shape)
    from gguf import GGML_QUANT_SIZES

    block, size = GGML_QUANT_SIZES[quant]
    return (*t.shape[:-1], t.shape[-1] // size * block)


def to_diffusers(checkpoint: dict[str, Any], name: str) -> dict[str, Any]:
    """Strip prefixes, recognise the naming and return diffusers keys; EditError if not Flux."""
    keys = list(checkpoint)
    if any(k.startswith("scaled_fp8") or k.endswith(".scale_weight") for k in keys):
        raise EditError(
            f"{name} is a 'scaled fp8' checkpoint (ComfyUI), whose weights need per-tensor "
            "scales rfedit does not apply. Use the bf16 original, a plain fp8 file or a GGUF."
        )
    if any("lora" in k.lower() for k in keys[:50]):
        raise EditError(f"{name} is a LoRA, not a model; rfedit needs a full FLUX.1 transformer.")
    sd = _strip(checkpoint)
    if BFL_MARKER in sd:
        return bfl_to_diffusers(sd)
    if DIFFUSERS_MARKER in sd:
        return sd
    sample = ", ".join(sorted(sd)[:3]) or "none"
    raise EditError(
        f"{name} does not hold a FLUX.1 transformer (first keys: {sample}). rfedit loads "
        "FLUX.1 [dev]/[schnell] transformers in Black Forest Labs', ComfyUI's or diffusers' naming."
    )


def match_model(state: dict[str, Any], config: dict[str, Any], name: str, base: str) -> None:
    """EditError unless `state` fills exactly the transformer `config` describes."""
    from accelerate import init_empty_weights
    from diffusers import FluxTransformer2DModel

    with init_empty_weights():
        model = FluxTransformer2DModel.from_config(config)
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = [k for k in sorted(set(expected) & set(state))
             if logical_shape(state[k]) != expected[k]]
    if not (missing or unexpected or wrong):
        return
    has_guidance = any(k.startswith("time_text_embed.guidance_embedder") for k in state)
    if config.get("guidance_embeds") and not has_guidance and all(
        k.startswith("time_text_embed.guidance_embedder") for k in missing
    ):
        raise EditError(
            f"{name} has no guidance embedding, so it is a FLUX.1 [schnell]-type model, but the "
            f"base {base} is a [dev]-type model. Use --base black-forest-labs/FLUX.1-schnell."
        )
    if not config.get("guidance_embeds") and has_guidance and all(
        k.startswith("time_text_embed.guidance_embedder") for k in unexpected
    ):
        raise EditError(
            f"{name} has a guidance embedding, so it is a FLUX.1 [dev]-type model, but the base "
            f"{base} is a [schnell]-type model. Use --base black-forest-labs/FLUX.1-dev."
        )
    parts = []
    if missing:
        parts.append(f"{len(missing)} weights missing (e.g. {', '.join(missing[:3])})")
    if unexpected:
        parts.append(f"{len(unexpected)} unknown weights (e.g. {', '.join(unexpected[:3])})")
    if wrong:
        k = wrong[0]
        parts.append(f"{len(wrong)} weights of the wrong shape (e.g. {k}: "
                     f"{logical_shape(state[k])} instead of {expected[k]})")
    raise EditError(
        f"{name} does not match the transformer described by {base}: " + "; ".join(parts) + ". "
        "It may be a different Flux variant (Fill, Depth, Canny, Kontext) or a damaged file."
    )
