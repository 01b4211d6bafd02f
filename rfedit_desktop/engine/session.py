"""The loaded model and everything that lives as long as it: the `Engine`.

One Engine per model load. It owns the pipeline, where and in which dtype it runs, the model's
identity (cache keys must never mix two models), the prompt-embedding cache and the inversion
cache. It lives on one thread for the whole session (the engine thread of its server process).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .loader import ModelSource, ProgressFn, fingerprint, load_pipeline, resolve_model
from .lora import LoraSet
from .prompt_grammar import prompt_grammar
from .prompts import PromptCache
from .request import EditRequest


@dataclass
class Engine:
    """A loaded Flux pipeline plus its identity and caches. Build with `load_engine`."""

    pipe: Any
    source: ModelSource
    device: Any
    dtype: Any
    memory_mode: str
    model_id: str
    prompts: PromptCache
    cache: Any  # InversionCache
    extra: dict[str, Any] = field(default_factory=dict)
    loras: LoraSet = field(default_factory=LoraSet)
    quantization: str = "none"
    plan: Any = None  # the memory_plan.Plan that chose memory_mode and quantization

    # -- what the model is -------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.source.name

    @property
    def settings(self) -> dict[str, Any]:
        return self.source.settings

    @property
    def native_resolution(self) -> int | None:
        """Side length the model was trained at (rfedit.json "resolution"), if known."""
        value = self.settings.get("resolution")
        return int(value) if value else None

    @property
    def max_pixels(self) -> int | None:
        """The model's own pixel budget: resolution², or None (only the request's budget)."""
        res = self.native_resolution
        return res * res if res else None

    @property
    def vae_scale_factor(self) -> int:
        return int(self.pipe.vae_scale_factor)

    @property
    def size_multiple(self) -> int:
        """Image sides must be multiples of this: VAE factor × Flux's 2×2 patches (16)."""
        return self.vae_scale_factor * 2

    @property
    def latent_channels(self) -> int:
        return int(self.pipe.vae.config.latent_channels)

    @property
    def guidance_embeds(self) -> bool:
        return bool(self.pipe.transformer.config.guidance_embeds)

    @property
    def shift_grid(self) -> bool:
        """Whether the sigma grid gets Flux's resolution-dependent shift (not for Schnell)."""
        return bool(self.pipe.scheduler.config.get("use_dynamic_shifting", False))

    @property
    def shift_config(self) -> Any:
        """The grid shift the model's scheduler was configured with (a `flow.ShiftConfig`)."""
        from ..flow import ShiftConfig

        return ShiftConfig.from_scheduler_config(self.pipe.scheduler.config)

    @property
    def default_guidance(self) -> float:
        return float(self.settings.get("default_guidance", 3.5))

    # -- reports ------------------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        """A JSON-friendly summary for `rfedit-cli info` and the GUI's status bar."""
        return {
            "model": self.name,
            "model_kind": self.source.kind,
            "model_path": str(self.source.path) if self.source.path else None,
            "model_id": self.model_id,
            "description": self.settings.get("description", ""),
            "prompt_grammar": prompt_grammar(self.settings),
            "device": str(self.device),
            "dtype": str(self.dtype).replace("torch.", ""),
            "memory_mode": self.memory_mode,
            "quantization": self.quantization,
            "native_resolution": self.native_resolution,
            "latent_channels": self.latent_channels,
            "vae_scale_factor": self.vae_scale_factor,
            "guidance_embeds": self.guidance_embeds,
            "default_guidance": self.default_guidance,
            "prompt_cache": self.prompts.stats(),
            "inversion_cache": _stats(self.cache),
            "loras": [a.as_dict() for a in self.loras.active],
            "memory_plan_table": self.plan.table() if self.plan is not None else "",
        }

    def is_cached(self, request: EditRequest) -> bool:
        """Would `run_edit(self, request)` skip the inversion? Cheap: no model call."""
        from .inversion import cached_inversion
        from .prepare import prepare

        try:
            prepared = prepare(self, request)
        except Exception:  # noqa: BLE001  (a bad request is simply not cached)
            return False
        return cached_inversion(self, request, prepared, peek=True) is not None


def _stats(cache: Any) -> dict[str, Any]:
    stats = cache.stats()
    return dict(stats) if isinstance(stats, dict) else {"stats": str(stats)}


def load_engine(
    model: str = "demo",
    device: str = "auto",
    memory_mode: str = "auto",
    progress: ProgressFn | None = None,
    *,
    dtype: str | None = None,
    base: str | None = None,
    release_t5: bool = False,
    cache: Any = None,
    quantization: str = "auto",
) -> Engine:
    """Resolve, plan, load and place a model; EditError for anything the user can fix.

    `memory_mode` (an offload mode) and `quantization` (the transformer's weight format) left
    "auto" are chosen by the VRAM planner for the device's free memory; a fixed combination
    that cannot run here fails before any weight is read.
    """
    from .cache import InversionCache
    from .devices import pick_device, pick_dtype
    from .memory_plan import plan_for

    source = resolve_model(model, base)
    dev = pick_device(device)
    torch_dtype = pick_dtype(dev, dtype)
    plan = plan_for(source, dev, torch_dtype, memory_mode, quantization)
    offload, weights = plan.choice.offload, plan.choice.quantization
    load_as = "none" if weights == "gguf" else weights
    pipe, source = load_pipeline(source, dev, torch_dtype, offload, progress,
                                 quantization=load_as)
    return Engine(
        pipe=pipe,
        source=source,
        device=dev,
        dtype=torch_dtype,
        memory_mode=offload,
        model_id=fingerprint(source),
        # With offloading, diffusers' hooks already move T5 on and off the device.
        prompts=PromptCache(release_t5=release_t5 and offload == "none"),
        cache=cache if cache is not None else InversionCache(),
        quantization=weights,
        plan=plan,
    )
