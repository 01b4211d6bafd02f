"""Find a Flux model the user already has on disk and load it, offline, from safetensors only.

A model is named as "demo" (the small trained model shipped with rfedit), "tiny" (random
weights, for tests), a diffusers folder, a repo id that `hf download` put in the Hugging Face
cache (or that cache's `models--owner--name` folder), or a lone transformer whose text encoders,
tokenizers and VAE come from a complete model named with `base`: a single `.safetensors` file in
Black Forest Labs', ComfyUI's or diffusers' naming (bf16, fp16, fp8), a `.gguf` quantisation, or
a diffusers `transformer/` folder. Every failure a user can cause (a download that stopped,
pickle-only weights, a model of another architecture, a [schnell] file on a [dev] base) becomes
an EditError that says what to do.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import paths
from ..errors import EditError
from .hub_cache import (
    cached_repo_folder,
    check_cached,
    check_local_dir,
    download_command,
)
from .model_folder import (
    FLUX_COMPONENTS,
    WEIGHTED,
    check_folder,
    check_transformer_config,
    diagnose_no_index,
    is_transformer_folder,
    weight_problems,
)
from .model_settings import read_settings
from .request import ProgressEvent

#: Source kinds that hold only a transformer and borrow everything else from a base model.
LONE_TRANSFORMERS = ("single-file", "gguf", "transformer-folder")
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass
class ModelSource:
    """Where a model lives and what it is called; everything known before loading weights."""

    kind: str  # "tiny" | "demo" | "folder" | "repo" | "single-file" | "gguf" | "transformer-folder"
    spec: str
    name: str
    path: Path | None = None  # the folder (or, for single files, the file)
    base: Path | None = None  # single files: the folder holding the other components
    seed: int = 0  # tiny only
    settings: dict[str, Any] = field(default_factory=dict)  # rfedit.json, if any

    @property
    def folder(self) -> Path | None:
        """The diffusers folder that holds the configs (the base, for single files)."""
        return self.base if self.kind in LONE_TRANSFORMERS else self.path


def resolve_model(spec: str, base: str | os.PathLike | None = None) -> ModelSource:
    """Work out what `spec` names without loading weights; EditError if it cannot be used."""
    if not isinstance(spec, str) or not spec.strip():
        raise EditError("No model given: use demo, tiny, a model folder, a repo id or a file.")
    spec = spec.strip()
    if spec == "tiny" or spec.startswith("tiny:"):
        try:
            seed = int(spec.split(":", 1)[1]) if ":" in spec else 0
        except ValueError as exc:
            raise EditError(f"Bad tiny model seed in {spec!r}; use tiny or tiny:SEED.") from exc
        return ModelSource(kind="tiny", spec=spec, name=f"tiny (random, seed {seed})", seed=seed)
    if spec == "demo":
        folder = paths.demo_model_dir()
        if not (folder / "model_index.json").is_file():
            raise EditError(
                f"The demo model is not installed: expected it in {folder}. "
                "Use --model tiny to try the app with random weights, or name a FLUX.1 model."
            )
        check_folder(folder)
        settings = read_settings(folder)
        return ModelSource("demo", spec, settings.get("name", "rfedit demo"), folder, None,
                           settings=settings)
    path = Path(spec).expanduser()
    suffix = path.suffix.lower()
    if suffix in (".safetensors", ".gguf", ".bin", ".ckpt", ".pt", ".pth"):
        return _resolve_file(spec, path, base)
    if path.exists() or spec.startswith((".", "/", "~")) or not _REPO_ID.match(spec):
        if not path.exists():
            raise EditError(
                f"Cannot find a model called {spec!r}: no such folder, and it is neither demo, "
                "tiny, a .safetensors/.gguf file nor a repo id (owner/name)."
            )
        if path.is_file():
            raise EditError(f"{path.name} is not a model rfedit can load: name a diffusers "
                            "folder, a .safetensors or .gguf transformer, or a cached repo id.")
        if not (path / "model_index.json").is_file() and is_transformer_folder(path):
            return _resolve_transformer_folder(spec, path, base)
        if path.name.startswith("models--") and (path / "snapshots").is_dir():
            return _resolve_repo_cache_folder(spec, path)
        check_local_dir(path)
        settings = read_settings(path)
        return ModelSource("folder", spec, settings.get("name", path.resolve().name), path,
                           settings=settings)
    folder = cached_repo_folder(spec)
    check_cached(spec, folder, FLUX_COMPONENTS)
    settings = read_settings(folder)
    return ModelSource("repo", spec, settings.get("name", spec), folder, settings=settings)


def _resolve_repo_cache_folder(spec: str, path: Path) -> ModelSource:
    """`~/.cache/huggingface/hub/models--owner--name` itself: use the snapshot refs/main names."""
    repo_id = path.name[len("models--"):].replace("--", "/", 1)
    ref = path / "refs" / "main"
    snapshot = None
    if ref.is_file():
        candidate = path / "snapshots" / ref.read_text(encoding="utf-8").strip()
        snapshot = candidate if candidate.is_dir() else None
    if snapshot is None:
        found = sorted((d for d in (path / "snapshots").iterdir() if d.is_dir()),
                       key=lambda d: d.stat().st_mtime)
        if not found:
            raise EditError(f"{path} holds no downloaded snapshot of {repo_id}. Download it with: "
                            f" {download_command(repo_id)}")
        snapshot = found[-1]
    try:
        check_folder(snapshot)
    except EditError as exc:
        partial = sorted((path / "blobs").glob("*.incomplete"))
        note = f" {len(partial)} file(s) are still partial (*.incomplete)." if partial else ""
        raise EditError(f"The cached model {repo_id!r} is not completely downloaded. {exc}{note} "
                        f"Finish the download with:  {download_command(repo_id)}") from exc
    settings = read_settings(snapshot)
    return ModelSource("repo", spec, settings.get("name", repo_id), snapshot, settings=settings)


def _resolve_file(spec: str, path: Path, base: str | os.PathLike | None) -> ModelSource:
    """A single transformer file: safetensors (any naming) or GGUF, plus a base for the rest."""
    from .flux_checkpoint import check_gguf, check_safetensors

    suffix = path.suffix.lower()
    if suffix in (".bin", ".ckpt", ".pt", ".pth"):
        raise EditError(
            f"{path.name} is a pickle checkpoint; rfedit loads only .safetensors or .gguf "
            "files (pickle files can run code when loaded). Convert it to .safetensors or "
            "download the model's .safetensors release."
        )
    if not path.is_file():
        raise EditError(f"Model file {path} does not exist.")
    if suffix == ".gguf":
        problem = _gguf_problem()
        if problem:
            raise EditError(f"Loading {path.name} needs {problem}: pip install "
                            "'rfedit-desktop[gguf]' (or pip install 'gguf>=0.10').")
        check_gguf(path)
    else:
        check_safetensors(path)
    if base is None and (path.parent / "model_index.json").is_file():
        # FLUX.1-dev's own repo keeps flux1-dev.safetensors next to its diffusers folders.
        base = path.parent
    base_folder = _require_base(path.name, base)
    kind = "gguf" if suffix == ".gguf" else "single-file"
    return ModelSource(kind, spec, path.stem, path, base_folder,
                       settings=read_settings(base_folder))


def _gguf_problem() -> str | None:
    """Why GGUF files cannot be read here (None if they can): diffusers needs gguf >= 0.10."""
    try:
        if importlib.util.find_spec("gguf") is None:
            return "the 'gguf' package"
        import gguf  # noqa: F401
    except (ImportError, ValueError):
        return "the 'gguf' package"
    from importlib.metadata import PackageNotFoundError, version

    try:
        major, minor = (int(x) for x in version("gguf").split(".")[:2])
    except (PackageNotFoundError, ValueError):
        return None
    return None if (major, minor) >= (0, 10) else f"gguf 0.10 or newer (found {major}.{minor})"


def _resolve_transformer_folder(spec: str, path: Path, base) -> ModelSource:
    """A diffusers transformer folder on its own (e.g. a fine-tune published as `transformer/`)."""
    if base is None:
        raise diagnose_no_index(path)
    problems = weight_problems("transformer", path)
    if problems:
        raise EditError(f"The transformer folder {path} is incomplete: " + "; ".join(problems) + ".")
    base_folder = _require_base(path.name, base)
    check_transformer_config(path / "config.json", path, vae_from=base_folder)
    name = path.resolve().parent.name if path.name == "transformer" else path.resolve().name
    return ModelSource("transformer-folder", spec, name, path, base_folder,
                       settings=read_settings(base_folder))


def _require_base(what: str, base: str | os.PathLike | None) -> Path:
    """The complete model that lends a lone transformer its text encoders, tokenizers and VAE."""
    if base is None:
        raise EditError(
            f"{what} holds only the transformer; name the folder or cached repo id with "
            "the other parts (text encoders, VAE, configs) with --base, e.g. "
            "--base black-forest-labs/FLUX.1-dev."
        )
    base_folder = _base_folder(str(base))
    others = tuple(c for c in FLUX_COMPONENTS if c != "transformer")
    if _REPO_ID.match(str(base)) and not Path(str(base)).expanduser().is_dir():
        check_cached(str(base), base_folder, others)
    else:
        check_folder(base_folder, others)
    tcfg = base_folder / "transformer" / "config.json"
    if not tcfg.is_file():
        raise EditError(f"The base {base_folder} has no transformer/config.json to describe "
                        f"the weights in {what}.")
    check_transformer_config(tcfg, base_folder)
    return base_folder


def _base_folder(base: str) -> Path:
    p = Path(base).expanduser()
    if p.is_dir():
        return p
    if _REPO_ID.match(base):
        return cached_repo_folder(base)
    raise EditError(f"Base model {base!r} is neither a folder nor a cached repo id.")


def fingerprint(source: ModelSource) -> str:
    """A stable identity for cache keys: config contents and weight sizes (not the weights)."""
    h = hashlib.sha256()
    if source.kind == "tiny":
        h.update(f"tiny:{source.seed}".encode())
        return h.hexdigest()[:16]
    folder = source.folder
    if folder is not None:
        for f in sorted(Path(folder).rglob("*")):
            if not f.is_file():
                continue
            rel = f.relative_to(folder).as_posix()
            if f.suffix == ".json" or f.name.endswith(".txt"):
                h.update(rel.encode() + b"\0" + f.read_bytes() + b"\0")
            elif f.suffix in (".safetensors", ".gguf"):
                h.update(f"{rel}:{f.stat().st_size}\0".encode())
    if source.kind in ("single-file", "gguf") and source.path is not None:
        h.update(f"{source.path.name}:{source.path.stat().st_size}".encode())
    if source.kind == "transformer-folder" and source.path is not None:
        for f in sorted(Path(source.path).iterdir()):
            if f.suffix == ".json":
                h.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
            elif f.suffix == ".safetensors" and f.is_file():
                h.update(f"{f.name}:{f.stat().st_size}\0".encode())
    return h.hexdigest()[:16]


ProgressFn = Callable[[ProgressEvent], None]


def _report(progress: ProgressFn | None, step: int, total: int, message: str) -> None:
    if progress is not None:
        progress(ProgressEvent("load", step, total, message=message))


def load_pipeline(
    spec: str | ModelSource,
    device: Any = "cpu",
    dtype: Any = None,
    memory_mode: str = "none",
    progress: ProgressFn | None = None,
    base: str | os.PathLike | None = None,
    quantization: str = "none",
):
    """Load the pipeline named by `spec`, in eval mode, its transformer in `quantization`'s
    format ("none", "fp8", "int8", "nf4"; GGUF files are their own), placed per `memory_mode`
    (an offload mode; `session.load_engine` resolves "auto" with the planner first).

    Returns `(pipeline, source)`. Always offline, safetensors only, no remote code.
    """
    import torch

    from .devices import apply_memory_mode
    from .quantization import after_load

    source = spec if isinstance(spec, ModelSource) else resolve_model(spec, base)
    device = torch.device(device) if not isinstance(device, torch.device) else device
    dtype = dtype or torch.float32
    _report(progress, 0, 2, f"loading {source.name}")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    _quiet_library_bars()
    try:
        pipe = _load(source, dtype, quantization)
        after_load(pipe, quantization, dtype)
    except EditError:
        raise
    except Exception as exc:  # noqa: BLE001  (corrupt weights, bad configs, out of memory)
        raise EditError(f"Could not load the model {source.spec!r}: {exc}") from exc
    for name in WEIGHTED:
        module = getattr(pipe, name, None)
        if module is not None:
            module.eval().requires_grad_(False)
    pipe.set_progress_bar_config(disable=True)
    _report(progress, 1, 2, f"placing on {device.type}")
    apply_memory_mode(pipe, device, memory_mode)
    _report(progress, 2, 2, "model ready")
    return pipe, source


def _dtype_keyword() -> str:
    """diffusers 0.42 renamed `torch_dtype` to `dtype` (the old name warns); support both."""
    try:
        from diffusers.utils import deprecation_utils
    except ImportError:  # pragma: no cover
        return "torch_dtype"
    return "dtype" if hasattr(deprecation_utils, "_resolve_dtype") else "torch_dtype"


def _quiet_library_bars() -> None:
    """Loading reports through our own progress events; the libraries' tqdm bars are noise."""
    from diffusers.utils import logging as dlog
    from transformers.utils import logging as tlog

    dlog.disable_progress_bar()
    tlog.disable_progress_bar()


