"""GPU benchmark at FLUX.1-dev's real size, with random weights made on the device.

    python benchmarks/bench_gpu.py [--out benchmarks/results/bench_gpu.md] [--budget-s 420]
    python benchmarks/bench_gpu.py --tiny      # reduced sizes, on the CPU (what CI runs)

Builds FLUX.1-dev's architecture from its public configs (`engine/flux_sizes.py`: 19 double
and 38 single blocks, width 3072, 24 heads; T5-XXL, CLIP-L and the 16-channel VAE at their
real sizes), nothing downloaded, and prints for 1024² and 512²: seconds per transformer step,
a full 28 + 28 RF-Inversion edit through `run_edit`, peak VRAM, for each memory mode the card
allows, without and with `torch.compile`, and the ratio of the step time to its FLOP floor
(FLOPs counted from the config and the token count, divided by the card's bf16 peak). Rows
that would overrun the time budget are listed as skipped, so one run stays under 8 minutes.
The table is written to `--out` (Markdown).
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rfedit_desktop.engine import flux_sizes  # noqa: E402
from rfedit_desktop.engine.cache import InversionCache  # noqa: E402
from rfedit_desktop.engine.loader import ModelSource  # noqa: E402
from rfedit_desktop.engine.memory_plan import (  # noqa: E402
    GIB,
    ModelShape,
    combination_problem,
    count_module,
    estimate_peak,
)
from rfedit_desktop.engine.pipeline import run_edit  # noqa: E402
from rfedit_desktop.engine.prompts import PromptCache, max_sequence_length  # noqa: E402
from rfedit_desktop.engine.request import EditRequest  # noqa: E402
from rfedit_desktop.engine.session import Engine  # noqa: E402
from rfedit_desktop.engine.velocity import make_velocity  # noqa: E402

COLUMNS = ("size", "weights", "offload", "compile", "s/step", "edit 28+28 s", "peak GiB",
           "planner GiB", "TFLOP/step", "floor s/step", "x floor", "note")

#: Dense bf16 tensor-core peaks (TFLOP/s) from the vendors' data sheets.
BF16_PEAK_TFLOPS = {"H200": 989.0, "H100 SXM": 989.0, "H100 80GB HBM3": 989.0, "H100 PCIe": 756.0,
                    "H100": 756.0, "A100": 312.0, "L40S": 362.0, "L40": 181.0, "A10": 125.0,
                    "L4": 121.0, "RTX 4090": 165.0, "RTX 3090": 71.0, "RTX 4080": 97.0}

TINY = {
    "transformer": {"attention_head_dim": 32, "axes_dims_rope": (8, 12, 12),
                    "guidance_embeds": True, "in_channels": 64, "joint_attention_dim": 64,
                    "num_attention_heads": 2, "num_layers": 2, "num_single_layers": 2,
                    "patch_size": 1, "pooled_projection_dim": 64},
    "text_encoder_2": {**flux_sizes.T5, "d_model": 64, "d_ff": 128, "d_kv": 16, "num_heads": 4,
                       "num_layers": 2},
    "text_encoder": {**flux_sizes.CLIP, "hidden_size": 64, "intermediate_size": 128,
                     "num_hidden_layers": 2, "num_attention_heads": 4, "projection_dim": 64},
    "vae": {**flux_sizes.VAE, "block_out_channels": (16, 16, 32, 32), "layers_per_block": 1,
            "norm_num_groups": 8},
}


def flops_per_step(cfg: dict[str, Any], image_tokens: int, text_tokens: int) -> float:
    """Multiply-adds x 2 of one transformer call: the linear layers of both streams and the
    joint attention (QK^T and AV) of every block, plus the embedders and the output head."""
    d = cfg["num_attention_heads"] * cfg["attention_head_dim"]
    t = image_tokens + text_tokens
    blocks = cfg["num_layers"] + cfg["num_single_layers"]
    # double block: per token qkv 3d² + out d² + MLP 8d²; single block: qkv 3d² + MLP-in 4d²
    # + out 5d²: 12d² multiply-adds per token either way.
    per_block = 2 * 12 * d * d * t + 2 * 2 * t * t * d
    embed = 2 * (cfg["in_channels"] * d * image_tokens + cfg["joint_attention_dim"] * d
                 * text_tokens + d * cfg["in_channels"] * image_tokens)
    return float(blocks * per_block + embed)


def card_peak(torch: Any, device: Any) -> tuple[float, str]:
    """bf16 TFLOP/s of this device: the data sheet's, else one large matmul measured."""
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        for key, tflops in BF16_PEAK_TFLOPS.items():
            if key in name:
                return tflops * 1e12, f"{name}, data sheet {tflops:.0f} TFLOP/s"
    n = 4096 if device.type == "cuda" else 512
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    a = torch.randn(n, n, device=device, dtype=dtype)
    (a @ a).sum().item()
    t = time.perf_counter()
    for _ in range(5):
        b = a @ a
    b.sum().item()
    rate = 5 * 2 * n**3 / (time.perf_counter() - t)
    return rate, f"{device.type}, measured matmul {rate / 1e9:.1f} GFLOP/s"


