"""The VRAM planner: estimate each memory mode's peak from the model's files and pick the
fastest mode that fits the device, before any weight is loaded.

A memory mode is a weight format for the transformer (bf16 = the compute dtype, fp8 storage
with bf16 compute, bitsandbytes 8-bit or NF4, or the GGUF file's own quantisation) combined with
an offload scheme. Parameter counts come from the safetensors headers (no tensor is read), the
activation estimate from the token count of the image size, the limit from the device's free
memory (CUDA), its unified-memory limit (MPS) or nothing (CPU, where weights already live in
main memory). Estimates are rough on purpose: constants below were set against published
FLUX.1-dev peaks (see `docs/memory-modes.md`), and a mode is chosen only with `MARGIN` to spare.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import EditError

OFFLOADS: tuple[str, ...] = ("none", "model-offload", "group-offload", "sequential-offload")
QUANTIZATIONS: tuple[str, ...] = ("none", "fp8", "int8", "nf4", "gguf")
"""Transformer weight formats; "none" stores them in the compute dtype."""
MEMORY_MODES: tuple[str, ...] = ("auto", *OFFLOADS)
""""auto": the planner picks the offload (and, with QUANTIZE_CHOICES' "auto", the format)."""
QUANTIZE_CHOICES: tuple[str, ...] = ("auto", "none", "fp8", "int8", "nf4")

GIB = 1024**3
MARGIN = 0.95
"""A mode is chosen only if its estimate stays under this fraction of the free memory."""
RESERVE = 1.5 * GIB
"""cuBLAS/attention workspaces and allocator fragmentation, on top of weights + activations."""
TRANSFORMER_ACT = 40
"""Live (tokens x width) tensors at a transformer block's peak (MLP hidden is 4 wide, ...)."""
VAE_ACT_PER_PIXEL = 1536
"""Bytes per output pixel at the untiled bf16 VAE decoder's peak (128-channel full-res maps)."""
TEXT_ACT = 20
"""Live (tokens x width) tensors at the T5 encoder's peak."""

#: Bytes per parameter of the transformer's linear weights in each format (NF4: 4 bits plus
#: one fp32 absmax per 64 weights; 8-bit: one fp32 scale per row is negligible).
STORAGE_BYTES: dict[str, float] = {"fp8": 1.0, "int8": 1.0, "nf4": 0.5 + 4 / 64}
#: Relative seconds per step of the computation itself (bf16 = 1): fp8 storage upcasts each
#: layer, bitsandbytes dequantises in its kernels.
COMPUTE_COST: dict[str, float] = {"none": 1.0, "fp8": 1.05, "int8": 1.3, "nf4": 1.4, "gguf": 1.3}
#: Relative seconds per step spent moving a bf16-sized transformer (scaled by the real size):
#: model offload moves it once per edit, group offload every step (overlapped with streams),
#: sequential offload every layer of every step without overlap.
TRANSFER_COST: dict[str, float] = {"none": 0.0, "model-offload": 0.05, "group-offload": 0.6,
                                   "sequential-offload": 6.0}


@dataclass(frozen=True)
class Component:
    """One model part as its files describe it: parameters and their stored bytes."""

    params: int
    stored_bytes: int
    largest_tensor: int = 0  # parameters of its largest single weight (offload granularity)


@dataclass(frozen=True)
class ModelShape:
    """What the planner knows of a model without loading it."""

    components: dict[str, Component]
    width: int  # transformer hidden size (heads x head dim)
    text_width: int  # T5 hidden size
    text_tokens: int  # T5 sequence length the prompts are padded to
    vae_factor: int = 8
    gguf_bytes: int | None = None  # the transformer's file size, for a GGUF source


@dataclass(frozen=True)
class Row:
    """One memory mode in the plan: its estimated peak, relative speed and whether it can run."""

    quantization: str
    offload: str
    peak_bytes: int
    step_cost: float
    problem: str = ""  # why it cannot run here ("" if it can)
    fits: bool = False

    @property
    def label(self) -> str:
        return f"{self.quantization}/{self.offload}"


@dataclass
class Plan:
    """Every mode's estimate and the one chosen for this device and image size."""

    rows: list[Row]
    choice: Row | None
    free_bytes: int | None
    device: str
    size: tuple[int, int]
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def table(self) -> str:
        """The plan as text: one line per mode, the chosen one marked with '>'."""
        free = "n/a" if self.free_bytes is None else f"{self.free_bytes / GIB:.1f} GiB"
        lines = [f"memory plan for {self.size[0]}x{self.size[1]} on {self.device} "
                 f"(free memory {free}, margin {MARGIN:.0%}):",
                 f"  {'mode':28s} {'peak GiB':>8s} {'step cost':>9s}  status"]
        for r in self.rows:
            mark = ">" if r is self.choice else " "
            status = r.problem or ("fits" if r.fits else "too large")
            lines.append(f"{mark} {r.label:28s} {r.peak_bytes / GIB:8.1f} {r.step_cost:9.2f}  "
                         f"{status}")
        chosen = self.choice.label if self.choice else "none"
        lines.append(f"choice: {chosen}" + (f" ({self.note})" if self.note else ""))
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "device": self.device, "size": list(self.size), "free_bytes": self.free_bytes,
            "choice": None if self.choice is None else {
                "quantization": self.choice.quantization, "offload": self.choice.offload},
            "note": self.note,
            "rows": [{"quantization": r.quantization, "offload": r.offload,
                      "peak_gib": round(r.peak_bytes / GIB, 2), "step_cost": round(r.step_cost, 3),
                      "fits": r.fits, "problem": r.problem} for r in self.rows],
        }


