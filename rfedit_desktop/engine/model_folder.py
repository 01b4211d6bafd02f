"""What a diffusers FLUX.1 folder must hold, and the words for whatever it lacks.

Checked before any weight is read, so that a half-copied folder, a download that stopped, a
pickle-only model or a model of another architecture is named plainly instead of failing deep
inside diffusers. Only headers are read (safetensors' JSON header, config files).
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import EditError

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


def weight_files(folder: Path) -> list[Path]:
    """The .safetensors files of a component folder, symlinks included (even broken ones)."""
    return sorted(p for p in folder.glob("*.safetensors"))


def weight_problems(name: str, sub: Path) -> list[str]:
    """What keeps the weights of component `name` (folder `sub`) from loading, in words."""
    from .flux_checkpoint import check_safetensors

    indexes = sorted(sub.glob("*.safetensors.index.json"))
    files = weight_files(sub)
    if indexes:
        try:
            shards = sorted(set(json.loads(indexes[0].read_text(encoding="utf-8"))["weight_map"]
                                .values()))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return [f"{name}/{indexes[0].name} is unreadable"]
        missing = [s for s in shards if not (sub / s).is_file()]
        if missing:
            return [f"{name}/ is missing weight shards: {', '.join(missing)}"]
        files = [sub / s for s in shards]
    elif not any(f.is_file() for f in files):
        broken = [f.name for f in files if f.is_symlink()]
        if broken:
            return [f"{name}/{broken[0]} points to a file that is not there (unfinished download)"]
        if any(any(sub.glob(pattern)) for pattern in ("*.bin", "*.pt", "*.ckpt", "*.pth")):
            return [f"{name}/ has only pickle weights (.bin/.pt/.ckpt); rfedit loads .safetensors "
                    "only, because pickle files can run code. Convert them to .safetensors "
                    "(load the model and save_pretrained(..., safe_serialization=True))"]
        return [f"{name}/ holds no .safetensors weights"]
    out: list[str] = []
    for f in files:
        if not f.is_file():
            out.append(f"{name}/{f.name} points to a file that is not there (unfinished download)")
            continue
        try:
            check_safetensors(f)
        except EditError as exc:
            out.append(f"{name}/{str(exc).rstrip('.')}")
    return out


def diagnose_no_index(folder: Path) -> EditError:
    """A folder without model_index.json: say what it is and what to do instead."""
    present = [c for c in FLUX_COMPONENTS if (folder / c).is_dir()]
    if present:
        missing = [c for c in FLUX_COMPONENTS if c not in present]
        hint = ""
        if "transformer" in present:
            hint = (" To use this transformer with the rest of a FLUX.1 model, name the transformer "
                    f"folder with --model {folder / 'transformer'} and the complete model with "
                    "--base (a folder or a cached repo id such as black-forest-labs/FLUX.1-dev).")
        if not missing:
            return EditError(
                f"{folder} is not a complete diffusers model folder: model_index.json is missing "
                "although every component folder is there. Copy model_index.json from the "
                "original model (it names the pipeline and its parts)."
            )
        return EditError(
            f"{folder} holds only part of a FLUX.1 model ({', '.join(present)}): "
            f"model_index.json is missing, and so are the components {', '.join(missing)}.{hint}"
        )
    if is_transformer_folder(folder):
        return EditError(
            f"{folder} holds only a Flux transformer. Name the complete model that provides the "
            "text encoders, tokenizers and VAE with --base (a folder or a cached repo id such as "
            "black-forest-labs/FLUX.1-dev)."
        )
    singles = sorted(p.name for p in folder.glob("*.safetensors")) + sorted(
        p.name for p in folder.glob("*.gguf"))
    if singles:
        return EditError(
            f"{folder} is not a diffusers model folder (no model_index.json) but holds "
            f"{', '.join(singles[:3])}. Name a single-file transformer directly with "
            f"--model {folder / singles[0]} --base black-forest-labs/FLUX.1-dev (or another "
            "complete FLUX.1 folder)."
        )
    pickles = sorted(p.name for pat in ("*.ckpt", "*.pt", "*.pth", "*.bin")
                     for p in folder.glob(pat))
    if pickles:
        return EditError(
            f"{folder} holds only pickle checkpoints ({', '.join(pickles[:3])}); rfedit loads "
            ".safetensors only, because pickle files can run code when loaded. Convert the "
            "checkpoint to .safetensors, or download the .safetensors release of the model."
        )
    return EditError(
        f"{folder} is not a diffusers model folder: model_index.json is missing. "
        "Point --model at the folder that contains model_index.json."
    )


def is_transformer_folder(folder: Path) -> bool:
    try:
        cfg = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(cfg, dict) and cfg.get("_class_name") == "FluxTransformer2DModel"


#: Pipelines whose folders hold the text-to-image FLUX.1 components rfedit edits with.
FLUX_PIPELINES = ("FluxPipeline", "FluxImg2ImgPipeline", "FluxInpaintPipeline")


def check_folder(folder: Path, components: tuple[str, ...] = FLUX_COMPONENTS) -> None:
    """Raise an EditError naming every missing or unusable part of a diffusers Flux folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise EditError(f"Model folder {folder} does not exist.")
    index = folder / "model_index.json"
    if not index.is_file():
        raise diagnose_no_index(folder)
    try:
        listed = json.loads(index.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EditError(f"{index} is not valid JSON: {exc}") from exc
    if not isinstance(listed, dict):
        raise EditError(f"{index} must hold a JSON object.")
    pipeline = listed.get("_class_name")
    if pipeline is not None and pipeline not in FLUX_PIPELINES:
        raise EditError(
            f"{folder} holds a {pipeline} model; rfedit needs a model of the FLUX.1 architecture "
            "(FluxPipeline: FLUX.1 [dev], FLUX.1 [schnell] or a fine-tune of them)."
        )
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
            problems += weight_problems(name, sub)
    if problems:
        raise EditError(f"The model folder {folder} is incomplete: " + "; ".join(problems) + ".")
    tcfg = folder / "transformer" / "config.json"
    if "transformer" in components:
        check_transformer_config(tcfg, folder)


def check_transformer_config(tcfg: Path, folder: Path, vae_from: Path | None = None) -> None:
    try:
        cfg = json.loads(tcfg.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EditError(f"{tcfg} is not valid JSON: {exc}") from exc
    cls = cfg.get("_class_name")
    if cls not in (None, "FluxTransformer2DModel"):
        raise EditError(f"{folder} holds a {cls}, not a Flux transformer; rfedit edits with FLUX.1.")
    # Flux packs 2x2 latent pixels into a token: a text-to-image transformer reads 4 x the VAE's
    # latent channels (64 for FLUX.1); Fill/Depth/Canny read extra control channels on top.
    try:
        vae_cfg = (vae_from or folder) / "vae" / "config.json"
        latent = json.loads(vae_cfg.read_text(encoding="utf-8"))
        expected = 4 * int(latent.get("latent_channels", 16))
    except (OSError, ValueError, TypeError, AttributeError):
        expected = 64
    channels = cfg.get("in_channels", 64)
    if channels != expected:
        raise EditError(
            f"{folder} holds a Flux transformer with {channels} input channels where the VAE "
            f"gives {expected}: a FLUX.1 Fill/Depth/Canny-type variant that needs a control "
            "image. rfedit needs a text-to-image model such as FLUX.1 [dev] or [schnell]."
        )