def _load(source: ModelSource, dtype, quantization: str = "none"):
    from diffusers import FluxPipeline, FluxTransformer2DModel

    from .quantization import load_kwargs

    common = {_dtype_keyword(): dtype, "local_files_only": True}
    quantize = load_kwargs(quantization, dtype)
    if source.kind == "tiny":
        import torch

        from .tiny import tiny_flux

        pipe = tiny_flux(source.seed)
        return pipe if dtype == torch.float32 else pipe.to(dtype=dtype)
    if source.kind in LONE_TRANSFORMERS:
        if source.kind == "transformer-folder":
            transformer = FluxTransformer2DModel.from_pretrained(
                str(source.path), use_safetensors=True, **common, **quantize
            )
        else:
            transformer = _load_single_file(source, dtype, quantize)
        return FluxPipeline.from_pretrained(
            str(source.base), transformer=transformer, use_safetensors=True, **common
        )
    if quantize:
        transformer = FluxTransformer2DModel.from_pretrained(
            str(source.path), subfolder="transformer", use_safetensors=True, **common, **quantize
        )
        return FluxPipeline.from_pretrained(str(source.path), transformer=transformer,
                                            use_safetensors=True, **common)
    return FluxPipeline.from_pretrained(str(source.path), use_safetensors=True, **common)