def build_pipe(torch: Any, device: Any, dtype: Any, tiny: bool):
    """FluxPipeline of random weights made on `device` (FLUX.1-dev's sizes unless tiny)."""
    from diffusers import FlowMatchEulerDiscreteScheduler, FluxPipeline

    from rfedit_desktop.engine.offline_tokenizers import build_tokenizers
    from rfedit_desktop.engine.tiny import FLUX_SCHEDULER_CONFIG, TINY_VOCABULARY

    clip_tok, t5_tok = build_tokenizers(TINY_VOCABULARY)
    torch.manual_seed(0)
    parts = {}
    for name in ("transformer", "text_encoder_2", "text_encoder", "vae"):
        cfg = TINY[name] if tiny else None
        if name == "text_encoder":
            # CLIP pools at its end-of-text token: give it the offline tokenizer's ids.
            end = clip_tok.convert_tokens_to_ids("<|endoftext|>")
            cfg = {**(cfg or flux_sizes.CLIP), "eos_token_id": end, "pad_token_id": end,
                   "bos_token_id": clip_tok.convert_tokens_to_ids("<|startoftext|>")}
        parts[name] = flux_sizes.build(name, device, dtype, cfg)
    pipe = FluxPipeline(scheduler=FlowMatchEulerDiscreteScheduler(**FLUX_SCHEDULER_CONFIG),
                        tokenizer=clip_tok, tokenizer_2=t5_tok, **parts)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def make_engine(pipe: Any, device: Any, dtype: Any, offload: str, weights: str) -> Engine:
    source = ModelSource(kind="tiny", spec="bench", name="FLUX.1-dev architecture (random)",
                         settings={"max_sequence_length": 512})
    return Engine(pipe=pipe, source=source, device=device, dtype=dtype, memory_mode=offload,
                  model_id=f"bench-{weights}-{offload}", prompts=PromptCache(),
                  cache=InversionCache(use_disk=False), quantization=weights)


def quantize_bnb(torch: Any, transformer: Any, weights: str) -> None:
    """Swap the transformer's linear layers for bitsandbytes ones (what diffusers' loader makes
    from a BitsAndBytesConfig), quantising the random weights on the GPU."""
    import bitsandbytes as bnb

    for name, module in list(transformer.named_modules()):
        for child_name, child in list(module.named_children()):
            if not isinstance(child, torch.nn.Linear) or child.in_features < 256:
                continue
            if weights == "nf4":
                new = bnb.nn.Linear4bit(child.in_features, child.out_features,
                                        child.bias is not None, compute_dtype=torch.bfloat16,
                                        quant_type="nf4", device="cpu")
                new.weight = bnb.nn.Params4bit(child.weight.data.cpu(), requires_grad=False,
                                               quant_type="nf4")
            else:
                new = bnb.nn.Linear8bitLt(child.in_features, child.out_features,
                                          child.bias is not None, has_fp16_weights=False,
                                          device="cpu")
                new.weight = bnb.nn.Int8Params(child.weight.data.cpu(), requires_grad=False,
                                               has_fp16_weights=False)
            if child.bias is not None:
                new.bias = torch.nn.Parameter(child.bias.data, requires_grad=False)
            setattr(module, child_name, new.to(child.weight.device))
            del child
        del name


