"""`run_edit`: the one path from an EditRequest to an EditResult (CLI, GUI and benchmarks).

The sampling mathematics lives in `flow/`; this module is the glue that turns pixels and
prompts into the tensors `flow` needs and back: image preparation, VAE encode/decode, prompt
embeddings, the velocity callable around the Flux transformer, the inversion cache, progress
with previews, and cancelling.

Cache policy: an inversion is keyed by the preprocessed pixels, the model, the size, steps,
the effective gamma (0 for the "ode" method), strength, seed, source prompt and source
guidance. The per-step trajectory, which only masked edits need, is stored only when a masked
request computes the inversion: an entry without it serves unmasked edits, and a masked edit
that finds such an entry recomputes and replaces it (with the trajectory) once.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .. import flow
from ..errors import Cancelled, EditError
from . import images
from .cache import CachedInversion, image_digest
from .devices import configure_vae_tiling
from .preview import packed_to_rgb, rgb_projection
from .request import METHODS, EditRequest, EditResult, ProgressEvent, ProgressFn
from .session import Engine

MAX_STEPS = 200
#: Feather radius (pixels at the input's size) of the mask's soft edge, as a fraction of the
#: shorter side; at least 2 px.
FEATHER_FRACTION = 0.01


# -- validation ---------------------------------------------------------------------------------
def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise EditError(f"{name} must be a finite number, got {value!r}.")
    return float(value)


def validate_request(request: EditRequest) -> None:
    """Check every parameter before any work; an EditError says which one and why."""
    r = request
    if not isinstance(r.prompt, str):
        raise EditError(f"The prompt must be text, got {type(r.prompt).__name__}.")
    if not isinstance(r.source_prompt, str):
        raise EditError(f"The source prompt must be text, got {type(r.source_prompt).__name__}.")
    if r.method not in METHODS:
        raise EditError(f"Unknown method {r.method!r}; choose one of {', '.join(METHODS)}.")
    if isinstance(r.steps, bool) or not isinstance(r.steps, int) or not 1 <= r.steps <= MAX_STEPS:
        raise EditError(f"steps must be a whole number from 1 to {MAX_STEPS}, got {r.steps!r}.")
    for name in ("gamma", "eta"):
        v = _number(name, getattr(r, name))
        if not 0.0 <= v <= 1.0:
            raise EditError(f"{name} must be between 0 and 1, got {v}.")
    start, stop = _number("start", r.start), _number("stop", r.stop)
    if not 0.0 <= start <= stop <= 1.0:
        raise EditError(
            f"The eta window needs 0 <= start <= stop <= 1, got start={start}, stop={stop}."
        )
    if r.decay_power is not None and _number("decay_power", r.decay_power) < 0:
        raise EditError(f"decay_power must be >= 0, got {r.decay_power}.")
    s = _number("strength", r.strength)
    if not 0.0 < s <= 1.0:
        raise EditError(f"strength must be in (0, 1], got {s}.")
    for name in ("guidance", "source_guidance"):
        if _number(name, getattr(r, name)) < 0:
            raise EditError(f"{name} must be >= 0, got {getattr(r, name)}.")
    if isinstance(r.seed, bool) or not isinstance(r.seed, int) or not 0 <= r.seed < 2**63:
        raise EditError(f"seed must be a whole number >= 0, got {r.seed!r}.")
    mp = _number("max_megapixels", r.max_megapixels)
    if not 0.0 < mp <= 64.0:
        raise EditError(f"max_megapixels must be in (0, 64], got {mp}.")
    if isinstance(r.preview_every, bool) or not isinstance(r.preview_every, int) or r.preview_every < 0:
        raise EditError(f"preview_every must be a whole number >= 0, got {r.preview_every!r}.")
    bg = r.background
    if (
        not isinstance(bg, (tuple, list))
        or len(bg) != 3
        or not all(isinstance(c, int) and 0 <= c <= 255 for c in bg)
    ):
        raise EditError(f"background must be three integers 0..255, got {bg!r}.")


# -- image preparation --------------------------------------------------------------------------
@dataclass
class Prepared:
    """The request's pixels made ready for the model, plus what is needed to undo the resize."""

    original: np.ndarray  # H×W×3 uint8 at the input's size, alpha flattened
    model_rgb: np.ndarray  # h×w×3 uint8 at the model's size
    height: int  # model size
    width: int
    digest: str
    mask: np.ndarray | None = None  # H×W float32 in [0, 1] at the input's size, 1 = may change
    weight: np.ndarray | None = None  # the mask feathered: how much of the edit each pixel takes