def _load_single_file(source: ModelSource, dtype, quantize: dict[str, Any] | None = None):
    """A .safetensors/.gguf transformer in BFL, ComfyUI or diffusers naming, checked key by key.

    The keys are converted here rather than by diffusers (whose converter assumes the full-size
    width), and every weight is checked against the base's config before loading, since
    diffusers leaves weights it does not find silently uninitialised.
    """
    from diffusers import FluxTransformer2DModel

    from .flux_checkpoint import match_model, read_checkpoint, to_diffusers

    assert source.path is not None and source.base is not None
    name = source.path.name
    state = to_diffusers(read_checkpoint(source.path), name)
    config = FluxTransformer2DModel.load_config(str(source.base), subfolder="transformer",
                                                local_files_only=True)
    match_model(state, config, name, str(source.base))
    kwargs: dict[str, Any] = {
        "config": str(source.base),
        "subfolder": "transformer",
        _dtype_keyword(): dtype,
        "local_files_only": True,
    }
    if source.kind == "gguf":
        from diffusers import GGUFQuantizationConfig

        kwargs["quantization_config"] = GGUFQuantizationConfig(compute_dtype=dtype)
    else:
        kwargs.update(quantize or {})
    return FluxTransformer2DModel.from_single_file(state, **kwargs)
