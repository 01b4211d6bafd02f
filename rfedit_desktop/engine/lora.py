"""LoRAs on the loaded FLUX.1 transformer: read, checked against the model, weighted, unloaded.

A request names its LoRAs as `(path, weight)` pairs, the path as the engine's machine sees it
(so a request can cross to an engine process or server that reads the same files); the engine
identifies each file by the sha256 of its content, which is what cache keys and metadata record.
Files are read as safetensors only and converted by diffusers' FLUX converters (diffusers/PEFT,
Kohya, XLabs, BFL naming); each becomes one PEFT adapter, so changing weights is a
`set_adapters` call and never a reload. Every file is checked against the transformer's module
shapes before anything is loaded, and a failing file leaves the model as it was.
"""

from __future__ import annotations

import hashlib
import math
import os
import struct
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import EditError

PICKLE_SUFFIXES = (".bin", ".ckpt", ".pt", ".pth", ".pkl")
_PREFIX = "transformer."


@dataclass(frozen=True)
class ActiveLora:
    """One LoRA as applied to an edit: what metadata and the cache key record."""

    name: str
    path: str
    digest: str
    weight: float

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "path": self.path, "digest": self.digest,
                "weight": self.weight}


def parse_lora_arg(text: str) -> tuple[str, float]:
    """`FILE[:WEIGHT]` from the command line (weight 1 if absent); EditError for a bad weight."""
    path, weight = text, "1"
    head, sep, tail = text.rpartition(":")
    # "C:\\x.safetensors" and "dir:with/colon.safetensors" are paths, not path:weight.
    if sep and head and not tail.lower().endswith(".safetensors") and "/" not in tail \
            and "\\" not in tail:
        path, weight = head, tail
    return path, check_weight(path, weight)


def check_weight(path: str, weight: Any) -> float:
    """A LoRA weight as a float: finite, within [-10, 10]."""
    try:
        value = float(weight) if not isinstance(weight, bool) else math.nan
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value) or not -10.0 <= value <= 10.0:
        raise EditError(f"LoRA {Path(str(path)).name}: weight {weight!r} is not a number "
                        "from -10 to 10.")
    return value


def check_lora_specs(loras: Any) -> list[tuple[str, float]]:
    """A request's `loras` as (path, weight) pairs; EditError for anything else."""
    if not isinstance(loras, (list, tuple)):
        raise EditError(f"loras must be a list of (path, weight) pairs, got {loras!r}.")
    out = []
    for item in loras:
        if not isinstance(item, (list, tuple)) or len(item) != 2 or not isinstance(item[0], str) \
                or not item[0]:
            raise EditError(f"Each LoRA must be a (path, weight) pair, got {item!r}.")
        out.append((item[0], check_weight(item[0], item[1])))
    return out


