"""Device, dtype and memory policy: the choices that decide whether Flux fits and runs at all.

CUDA runs in bf16 where the card supports it (fp16 otherwise); Apple MPS in bf16 only where
this torch/macOS pair really computes in it (probed with a tiny op, since support varies by OS
version), else fp16, else fp32; the CPU always in fp32. Offload modes trade speed for VRAM with
diffusers' own offloading hooks; `memory_plan` decides which mode (and weight format) to use.
"""

from __future__ import annotations

from typing import Any

from ..errors import EditError
from .memory_plan import MEMORY_MODES, OFFLOADS, combination_problem

DEVICES: tuple[str, ...] = ("auto", "cuda", "mps", "cpu")


#: Above this many pixels the VAE decodes in tiles (the full-size decoder activations of a
#: 2-megapixel image already take several GiB).
VAE_TILING_PIXELS = 1536 * 1536


def _mps_available() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def pick_device(name: str = "auto"):
    """`torch.device` for "auto" | "cuda" | "mps" | "cpu"; an EditError if the one asked is absent."""
    import torch

    if name not in DEVICES and not name.startswith("cuda:"):
        raise EditError(f"Unknown device {name!r}; choose one of {', '.join(DEVICES)}.")
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise EditError(
            "CUDA was requested but this torch build sees no CUDA GPU "
            f"(torch {torch.__version__}). Use --device cpu or install a CUDA build of torch."
        )
    if name.startswith("cuda:"):
        index = name.split(":", 1)[1]
        count = torch.cuda.device_count()
        if not index.isdigit() or int(index) >= count:
            raise EditError(f"There is no GPU {name}: this machine has {count} CUDA device(s), "
                            f"cuda:0 to cuda:{count - 1}.")
    if name == "mps" and not _mps_available():
        raise EditError("Apple MPS was requested but is not available on this machine/torch.")
    return torch.device(name)


def _dtype_works(device, dtype) -> bool:
    """Run one small matmul and conv in `dtype` on `device`; False if the backend refuses."""
    import torch

    try:
        a = torch.ones(4, 4, device=device, dtype=dtype)
        b = (a @ a).sum()
        x = torch.ones(1, 2, 4, 4, device=device, dtype=dtype)
        w = torch.ones(2, 2, 3, 3, device=device, dtype=dtype)
        c = torch.nn.functional.conv2d(x, w, padding=1).sum()
        return bool(torch.isfinite(b + c).item()) and float(b.item()) == 64.0
    except (RuntimeError, TypeError, NotImplementedError):
        return False


def pick_dtype(device, requested: str | None = None):
    """The compute dtype for `device` (or the one named: "bf16", "fp16", "fp32")."""
    import torch

    names = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}
    if requested:
        if requested not in names:
            raise EditError(f"Unknown dtype {requested!r}; choose bf16, fp16 or fp32.")
        return names[requested]
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "mps":
        for dtype in (torch.bfloat16, torch.float16):
            if _dtype_works(device, dtype):
                return dtype
        return torch.float32
    return torch.float32


def apply_memory_mode(pipe: Any, device, mode: str = "none") -> None:
    """Place the pipeline on `device` with an offload mode: the one place that decides.

    Model and sequential offload move weights between CPU memory and an accelerator, so they
    need CUDA or MPS; group offload also accepts the CPU as its compute device (useful to check
    the hooks on a machine without a GPU). Which combinations can run is `memory_plan`'s rule,
    checked again here for callers that skip the planner; diffusers' own failures become
    EditErrors that name the mode and the way out.
    """
    import torch

    if mode not in OFFLOADS:
        raise EditError(f"Unknown memory mode {mode!r}; choose one of {', '.join(MEMORY_MODES)}.")
    problem = combination_problem("none", mode, device.type, "folder")
    if problem:
        raise EditError(f"Memory mode {mode} keeps the weights in CPU memory and moves them to a "
                        f"GPU when needed, so it needs a CUDA or Apple MPS device ({problem}). "
                        "Choose memory mode auto or none.")
    if mode == "none":
        pipe.to(device)
        return
    try:
        if mode == "model-offload":
            pipe.enable_model_cpu_offload(device=device)
        elif mode == "sequential-offload":
            pipe.enable_sequential_cpu_offload(device=device)
        else:
            pipe.enable_group_offload(
                onload_device=device,
                offload_device=torch.device("cpu"),
                offload_type="leaf_level",
                use_stream=device.type == "cuda",
            )
    except (RuntimeError, ValueError, ImportError, TypeError, NotImplementedError) as exc:
        raise EditError(
            f"Memory mode {mode} could not be set up on {device}: {exc}. Choose memory mode "
            "auto or none, or another memory mode."
        ) from exc


def configure_vae_tiling(pipe: Any, height: int, width: int) -> bool:
    """Tile the VAE for large images (bounded memory), untiled otherwise (exact, faster)."""
    vae = pipe.vae
    large = height * width > VAE_TILING_PIXELS
    if large and hasattr(vae, "enable_tiling"):
        vae.enable_tiling()
        return True
    if hasattr(vae, "disable_tiling"):
        vae.disable_tiling()
    return False
