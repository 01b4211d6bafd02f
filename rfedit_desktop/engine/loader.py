"""Find a Flux model the user already has on disk and load it, offline, from safetensors only.

A model can be named five ways: "demo" (the small trained model shipped with rfedit), "tiny"
(random weights, for tests), a diffusers folder, a Hugging Face repo id that
`huggingface-cli download` already put in the local cache, or a single transformer file
(`.safetensors`, or `.gguf` when the `gguf` package is installed) whose text encoders and VAE
come from a base folder. Every failure a user can cause (missing folder, half-copied download,
pickle-only weights, repo not in the cache) becomes an EditError that says what to do.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import paths
from ..errors import EditError
from .request import ProgressEvent

#: The components a Flux pipeline folder must hold (model_index.json may list more, optional).
FLUX_COMPONENTS: tuple[str, ...] = (
    "scheduler",
    "text_encoder",
    "text_encoder_2",
    "tokenizer",
    "tokenizer_2",
    "transformer",
    "vae",
)
#: Components that carry weights (the others are configs or vocabularies).
WEIGHTED = ("text_encoder", "text_encoder_2", "transformer", "vae")
TOKENIZER_FILES = ("tokenizer.json", "vocab.json", "spiece.model", "tokenizer_config.json")
SETTINGS_FILE = "rfedit.json"
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass
class ModelSource:
    """Where a model lives and what it is called; everything known before loading weights."""

    kind: str  # "tiny" | "demo" | "folder" | "repo" | "single-file" | "gguf"
    spec: str
    name: str
    path: Path | None = None  # the folder (or, for single files, the file)
    base: Path | None = None  # single files: the folder holding the other components
    seed: int = 0  # tiny only
    settings: dict[str, Any] = field(default_factory=dict)  # rfedit.json, if any

    @property
    def folder(self) -> Path | None:
        """The diffusers folder that holds the configs (the base, for single files)."""
        return self.base if self.kind in ("single-file", "gguf") else self.path


def read_settings(folder: Path | None) -> dict[str, Any]:
    """The optional `rfedit.json` of a model folder (empty if absent); bad JSON is an error."""
    if folder is None:
        return {}
    f = Path(folder) / SETTINGS_FILE
    if not f.is_file():
        return {}
    try:
        data = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EditError(f"The model settings file {f} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise EditError(f"The model settings file {f} must hold a JSON object.")
    return data


def _has_weights(folder: Path) -> tuple[bool, bool]:
    """(has safetensors weights whose shards all exist, has pickle weights)."""
    pickle = any(folder.glob("*.bin")) or any(folder.glob("*.pt")) or any(folder.glob("*.ckpt"))
    for index in folder.glob("*.safetensors.index.json"):
        try:
            shards = set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values())
        except (OSError, ValueError, KeyError, TypeError):
            return False, pickle
        return all((folder / s).is_file() for s in shards), pickle
    return any(folder.glob("*.safetensors")), pickle


def _missing_shards(folder: Path) -> list[str]:
    out: list[str] = []
    for index in folder.glob("*.safetensors.index.json"):
        try:
            shards = set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values())
        except (OSError, ValueError, KeyError, TypeError):
            return [f"{index.name} (unreadable)"]
        out += [s for s in sorted(shards) if not (folder / s).is_file()]
    return out


def check_folder(folder: Path, components: tuple[str, ...] = FLUX_COMPONENTS) -> None:
    """Raise an EditError naming every missing or unusable part of a diffusers Flux folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise EditError(f"Model folder {folder} does not exist.")
    index = folder / "model_index.json"
    if not index.is_file():
        raise EditError(
            f"{folder} is not a diffusers model folder: model_index.json is missing. "
            "Point --model at the folder that contains model_index.json."
        )
    try:
        listed = json.loads(index.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EditError(f"{index} is not valid JSON: {exc}") from exc
    problems: list[str] = []
    for name in components:
        sub = folder / name
        entry = listed.get(name)
        if entry is None or (isinstance(entry, list) and entry[0] is None):
            problems.append(f"model_index.json lists no '{name}'")
            continue
        if not sub.is_dir():
            problems.append(f"folder '{name}/' is missing")
            continue
        if name == "scheduler":
            if not (sub / "scheduler_config.json").is_file():
                problems.append("scheduler/scheduler_config.json is missing")
        elif name.startswith("tokenizer"):
            if not any((sub / f).is_file() for f in TOKENIZER_FILES):
                problems.append(f"'{name}/' holds no tokenizer files")
        else:
            if not (sub / "config.json").is_file():
                problems.append(f"{name}/config.json is missing")
            ok, pickle = _has_weights(sub)
            if not ok:
                shards = _missing_shards(sub)
                if shards:
                    problems.append(f"{name}/ is missing weight shards: {', '.join(shards)}")
                elif pickle:
                    problems.append(
                        f"{name}/ has only pickle weights (.bin/.pt); rfedit loads .safetensors only"
                    )
                else:
                    problems.append(f"{name}/ holds no .safetensors weights")
    if problems:
        raise EditError(f"The model folder {folder} is incomplete: " + "; ".join(problems) + ".")
    tcfg = folder / "transformer" / "config.json"
    try:
        cls = json.loads(tcfg.read_text(encoding="utf-8")).get("_class_name")
    except (OSError, ValueError) as exc:
        raise EditError(f"{tcfg} is not valid JSON: {exc}") from exc
    if cls not in (None, "FluxTransformer2DModel"):
        raise EditError(f"{folder} holds a {cls}, not a Flux transformer; rfedit edits with FLUX.1.")


def cached_repo_folder(repo_id: str) -> Path:
    """The snapshot folder of a repo already in the local Hugging Face cache, never downloading."""
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import LocalEntryNotFoundError
    except ImportError as exc:  # pragma: no cover (huggingface_hub comes with diffusers)
        raise EditError("huggingface_hub is not installed; name a model folder instead.") from exc
    try:
        return Path(snapshot_download(repo_id, local_files_only=True))
    except (LocalEntryNotFoundError, FileNotFoundError, OSError, ValueError) as exc:
        raise EditError(
            f"The model {repo_id!r} is not in the local Hugging Face cache, and rfedit never "
            f"downloads. Download it once with:  huggingface-cli download {repo_id}  "
            "(or name a model folder with --model PATH)."
        ) from exc


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
        if suffix in (".bin", ".ckpt", ".pt", ".pth"):
            raise EditError(
                f"{path.name} is a pickle checkpoint; rfedit loads only .safetensors or .gguf "
                "files (pickle files can run code when loaded)."
            )
        if not path.is_file():
            raise EditError(f"Model file {path} does not exist.")
        if suffix == ".gguf" and importlib.util.find_spec("gguf") is None:
            raise EditError(
                "Loading a .gguf model needs the 'gguf' package: pip install 'rfedit-desktop[gguf]'."
            )
        if base is None:
            raise EditError(
                f"{path.name} holds only the transformer; name the folder or cached repo id with "
                "the other parts (text encoders, VAE, configs) with --base, e.g. "
                "--base black-forest-labs/FLUX.1-dev."
            )
        base_folder = _base_folder(str(base))
        check_folder(base_folder, tuple(c for c in FLUX_COMPONENTS if c != "transformer"))
        if not (base_folder / "transformer" / "config.json").is_file():
            raise EditError(f"The base {base_folder} has no transformer/config.json to describe "
                            f"the weights in {path.name}.")
        kind = "gguf" if suffix == ".gguf" else "single-file"
        return ModelSource(kind, spec, path.stem, path, base_folder,
                           settings=read_settings(base_folder))
    if path.exists() or spec.startswith((".", "/", "~")) or not _REPO_ID.match(spec):
        if not path.exists():
            raise EditError(
                f"Cannot find a model called {spec!r}: no such folder, and it is neither demo, "
                "tiny, a .safetensors/.gguf file nor a repo id (owner/name)."
            )
        check_folder(path)
        settings = read_settings(path)
        return ModelSource("folder", spec, settings.get("name", path.resolve().name), path,
                           settings=settings)
    folder = cached_repo_folder(spec)
    check_folder(folder)
    settings = read_settings(folder)
    return ModelSource("repo", spec, settings.get("name", spec), folder, settings=settings)


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
):
    """Load the pipeline named by `spec`, in eval mode, placed per `memory_mode`.

    Returns `(pipeline, source)`. Always offline, safetensors only, no remote code.
    """
    import torch

    from .devices import apply_memory_mode

    source = spec if isinstance(spec, ModelSource) else resolve_model(spec, base)
    device = torch.device(device) if not isinstance(device, torch.device) else device
    dtype = dtype or torch.float32
    _report(progress, 0, 2, f"loading {source.name}")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    _quiet_library_bars()
    try:
        pipe = _load(source, dtype)
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


def _load(source: ModelSource, dtype):
    from diffusers import FluxPipeline, FluxTransformer2DModel

    common = {_dtype_keyword(): dtype, "local_files_only": True}
    if source.kind == "tiny":
        import torch

        from .tiny import tiny_flux

        pipe = tiny_flux(source.seed)
        return pipe if dtype == torch.float32 else pipe.to(dtype=dtype)
    if source.kind in ("single-file", "gguf"):
        kwargs: dict[str, Any] = {
            "config": str(source.base),
            "subfolder": "transformer",
            **common,
        }
        if source.kind == "gguf":
            from diffusers import GGUFQuantizationConfig

            kwargs["quantization_config"] = GGUFQuantizationConfig(compute_dtype=dtype)
        transformer = FluxTransformer2DModel.from_single_file(str(source.path), **kwargs)
        return FluxPipeline.from_pretrained(
            str(source.base), transformer=transformer, use_safetensors=True, **common
        )
    return FluxPipeline.from_pretrained(str(source.path), use_safetensors=True, **common)