def check_lora_file(path: str | os.PathLike) -> Path:
    """A readable, complete safetensors file (header and sizes checked, no tensors read)."""
    p = Path(path).expanduser()
    name = p.name
    if p.suffix.lower() in PICKLE_SUFFIXES:
        raise EditError(f"LoRA {name} is a pickle file; rfedit loads only .safetensors LoRAs "
                        "(pickle files can run code when loaded). Use the .safetensors release.")
    if not p.is_file():
        raise EditError(f"LoRA file {p} does not exist.")
    size = p.stat().st_size
    if size == 0:
        raise EditError(f"LoRA {name} is empty (0 bytes); download it again.")
    with open(p, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise EditError(f"LoRA {name} is not a safetensors file (too short).")
        if head[:1] == b"\x80" or head[:2] == b"PK":
            raise EditError(f"LoRA {name} is a pickle file, not safetensors; rfedit loads only "
                            "safetensors LoRAs.")
        (n,) = struct.unpack("<Q", head)
        if n <= 1 or n > min(size - 8, 100_000_000):
            raise EditError(f"LoRA {name} is not a safetensors file (no valid header).")
        header = f.read(n)
    import json

    try:
        meta = json.loads(header)
        ends = [int(v["data_offsets"][1]) for k, v in meta.items() if k != "__metadata__"]
    except (ValueError, KeyError, TypeError) as exc:
        raise EditError(f"LoRA {name} is not a safetensors file (damaged header).") from exc
    if not ends:
        raise EditError(f"LoRA {name} holds no tensors.")
    if 8 + n + max(ends) > size:
        raise EditError(f"LoRA {name} is truncated ({size} bytes, the header needs "
                        f"{8 + n + max(ends)}); download it again.")
    return p


@dataclass
class LoraSet:
    """The adapters loaded on one Engine's transformer, keyed by file digest."""

    adapters: dict[str, str] = field(default_factory=dict)  # digest -> adapter name
    _digests: dict[tuple[str, int, int], str] = field(default_factory=dict)
    active: list[ActiveLora] = field(default_factory=list)

    def digest(self, path: str | os.PathLike) -> str:
        """sha256 of the file's content, remembered by (path, size, mtime)."""
        p = Path(path).expanduser()
        st = p.stat()
        key = (str(p.resolve()), st.st_size, st.st_mtime_ns)
        if key not in self._digests:
            h = hashlib.sha256()
            with open(p, "rb") as f:
                for block in iter(lambda: f.read(1 << 22), b""):
                    h.update(block)
            self._digests[key] = h.hexdigest()
        return self._digests[key]

    def resolve(self, loras: Any) -> list[ActiveLora]:
        """The request's LoRAs with their digests, weight-0 ones left out (they change nothing)."""
        out = []
        for path, weight in check_lora_specs(loras):
            p = check_lora_file(path)
            if weight != 0.0:
                out.append(ActiveLora(p.name, str(p), self.digest(p), weight))
        return out

    def cache_key(self, loras: Any) -> list[list[Any]]:
        """What the inversion cache key holds: sorted (digest, weight) of the active LoRAs."""
        return sorted([a.digest, a.weight] for a in self.resolve(loras))

    def apply(self, pipe: Any, loras: Any) -> list[ActiveLora]:
        """Make exactly these LoRAs active on `pipe.transformer`; load what is new, all or none."""
        wanted = self.resolve(loras)
        transformer = pipe.transformer
        new: list[str] = []
        try:
            for lora in wanted:
                if lora.digest not in self.adapters:
                    name = f"lora_{lora.digest[:16]}"
                    _load_adapter(pipe, lora.path, name)
                    self.adapters[lora.digest] = name
                    new.append(lora.digest)
        except BaseException:
            for digest in new:
                _delete_adapter(transformer, self.adapters.pop(digest))
            self._set(transformer, self.active)
            raise
        self._set(transformer, wanted)
        self.active = wanted
        return wanted

    def _set(self, transformer: Any, wanted: list[ActiveLora]) -> None:
        if not self.adapters:
            return
        if not wanted:
            transformer.disable_adapters()
            return
        transformer.enable_adapters()
        transformer.set_adapters([self.adapters[a.digest] for a in wanted],
                                 [a.weight for a in wanted])

    def unload(self, pipe: Any) -> None:
        """Remove every adapter: the transformer computes as freshly loaded."""
        for name in self.adapters.values():
            _delete_adapter(pipe.transformer, name)
        self.adapters.clear()
        self.active = []


def _read(path: str) -> dict[str, Any]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(path)
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise EditError(f"LoRA {Path(path).name} could not be read: {exc}") from exc


def transformer_state(path: str, state: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The LoRA's transformer weights in diffusers naming and their alphas (diffusers converts
    Kohya, XLabs and BFL files); text-encoder weights are left out."""
    from diffusers import FluxPipeline

    name = Path(path).name
    try:
        converted, alphas = FluxPipeline.lora_state_dict(dict(state), return_alphas=True)
    except (ValueError, KeyError, RuntimeError, AssertionError, IndexError, TypeError) as exc:
        raise EditError(f"LoRA {name} is not a FLUX.1 LoRA diffusers can convert: {exc}") from exc
    weights = {k: v for k, v in converted.items() if k.startswith(_PREFIX) and "lora" in k}
    if not weights:
        raise EditError(f"LoRA {name} holds no LoRA weights for a FLUX.1 transformer (another "
                        "architecture, or a text-encoder-only LoRA).")
    alphas = {k: v for k, v in (alphas or {}).items() if k.startswith(_PREFIX)}
    return weights, alphas


def check_fits(path: str, weights: dict[str, Any], transformer: Any) -> None:
    """Every LoRA pair targets a linear layer of this transformer with matching shapes."""
    name = Path(path).name
    for key, t in weights.items():
        module_name, _, kind = key[len(_PREFIX):].rpartition(".lora_")
        try:
            module = transformer.get_submodule(module_name)
        except AttributeError:
            raise EditError(f"LoRA {name} does not fit this model: it changes {module_name}, "
                            "which this transformer lacks (a LoRA for another model).") from None
        module = getattr(module, "base_layer", module)
        fin, fout = getattr(module, "in_features", None), getattr(module, "out_features", None)
        if fin is None or fout is None or t.ndim != 2:
            raise EditError(f"LoRA {name} does not fit this model: {module_name} is not a "
                            "linear layer here.")
        fits = t.shape[1] == fin if kind.startswith("A") else t.shape[0] == fout
        if not fits:
            raise EditError(
                f"LoRA {name} does not fit this model: {key} has shape {tuple(t.shape)} but "
                f"{module_name} maps {fin} to {fout} features (a LoRA for another model size)."
            )


def _load_adapter(pipe: Any, path: str, adapter: str) -> None:
    name = Path(path).name
    weights, alphas = transformer_state(path, _read(path))
    check_fits(path, weights, pipe.transformer)
    try:
        with warnings.catch_warnings():
            # Several adapters on one model is the point here, not a mistake.
            warnings.filterwarnings("ignore", message="Already found a `peft_config`")
            pipe.transformer.load_lora_adapter(weights, network_alphas=alphas or None,
                                               adapter_name=adapter, prefix="transformer",
                                               _pipeline=pipe)
    except ImportError as exc:
        raise EditError(f"Loading LoRA {name} needs the 'peft' package: pip install "
                        "'peft>=0.17'.") from exc
    except (ValueError, RuntimeError, KeyError, TypeError) as exc:
        _delete_adapter(pipe.transformer, adapter)
        raise EditError(f"LoRA {name} could not be loaded onto this model: {exc}") from exc


def _delete_adapter(transformer: Any, adapter: str) -> None:
    if adapter in (getattr(transformer, "peft_config", None) or {}):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Adapter .* was active which is now deleted")
            transformer.delete_adapters(adapter)