def time_steps(torch: Any, engine: Engine, size: int, warmup: int, steps: int) -> float:
    f = engine.vae_scale_factor
    tokens = (size // f // 2) ** 2
    velocity = make_velocity(engine, "a watercolor painting of a house", 3.5, size, size)
    x = torch.randn(1, tokens, 4 * engine.latent_channels, device=engine.device,
                    dtype=torch.float32)
    for _ in range(warmup):
        velocity(x, 0.5)
    sync(torch, engine.device)
    t = time.perf_counter()
    for i in range(steps):
        velocity(x, 0.9 - 0.8 * i / max(1, steps))
    sync(torch, engine.device)
    return (time.perf_counter() - t) / steps


def sync(torch: Any, device: Any) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def picture(size: int) -> np.ndarray:
    y, x = np.mgrid[0:size, 0:size] / max(size - 1, 1)
    return (np.stack([x, y, 1 - x * y], -1) * 255).astype(np.uint8)


def main(argv: list[str] | None = None) -> int:
    import torch

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tiny", action="store_true", help="reduced sizes on the CPU (for CI)")
    p.add_argument("--out", default="benchmarks/results/bench_gpu.md")
    p.add_argument("--budget-s", type=float, default=420.0,
                   help="skip rows that would end after this many seconds (default 420)")
    p.add_argument("--edit-steps", type=int, default=28)
    p.add_argument("--compile", choices=("auto", "yes", "no"), default="auto",
                   help="also time torch.compile (auto: on the GPU only; it takes minutes on a CPU)")
    args = p.parse_args(argv)
    start = time.perf_counter()
    if args.tiny:
        # One thread: a shared CI CPU runs the tiny model many times faster than with two
        # threads that fight over cores.
        torch.set_num_threads(1)
        device, dtype = torch.device("cpu"), torch.float32
    else:
        if not torch.cuda.is_available():
            print("bench_gpu.py needs a CUDA GPU at full size; use --tiny on the CPU.",
                  file=sys.stderr)
            return 2
        device, dtype = torch.device("cuda"), torch.bfloat16
    cfg = TINY["transformer"] if args.tiny else flux_sizes.TRANSFORMER
    peak, peak_note = card_peak(torch, device)
    free = None
    if device.type == "cuda":
        free = torch.cuda.mem_get_info(device)[0]
    try:
        import bitsandbytes  # noqa: F401

        have_bnb = True
    except ImportError:
        have_bnb = False
    rows: list[dict[str, Any]] = []
    left = lambda: args.budget_s - (time.perf_counter() - start)  # noqa: E731

    modes = [(w, o) for w in ("none", "fp8", "int8", "nf4")
             for o in ("none", "model-offload", "group-offload", "sequential-offload")]
    compute_bytes = torch.empty((), dtype=dtype).element_size()
    shape = model_shape(cfg, args.tiny)
    compile_too = args.compile == "yes" or (args.compile == "auto" and device.type == "cuda")
    for weights, offload in modes:
        problem = combination_problem(weights, offload, device.type, "folder", have_bnb)
        if weights in ("int8", "nf4") and offload != "none" and not problem:
            problem = "not benchmarked: bitsandbytes rows run without offload here"
        if problem:
            rows.append({"size": "-", "weights": weights, "offload": offload, "note": problem})
            continue
        if free is not None:
            need = estimate_peak(shape, weights, offload, 1024, 1024, compute_bytes)
            if need > free * 0.95:
                rows.append({"size": "-", "weights": weights, "offload": offload,
                             "planner GiB": f"{need / GIB:.1f}", "note": "does not fit this card"})
                continue
        if left() < 30:
            rows.append({"size": "-", "weights": weights, "offload": offload,
                         "note": "skipped: time budget"})
            continue
        gc.collect()
        if device.type == "cuda":
            torch.cuda.empty_cache()
        try:
            measure_mode(torch, args, rows, cfg, shape, device, dtype, weights, offload,
                         compile_too, peak, left)
        except torch.cuda.OutOfMemoryError:
            rows.append({"size": "-", "weights": weights, "offload": offload,
                         "note": "out of memory"})
    write_table(Path(args.out), rows, peak_note, time.perf_counter() - start, args.tiny)
    print(f"table written to {args.out} ({time.perf_counter() - start:.0f} s)")
    return 0


def model_shape(cfg: dict[str, Any], tiny: bool) -> ModelShape:
    """The planner's view of the model built here, counted on the meta device."""
    parts = {}
    for name in ("transformer", "text_encoder", "text_encoder_2", "vae"):
        c = count_module(flux_sizes.build(name, "meta", None, TINY[name] if tiny else None))
        parts[name] = replace(c, stored_bytes=2 * c.params)
    t5 = TINY["text_encoder_2"] if tiny else flux_sizes.T5
    return ModelShape(parts, cfg["num_attention_heads"] * cfg["attention_head_dim"],
                      t5["d_model"], flux_sizes.TEXT_TOKENS)


def measure_mode(torch: Any, args: Any, rows: list, cfg: dict, shape: ModelShape, device: Any,
                 dtype: Any, weights: str, offload: str, compile_too: bool, peak: float,
                 left: Any) -> None:
    """The rows of one memory mode: each size, without and (no offload, bf16) with compile."""
    sizes = (128, 64) if args.tiny else (1024, 512)
    compute_bytes = torch.empty((), dtype=dtype).element_size()
    pipe = build_pipe(torch, device, dtype, args.tiny)
    if weights in ("int8", "nf4"):
        quantize_bnb(torch, pipe.transformer, weights)
    elif weights == "fp8":
        from rfedit_desktop.engine.quantization import after_load

        after_load(pipe, "fp8", dtype)
    if offload != "none":
        pipe.to("cpu")
        from rfedit_desktop.engine.devices import apply_memory_mode

        apply_memory_mode(pipe, device, offload)
    engine = make_engine(pipe, device, dtype, offload, weights)
    compiles = ("no", "yes") if compile_too and weights == "none" and offload == "none" \
        else ("no",)
    for compiled in compiles:
        if compiled == "yes":
            pipe.transformer.compile()
        for size in sizes:
            row = {"size": f"{size}x{size}", "weights": weights, "offload": offload,
                   "compile": compiled}
            rows.append(row)
            if left() < 20:
                row["note"] = "skipped: time budget"
                continue
            image_tokens = (size // 16) ** 2
            flops = flops_per_step(cfg, image_tokens, max_sequence_length(pipe))
            est = estimate_peak(shape, weights, offload, size, size, compute_bytes)
            row.update({"TFLOP/step": f"{flops / 1e12:.4g}",
                        "floor s/step": f"{flops / peak:.3g}",
                        "planner GiB": f"{est / GIB:.2f}"})
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            t0 = time.perf_counter()
            slow = offload == "sequential-offload"
            per_step = time_steps(torch, engine, size, 1 if slow else 2, 2 if slow else 5)
            notes = []
            if compiled == "yes":
                notes.append(f"compile+warm-up {time.perf_counter() - t0 - 5 * per_step:.0f}s")
            row["s/step"] = f"{per_step:.4f}"
            row["x floor"] = f"{per_step / (flops / peak):.1f}"
            edit_cost = per_step * 2 * args.edit_steps * 1.2 + 5
            if edit_cost < left() - 15:
                request = EditRequest(image=picture(size), prompt="an oil painting",
                                      steps=args.edit_steps, preview_every=0,
                                      max_megapixels=size * size / 1e6 + 0.01)
                engine.cache.clear()
                t = time.perf_counter()
                result = run_edit(engine, request)
                sync(torch, device)
                row["edit 28+28 s"] = f"{time.perf_counter() - t:.2f}"
                assert result.nfe == 2 * args.edit_steps, result.nfe
            else:
                notes.append("edit skipped: time budget")
            if device.type == "cuda":
                row["peak GiB"] = f"{torch.cuda.max_memory_allocated(device) / GIB:.2f}"
            else:
                row["peak GiB"] = "n/a (cpu)"
            row["note"] = "; ".join(notes)
            print(" | ".join(str(row.get(c, "")) for c in COLUMNS), flush=True)
    del engine, pipe


def write_table(path: Path, rows: list[dict[str, Any]], peak_note: str, seconds: float,
                tiny: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    what = "reduced sizes (--tiny)" if tiny else "FLUX.1-dev's full size, random bf16 weights"
    lines = [f"# bench_gpu: {what}", "", f"Device: {peak_note}. Run took {seconds:.0f} s.", "",
             "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in rows:
        lines.append("| " + " | ".join(str(row.get(c, "")) for c in COLUMNS) + " |")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