def _pixel_budget(engine: Engine, max_megapixels: float) -> int:
    budget = int(max_megapixels * 1_000_000)
    if engine.max_pixels:
        budget = min(budget, engine.max_pixels)
    return budget


def prepare(engine: Engine, request: EditRequest) -> Prepared:
    """Load, flatten alpha, fit to the model's size grid; validate the mask against the image."""
    rgb = images.load_image(request.image)
    if rgb.ndim == 3 and rgb.shape[2] == 4:
        rgb = images.flatten_alpha(rgb, request.background)
    h0, w0 = rgb.shape[:2]
    h, w = images.fit_size(
        h0, w0, _pixel_budget(engine, request.max_megapixels), multiple=engine.size_multiple
    )
    model_rgb = images.to_model_size(rgb, h, w)
    mask = weight = None
    if request.mask is not None:
        mask = images.prepare_mask(request.mask, h0, w0)
        weight = edit_weight(mask, max(2, round(FEATHER_FRACTION * min(h0, w0))))
    return Prepared(rgb, model_rgb, h, w, image_digest(model_rgb), mask, weight)


def edit_weight(mask: np.ndarray, radius: float) -> np.ndarray:
    """How much of the edit each pixel takes: the mask with its edge softened *inwards*.

    Zero wherever the mask is zero, so that nothing outside the artist's mask ever changes;
    inside, a ramp of about `radius` pixels from the edge hides the seam between edited and
    original pixels. The radius shrinks for thin masks (a stroke narrower than twice the
    radius would otherwise fade away): at most a quarter of the mask's mean thickness,
    2·area/perimeter.
    """
    m = np.clip(np.asarray(mask, np.float32), 0.0, 1.0)
    inside = m > 0.5
    if not inside.any():
        return m
    padded = np.pad(inside, 1, mode="edge")
    edge = inside & ~(padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:])
    thickness = 2.0 * float(inside.sum()) / max(1, int(edge.sum()))
    r = min(float(radius), thickness / 4.0)
    if r < 0.5:
        return m
    ramp = np.clip(2.0 * images.feather(inside.astype(np.float32), r) - 1.0, 0.0, 1.0)
    return np.minimum(m, ramp).astype(np.float32)


# -- tensors in and out of the VAE ------------------------------------------------------------
def _vae_shift_scale(engine: Engine) -> tuple[float, float]:
    cfg = engine.pipe.vae.config
    shift = cfg.get("shift_factor", None) or 0.0
    scale = cfg.get("scaling_factor", None) or 1.0
    return float(shift), float(scale)


def encode_image(engine: Engine, rgb: np.ndarray) -> torch.Tensor:
    """h×w×3 uint8 → packed, normalised latent (1, tokens, 4C) in float32, from the VAE mean."""
    vae = engine.pipe.vae
    configure_vae_tiling(engine.pipe, rgb.shape[0], rgb.shape[1])
    x = torch.from_numpy(np.array(rgb, dtype=np.float32)).permute(2, 0, 1)[None] / 127.5 - 1.0
    x = x.to(engine.device, vae.dtype)
    with torch.inference_mode():
        # The mean, not a sample: encoding the same pixels must give the same latent.
        z = vae.encode(x).latent_dist.mean
    shift, scale = _vae_shift_scale(engine)
    z = (z.float() - shift) * scale
    return flow.pack_latents(z)