# -- what the files say -----------------------------------------------------------------------
_DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1, "I8": 1,
                "U8": 1, "I16": 2, "I32": 4, "I64": 8, "BOOL": 1}


def safetensors_header(path: Path) -> dict[str, Any]:
    """The JSON header of a safetensors file (no tensor data is read)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n))


def count_files(files: list[Path]) -> Component:
    """Parameters, stored bytes and the largest tensor of these safetensors files."""
    params = stored = largest = 0
    for path in files:
        for name, info in safetensors_header(path).items():
            if name == "__metadata__":
                continue
            n = math.prod(info["shape"])
            params += n
            stored += n * _DTYPE_BYTES.get(info["dtype"], 2)
            largest = max(largest, n)
    return Component(params, stored, largest)


def count_module(module: Any) -> Component:
    """The same counts for a module in memory (the tiny test model has no files)."""
    sizes = [p.numel() for p in module.parameters()]
    stored = sum(p.numel() * p.element_size() for p in module.parameters())
    return Component(sum(sizes), stored, max(sizes, default=0))


def _weights(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.safetensors") if p.is_file())


def model_shape(source: Any) -> ModelShape:
    """A `loader.ModelSource`'s shape from its configs and safetensors headers."""
    if source.kind == "tiny":
        from .tiny import tiny_flux

        pipe = tiny_flux(source.seed)
        parts = {n: count_module(getattr(pipe, n))
                 for n in ("transformer", "text_encoder", "text_encoder_2", "vae")}
        cfg = pipe.transformer.config
        return ModelShape(parts, cfg.num_attention_heads * cfg.attention_head_dim,
                          pipe.text_encoder_2.config.d_model, 512)
    folder = Path(source.folder)
    parts: dict[str, Component] = {}
    for name in ("text_encoder", "text_encoder_2", "vae"):
        parts[name] = count_files(_weights(folder / name))
    gguf_bytes = None
    if source.kind == "gguf":
        gguf_bytes = Path(source.path).stat().st_size
        parts["transformer"] = _transformer_from_config(folder / "transformer" / "config.json")
    elif source.kind == "single-file":
        parts["transformer"] = count_files([Path(source.path)])
    elif source.kind == "transformer-folder":
        parts["transformer"] = count_files(_weights(Path(source.path)))
    else:
        parts["transformer"] = count_files(_weights(folder / "transformer"))
    tcfg = json.loads((folder / "transformer" / "config.json").read_text(encoding="utf-8"))
    t5 = json.loads((folder / "text_encoder_2" / "config.json").read_text(encoding="utf-8"))
    tokens = int(source.settings.get("max_sequence_length", 512))
    return ModelShape(parts, int(tcfg["num_attention_heads"]) * int(tcfg["attention_head_dim"]),
                      int(t5.get("d_model", 4096)), tokens, gguf_bytes=gguf_bytes)


def _transformer_from_config(path: Path) -> Component:
    """A Flux transformer's parameter count from its config (for GGUF files, whose tensors are
    quantised blocks): the public architecture's formula."""
    c = json.loads(path.read_text(encoding="utf-8"))
    return Component(flux_transformer_params(c), 0, 0)


def flux_transformer_params(c: dict[str, Any]) -> int:
    """Parameters of a FluxTransformer2DModel with config `c` (weights and biases)."""
    d = int(c["num_attention_heads"]) * int(c["attention_head_dim"])
    hd = int(c["attention_head_dim"])
    ch = int(c.get("in_channels", 64))
    out = int(c.get("out_channels") or ch)
    mlp = 4 * d

    def lin(i: int, o: int) -> int:
        return i * o + o

    double = 2 * (lin(d, 6 * d) + 3 * lin(d, d) + lin(d, d) + lin(d, mlp) + lin(mlp, d)) \
        + 4 * hd
    single = lin(d, 3 * d) + 3 * lin(d, d) + lin(d, mlp) + lin(d + mlp, d) + 2 * hd
    embed = lin(ch, d) + lin(int(c.get("joint_attention_dim", 4096)), d) \
        + lin(256, d) + lin(d, d) + lin(int(c.get("pooled_projection_dim", 768)), d) + lin(d, d)
    if c.get("guidance_embeds", True):
        embed += lin(256, d) + lin(d, d)
    head = lin(d, 2 * d) + lin(d, out * int(c.get("patch_size", 1)) ** 2)
    return int(c["num_layers"]) * double + int(c["num_single_layers"]) * single + embed + head


# -- estimates -----------------------------------------------------------------------------------
def activation_bytes(shape: ModelShape, height: int, width: int, compute_bytes: int
                     ) -> dict[str, int]:
    """Peak activations of each component at this image size (VAE untiled up to 1536²)."""
    image_tokens = (height // (shape.vae_factor * 2)) * (width // (shape.vae_factor * 2))
    tokens = image_tokens + shape.text_tokens
    pixels = min(height * width, 1536 * 1536)  # larger images decode in tiles
    return {
        "transformer": tokens * shape.width * compute_bytes * TRANSFORMER_ACT,
        "text_encoder_2": shape.text_tokens * shape.text_width * compute_bytes * TEXT_ACT,
        "text_encoder": 77 * 768 * compute_bytes * TEXT_ACT,
        "vae": int(pixels * VAE_ACT_PER_PIXEL * compute_bytes / 2),
    }


def resident_bytes(shape: ModelShape, quantization: str, compute_bytes: int) -> dict[str, int]:
    """Each component's bytes on the device once loaded in this format."""
    out = {n: c.params * compute_bytes for n, c in shape.components.items()}
    t = shape.components["transformer"]
    if quantization == "gguf":
        out["transformer"] = shape.gguf_bytes or t.stored_bytes
    elif quantization in STORAGE_BYTES:
        out["transformer"] = int(t.params * STORAGE_BYTES[quantization])
    return out


def estimate_peak(shape: ModelShape, quantization: str, offload: str, height: int, width: int,
                  compute_bytes: int = 2) -> int:
    """Estimated peak device memory of one edit at this size, in bytes."""
    weights = resident_bytes(shape, quantization, compute_bytes)
    acts = activation_bytes(shape, height, width, compute_bytes)
    if offload == "none":
        return sum(weights.values()) + max(acts.values()) + int(RESERVE)
    if offload == "model-offload":
        # 8-bit bitsandbytes models cannot leave the GPU: diffusers keeps them there.
        pinned = weights["transformer"] if quantization == "int8" else 0
        phase = max(weights[n] + acts[n] for n in weights if not (pinned and n == "transformer"))
        return pinned + max(phase, acts["transformer"]) + int(RESERVE)
    # Group (leaf level, streamed: the current and the next leaf) and sequential offload keep
    # about one layer per component on the device.
    factor = 2 if offload == "group-offload" else 1
    layer = max(c.largest_tensor for c in shape.components.values()) * compute_bytes
    return factor * layer + max(acts.values()) + int(RESERVE)


def step_cost(shape: ModelShape, quantization: str, offload: str, compute_bytes: int = 2
              ) -> float:
    """Relative seconds per transformer step (bf16, no offload = 1)."""
    t = shape.components["transformer"]
    moved = resident_bytes(shape, quantization, compute_bytes)["transformer"]
    share = moved / max(1, t.params * compute_bytes)
    return COMPUTE_COST[quantization] + TRANSFER_COST[offload] * share


def combination_problem(quantization: str, offload: str, device_type: str, source_kind: str,
                        bitsandbytes: bool = True) -> str:
    """Why this combination cannot run ("" if it can), decided before anything loads."""
    if quantization == "gguf" and source_kind != "gguf":
        return "gguf needs a .gguf transformer file"
    if source_kind == "gguf" and quantization != "gguf":
        return "a .gguf file is already quantised"
    if quantization in ("int8", "nf4"):
        if device_type != "cuda":
            return f"{quantization} (bitsandbytes) needs a CUDA GPU"
        if not bitsandbytes:
            return f"{quantization} needs bitsandbytes: pip install 'rfedit-desktop[bitsandbytes]'"
        if offload in ("group-offload", "sequential-offload"):
            return f"bitsandbytes weights cannot be moved layer by layer ({offload})"
    if quantization == "fp8":
        if device_type == "mps":
            return "fp8 storage is not supported on Apple MPS"
        if offload == "sequential-offload":
            return "fp8 storage does not combine with sequential offload"
    if quantization == "gguf" and offload in ("group-offload", "sequential-offload"):
        return f"GGUF weights work with no offload or model offload, not {offload}"
    if device_type == "cpu" and offload in ("model-offload", "sequential-offload"):
        return "on the CPU the model already lives in main memory"
    return ""


def device_free_bytes(device: Any) -> int | None:
    """Free memory the model may use: CUDA's free memory, MPS's unified-memory limit, or None
    on the CPU (the planner then keeps everything in main memory)."""
    import torch

    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    if device.type == "mps":
        mps = getattr(torch, "mps", None)
        limit = getattr(mps, "recommended_max_memory", None)
        return int(limit()) if limit else None
    return None


def make_plan(
    shape: ModelShape,
    free_bytes: int | None,
    device_type: str,
    source_kind: str = "folder",
    height: int = 1024,
    width: int = 1024,
    *,
    quantization: str = "auto",
    offload: str = "auto",
    compute_bytes: int = 2,
    bitsandbytes: bool = True,
) -> Plan:
    """Estimate every mode and choose the fastest that fits (`quantization`/`offload` not
    "auto" fix that half of the choice). With no limit (CPU) the fastest mode that can run."""
    rows: list[Row] = []
    for q in QUANTIZATIONS:
        for o in OFFLOADS:
            problem = combination_problem(q, o, device_type, source_kind, bitsandbytes)
            if q == "gguf" and source_kind != "gguf":
                continue
            if source_kind == "gguf" and q != "gguf":
                continue
            peak = estimate_peak(shape, q, o, height, width, compute_bytes)
            fits = free_bytes is None or peak <= free_bytes * MARGIN
            rows.append(Row(q, o, peak, round(step_cost(shape, q, o, compute_bytes), 3),
                            problem, fits and not problem))
    wanted = [r for r in rows if not r.problem
              and quantization in ("auto", r.quantization) and offload in ("auto", r.offload)]
    if free_bytes is None:
        # CPU: weights stay in main memory in the compute dtype unless asked otherwise.
        wanted = [r for r in wanted if quantization != "auto" or r.quantization in ("none", "gguf")]
    order = {q: i for i, q in enumerate(QUANTIZATIONS)}
    wanted.sort(key=lambda r: (r.step_cost, order[r.quantization], OFFLOADS.index(r.offload)))
    fitting = [r for r in wanted if r.fits]
    note = ""
    if fitting:
        choice: Row | None = fitting[0]
    elif wanted:
        choice = min(wanted, key=lambda r: r.peak_bytes)
        note = "nothing is estimated to fit; this mode needs the least memory"
    else:
        choice = None
        note = "no memory mode can run with these settings"
    return Plan(rows, choice, free_bytes, device_type, (width, height), note)


def check_choice(quantization: str, offload: str, device_type: str, source_kind: str,
                 bitsandbytes: bool) -> None:
    """EditError before loading for a fixed combination that cannot run here."""
    problem = combination_problem(quantization, offload, device_type, source_kind, bitsandbytes)
    if problem:
        raise EditError(f"Memory mode {quantization} with {offload}: {problem}. Choose memory "
                        "mode auto, or another combination.")


def plan_for(source: Any, device: Any, dtype: Any, memory_mode: str = "auto",
             quantization: str = "auto", height: int | None = None,
             width: int | None = None) -> Plan:
    """The plan for a resolved model on a device: what `load_engine` and `info --plan` use.
    The size defaults to the model's native resolution, else 1024²; EditError for a fixed
    combination that cannot run, or when no mode can."""
    import torch

    from .quantization import bitsandbytes_available

    if memory_mode not in MEMORY_MODES:
        raise EditError(f"Unknown memory mode {memory_mode!r}; choose one of "
                        f"{', '.join(MEMORY_MODES)}.")
    if quantization not in QUANTIZE_CHOICES:
        raise EditError(f"Unknown weight format {quantization!r}; choose one of "
                        f"{', '.join(QUANTIZE_CHOICES)}.")
    kind = source.kind
    if kind == "gguf" and quantization in ("auto", "none"):
        quantization = "gguf"
    bnb = bitsandbytes_available()
    if quantization != "auto" and memory_mode != "auto":
        check_choice(quantization, memory_mode, device.type, kind, bnb)
    side = int(source.settings.get("resolution") or 1024)
    height, width = height or side, width or side
    compute = torch.empty((), dtype=dtype).element_size()
    plan = make_plan(model_shape(source), device_free_bytes(device), device.type, kind,
                     height, width, quantization=quantization, offload=memory_mode,
                     compute_bytes=compute, bitsandbytes=bnb)
    if plan.choice is None:
        fixed = [f"{n} {v}" for n, v in (("weights", quantization), ("offload", memory_mode))
                 if v != "auto"]
        raise EditError(f"No memory mode can run {source.name} on {device} with "
                        f"{' and '.join(fixed) or 'these settings'}: "
                        + "; ".join(sorted({r.problem for r in plan.rows if r.problem}))
                        + ". Choose memory mode auto.")
    return plan