def decode_latent(engine: Engine, packed: torch.Tensor, height: int, width: int) -> np.ndarray:
    """Packed normalised latent → h×w×3 uint8 pixels at the model's size."""
    vae = engine.pipe.vae
    f = engine.vae_scale_factor
    z = flow.unpack_latents(packed.float(), height // f, width // f)
    shift, scale = _vae_shift_scale(engine)
    z = (z / scale + shift).to(engine.device, vae.dtype)
    configure_vae_tiling(engine.pipe, height, width)
    with torch.inference_mode():
        x = vae.decode(z, return_dict=False)[0]
    x = ((x.float().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)
    return x[0].permute(1, 2, 0).cpu().numpy()


# -- the model as a velocity field --------------------------------------------------------------
def _image_ids(height: int, width: int, f: int, device: torch.device, dtype) -> torch.Tensor:
    """Flux's 2-D rotary positions of the packed tokens (row, column) as diffusers builds them."""
    lh, lw = height // (2 * f), width // (2 * f)
    ids = torch.zeros(lh, lw, 3)
    ids[..., 1] = torch.arange(lh)[:, None]
    ids[..., 2] = torch.arange(lw)[None, :]
    return ids.reshape(lh * lw, 3).to(device=device, dtype=dtype)


def make_velocity(
    engine: Engine, prompt: str, guidance: float, height: int, width: int
) -> Callable[[torch.Tensor, float], torch.Tensor]:
    """`velocity(x, sigma) -> u` for one prompt and guidance, calling the Flux transformer."""
    pipe = engine.pipe
    transformer = pipe.transformer
    embeds = engine.prompts.encode(pipe, prompt, engine.device)
    model_dtype = transformer.dtype
    img_ids = _image_ids(height, width, engine.vae_scale_factor, engine.device, embeds.text_ids.dtype)
    g = None
    if transformer.config.guidance_embeds:
        g = torch.full([1], float(guidance), device=engine.device, dtype=torch.float32)

    def velocity(x: torch.Tensor, sigma: float) -> torch.Tensor:
        # float32 timestep: the embedding is computed in float32 inside, so sigma keeps its
        # precision even when the model runs in bf16
        t = torch.full([x.shape[0]], sigma, device=engine.device, dtype=torch.float32)
        with torch.inference_mode():
            u = transformer(
                hidden_states=x.to(engine.device, model_dtype),
                timestep=t,  # the transformer multiplies by 1000 itself
                guidance=g,
                pooled_projections=embeds.pooled,
                encoder_hidden_states=embeds.prompt_embeds,
                txt_ids=embeds.text_ids,
                img_ids=img_ids,
                return_dict=False,
            )[0]
        u = u.to(x.dtype)
        velocity.last = (x, sigma, u)  # type: ignore[attr-defined]  (for clean previews)
        return u

    velocity.last = None  # type: ignore[attr-defined]
    velocity.truncated = embeds.truncated  # type: ignore[attr-defined]
    return velocity


# -- progress and cancel ----------------------------------------------------------------------
class _Reporter:
    """Turns flow's step callbacks into ProgressEvents with previews; checks cancel."""

    def __init__(
        self,
        engine: Engine,
        progress: ProgressFn | None,
        cancel: threading.Event | None,
        preview_every: int,
        height: int,
        width: int,
    ) -> None:
        self.progress, self.cancel, self.every = progress, cancel, preview_every
        f = engine.vae_scale_factor
        self.lh, self.lw = height // f, width // f
        self.factors, self.bias = rgb_projection(engine.latent_channels, engine.settings)

    def check(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled("cancelled")

    def phase(self, name: str, message: str = "") -> None:
        self.check()
        if self.progress is not None:
            self.progress(ProgressEvent(name, 0, 1, message=message or name))

    def steps(
        self, name: str, velocity: Callable[..., torch.Tensor] | None = None
    ) -> Callable[[int, int, torch.Tensor], bool]:
        """A flow callback. Given the editing `velocity`, previews show its clean-image
        prediction x - sigma u (u = eps - x0) instead of the still-noisy state: midway through an
        edit the artist sees the picture that is forming, not grain."""

        def callback(step: int, total: int, latent: torch.Tensor) -> bool:
            if self.progress is not None:
                preview = None
                if self.every and (step % self.every == 0 or step == total):
                    shown = latent
                    last = getattr(velocity, "last", None)
                    if last is not None and step < total:
                        x, sigma, u = last
                        shown = x - sigma * u
                    preview = packed_to_rgb(shown, self.lh, self.lw, self.factors, self.bias)
                self.progress(ProgressEvent(name, step, total, preview=preview))
            return self.cancel is not None and self.cancel.is_set()

        return callback


# -- inversion (with the cache) --------------------------------------------------------------
def _effective_gamma(request: EditRequest) -> float:
    return 0.0 if request.method == "ode" else float(request.gamma)


def _seed_generator(seed: int, stream: int) -> torch.Generator:
    """A CPU generator per purpose (0: inversion noise y1, 1: editing noise), so a cache hit,
    which skips drawing y1, leaves the editing noise unchanged."""
    g = torch.Generator(device="cpu")
    g.manual_seed((seed * 2 + stream) % (2**63))
    return g


def _sigmas(engine: Engine, steps: int, height: int, width: int) -> torch.Tensor:
    seq = flow.image_seq_len(height, width, engine.vae_scale_factor)
    return flow.flux_sigmas(steps, seq, config=engine.shift_config)


def inversion_key(engine: Engine, request: EditRequest, prepared: Prepared) -> str:
    return engine.cache.make_key(
        image=prepared.digest,
        model=engine.model_id,
        dtype=str(engine.dtype),
        device=engine.device.type,
        height=prepared.height,
        width=prepared.width,
        steps=int(request.steps),
        gamma=_effective_gamma(request),
        strength=float(request.strength),
        seed=int(request.seed),
        source_prompt=request.source_prompt,
        source_guidance=float(request.source_guidance),
    )


def cached_inversion(
    engine: Engine, request: EditRequest, prepared: Prepared, peek: bool = False
) -> Any:
    """The usable cache entry for this request, or None (sdedit never uses one)."""
    if request.method == "sdedit":
        return None
    key = inversion_key(engine, request, prepared)
    if peek:
        # Cheap for the GUI's indicator: a file check, and a load only when the trajectory
        # a masked edit needs might be missing.
        if not engine.cache.contains(key):
            return None
        if prepared.mask is None:
            return True
    entry = engine.cache.get(key)
    if entry is None:
        return None
    if prepared.mask is not None and entry.trajectory is None:
        return None
    return entry


@dataclass
class _Inverted:
    y0: torch.Tensor
    latent: torch.Tensor
    trajectory: list[torch.Tensor] | None
    nfe: int
    hit: bool


def _invert(
    engine: Engine,
    request: EditRequest,
    prepared: Prepared,
    sigmas: torch.Tensor,
    reporter: _Reporter,
    timings: dict[str, float],
) -> _Inverted:
    entry = cached_inversion(engine, request, prepared)
    if entry is not None:
        timings["encode_image"] = 0.0
        timings["invert"] = 0.0
        dev = engine.device
        traj = [t.to(dev) for t in entry.trajectory] if entry.trajectory is not None else None
        return _Inverted(entry.y0.to(dev), entry.latent.to(dev), traj, 0, True)
    reporter.phase("encode", "encoding the image")
    t = time.perf_counter()
    y0 = encode_image(engine, prepared.model_rgb)
    timings["encode_image"] = time.perf_counter() - t
    t = time.perf_counter()
    velocity = make_velocity(
        engine, request.source_prompt, request.source_guidance, prepared.height, prepared.width
    )
    timings["encode_prompt"] += time.perf_counter() - t
    reporter.phase("invert", "inverting")
    t = time.perf_counter()
    keep = prepared.mask is not None
    result = flow.invert(
        velocity,
        y0,
        sigmas,
        gamma=_effective_gamma(request),
        generator=_seed_generator(request.seed, 0),
        strength=request.strength,
        keep_trajectory=keep,
        callback=reporter.steps("invert"),
    )
    timings["invert"] = time.perf_counter() - t
    engine.cache.put(
        inversion_key(engine, request, prepared),
        CachedInversion(
            y0=result.y0,
            y1=result.y1,
            latent=result.latent,
            trajectory=result.trajectory,
            meta={"steps": request.steps, "gamma": _effective_gamma(request),
                  "strength": request.strength, "seed": request.seed,
                  "height": prepared.height, "width": prepared.width, "model": engine.model_id},
        ),
    )
    return _Inverted(result.y0, result.latent, result.trajectory, result.nfe, False)


def _latent_mask(engine: Engine, prepared: Prepared, like: torch.Tensor) -> torch.Tensor:
    """Pixel mask → packed token mask (0 or 1): a latent cell may change if any pixel in it
    takes part of the edit, the feathered margin included, so the soft edge blends into
    regenerated content rather than into the VAE's copy of the original."""
    f = engine.vae_scale_factor
    m = images.to_model_size(prepared.weight, prepared.height, prepared.width)
    m = torch.from_numpy(np.ascontiguousarray(m, dtype=np.float32))[None, None]
    m = (torch.nn.functional.max_pool2d(m, kernel_size=f, stride=f) > 1e-3).float()
    c = engine.latent_channels
    packed = flow.pack_latents(m.expand(1, c, m.shape[2], m.shape[3]).contiguous())
    return packed.to(like.device, like.dtype)


def _composite(prepared: Prepared, edited: np.ndarray) -> np.ndarray:
    """Edited pixels inside the (feathered) mask, the original's exact pixels elsewhere."""
    weight = prepared.weight.astype(np.float32)[..., None]
    orig = prepared.original.astype(np.float32)
    out = orig + weight * (edited.astype(np.float32) - orig)
    out = np.clip(np.round(out), 0, 255).astype(np.uint8)
    outside = weight[..., 0] <= 0.0
    out[outside] = prepared.original[outside]
    return out


# -- the one edit path --------------------------------------------------------------------------
def run_edit(
    engine: Engine,
    request: EditRequest,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
) -> EditResult:
    """Edit `request.image` as the request says; pixels come back at the input's size."""
    validate_request(request)
    timings = dict.fromkeys(
        ("load_image", "encode_image", "encode_prompt", "invert", "edit", "decode"), 0.0
    )
    t = time.perf_counter()
    prepared = prepare(engine, request)
    timings["load_image"] = time.perf_counter() - t
    reporter = _Reporter(engine, progress, cancel, request.preview_every,
                         prepared.height, prepared.width)
    reporter.check()
    sigmas = _sigmas(engine, request.steps, prepared.height, prepared.width)
    n = request.steps
    k0 = flow.start_index(n, request.strength)
    method = request.method
    edit_generator = _seed_generator(request.seed, 1)

    if method == "sdedit":
        reporter.phase("encode", "encoding the image")
        t = time.perf_counter()
        y0 = encode_image(engine, prepared.model_rgb)
        timings["encode_image"] = time.perf_counter() - t
        t = time.perf_counter()
        velocity = make_velocity(engine, request.prompt, request.guidance,
                                 prepared.height, prepared.width)
        timings["encode_prompt"] += time.perf_counter() - t
        reporter.phase("edit", "editing")
        t = time.perf_counter()
        mask = _latent_mask(engine, prepared, y0) if prepared.mask is not None else None
        x = flow.sdedit(velocity, y0, sigmas, strength=request.strength,
                        generator=edit_generator, callback=reporter.steps("edit", velocity))
        if mask is not None:
            x = mask * x + (1.0 - mask) * y0
        timings["edit"] = time.perf_counter() - t
        inv_nfe, hit = 0, False
    else:
        inv = _invert(engine, request, prepared, sigmas, reporter, timings)
        inv_nfe, hit = inv.nfe, inv.hit
        t = time.perf_counter()
        velocity = make_velocity(engine, request.prompt, request.guidance,
                                 prepared.height, prepared.width)
        timings["encode_prompt"] += time.perf_counter() - t
        reporter.phase("edit", "editing")
        t = time.perf_counter()
        mask = _latent_mask(engine, prepared, inv.y0) if prepared.mask is not None else None
        eta = 0.0 if method == "ode" else float(request.eta)
        x = flow.edit(
            velocity,
            inv.latent,
            inv.y0,
            sigmas,
            eta=eta,
            start=float(request.start),
            stop=float(request.stop),
            decay_power=request.decay_power,
            strength=float(request.strength),
            stochastic=method == "stochastic",
            generator=edit_generator,
            callback=reporter.steps("edit", velocity),
            mask=mask,
            trajectory=inv.trajectory if mask is not None else None,
        )
        timings["edit"] = time.perf_counter() - t

    reporter.phase("decode", "decoding")
    t = time.perf_counter()
    pixels = decode_latent(engine, x, prepared.height, prepared.width)
    h0, w0 = prepared.original.shape[:2]
    pixels = images.back_to_size(pixels, h0, w0)
    if prepared.mask is not None:
        pixels = _composite(prepared, pixels)
    timings["decode"] = time.perf_counter() - t
    nfe = inv_nfe + (n - k0)
    metadata = _metadata(engine, request, prepared, sigmas, nfe, hit)
    metadata["prompt_truncated"] = bool(getattr(velocity, "truncated", False))
    return EditResult(image=pixels, metadata=metadata, timings=timings, nfe=nfe, cache_hit=hit)


def _metadata(
    engine: Engine,
    request: EditRequest,
    prepared: Prepared,
    sigmas: torch.Tensor,
    nfe: int,
    hit: bool,
) -> dict[str, Any]:
    from .. import __version__

    h0, w0 = prepared.original.shape[:2]
    meta = request.params()
    meta["background"] = list(meta["background"])
    meta.update(
        {
            "software": f"rfedit {__version__}",
            "model": engine.name,
            "model_id": engine.model_id,
            "input_size": [w0, h0],
            "model_size": [prepared.width, prepared.height],
            "sigma_shift": engine.shift_grid,
            "sigma_first_steps": [round(float(s), 6) for s in sigmas[:3].tolist()],
            "start_index": flow.start_index(request.steps, request.strength),
            "nfe": nfe,
            "cache_hit": hit,
            "image_digest": prepared.digest,
        }
    )
    return meta


def run_invert(
    engine: Engine,
    request: EditRequest,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
) -> dict[str, Any]:
    """Fill the inversion cache for this request (no edit); says whether it was already there."""
    validate_request(request)
    if request.method == "sdedit":
        raise EditError("sdedit does not invert; choose rf-inversion, ode or stochastic.")
    timings = dict.fromkeys(("load_image", "encode_image", "encode_prompt", "invert"), 0.0)
    t = time.perf_counter()
    prepared = prepare(engine, request)
    timings["load_image"] = time.perf_counter() - t
    reporter = _Reporter(engine, progress, cancel, request.preview_every,
                         prepared.height, prepared.width)
    sigmas = _sigmas(engine, request.steps, prepared.height, prepared.width)
    inv = _invert(engine, request, prepared, sigmas, reporter, timings)
    return {
        "cache_hit": inv.hit,
        "nfe": inv.nfe,
        "key": inversion_key(engine, request, prepared),
        "model_size": [prepared.width, prepared.height],
        "seconds": timings,
    }


def run_generate(
    engine: Engine,
    prompt: str | EditRequest,
    width: int = 1024,
    height: int = 1024,
    steps: int = 28,
    guidance: float = 3.5,
    seed: int = 0,
    stochastic: bool = False,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    preview_every: int = 1,
) -> EditResult:
    """Plain text-to-image on the same grid and sampler (the η = 0 case of editing).

    `prompt` may also be an EditRequest (the GUI's job queue sends one): its prompt, steps,
    guidance, seed and preview rate are used, "stochastic" as method picks the SDE sampler, and
    the size is its image's, if it has one, within its pixel budget.
    """
    if isinstance(prompt, EditRequest):
        req = prompt
        prompt, steps, guidance, seed = req.prompt, req.steps, req.guidance, req.seed
        stochastic, preview_every = req.method == "stochastic", req.preview_every
        if req.image is not None:
            height, width = images.load_image(req.image).shape[:2]
        height, width = images.fit_size(height, width,
                                        _pixel_budget(engine, req.max_megapixels),
                                        multiple=engine.size_multiple)
    check = EditRequest(image=None, prompt=prompt, steps=steps, guidance=guidance, seed=seed,
                        preview_every=preview_every)
    validate_request(check)
    for name, v in (("width", width), ("height", height)):
        if isinstance(v, bool) or not isinstance(v, int) or not 16 <= v <= 8192:
            raise EditError(f"{name} must be a whole number from 16 to 8192, got {v!r}.")
    m = engine.size_multiple
    budget = engine.max_pixels or width * height
    h, w = images.fit_size(height, width, min(width * height, budget), multiple=m)
    timings = dict.fromkeys(("encode_prompt", "edit", "decode"), 0.0)
    reporter = _Reporter(engine, progress, cancel, preview_every, h, w)
    t = time.perf_counter()
    velocity = make_velocity(engine, prompt, guidance, h, w)
    timings["encode_prompt"] = time.perf_counter() - t
    sigmas = _sigmas(engine, steps, h, w)
    f = engine.vae_scale_factor
    shape = (1, engine.latent_channels, h // f, w // f)
    noise = flow.pack_latents(torch.randn(shape, generator=_seed_generator(seed, 0)))
    reporter.phase("generate", "generating")
    t = time.perf_counter()
    x = flow.sample(velocity, noise.to(engine.device), sigmas, stochastic=stochastic,
                    generator=_seed_generator(seed, 1), callback=reporter.steps("generate", velocity))
    timings["edit"] = time.perf_counter() - t
    reporter.phase("decode", "decoding")
    t = time.perf_counter()
    pixels = decode_latent(engine, x, h, w)
    timings["decode"] = time.perf_counter() - t
    meta = {
        "prompt": prompt, "steps": steps, "guidance": guidance, "seed": seed,
        "stochastic": stochastic, "method": "generate", "model": engine.name,
        "model_id": engine.model_id, "model_size": [w, h],
    }
    return EditResult(image=pixels, metadata=meta, timings=timings, nfe=steps, cache_hit=False)
