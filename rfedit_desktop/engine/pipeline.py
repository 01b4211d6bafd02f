"""`run_edit`: the one path from an EditRequest to an EditResult (CLI, GUI and benchmarks).

The sampling mathematics lives in `flow/`; this module is the short glue that runs the steps in
order: `validation`, `prepare` (pixels, sizes, masks), `latents` (VAE), `velocity` (the
transformer), `inversion` (cached), `methods` (what each method runs), `progress` (previews,
cancel).
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

import torch

from .. import flow
from ..errors import EditError
from . import images
from .edit_run import EditRun
from .inversion import inversion_key, invert_or_reuse
from .latents import decode_latent
from .methods import run_method
from .prepare import Prepared, finish, pixel_budget
from .progress import Reporter
from .request import INVERTING_METHODS, EditRequest, EditResult, ProgressFn
from .sampling import seed_generator, sigma_schedule
from .validation import validate_request, validate_side
from .velocity import make_velocity

if TYPE_CHECKING:
    from .session import Engine


# -- the one edit path --------------------------------------------------------------------------
def run_edit(
    engine: Engine,
    request: EditRequest,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
) -> EditResult:
    """Edit `request.image` as the request says; pixels come back at the input's size."""
    validate_request(request)
    loras = engine.loras.apply(engine.pipe, request.loras)
    run = EditRun.begin(engine, request, progress, cancel,
                        ("encode_image", "encode_prompt", "invert", "edit", "decode", "stitch"))
    prepared, sigmas, timings = run.prepared, run.sigmas, run.timings
    run.reporter.check()
    edited = run_method(run)
    x, nfe, hit = edited.latent, edited.nfe, edited.cache_hit

    run.reporter.phase("decode", "decoding")
    t = time.perf_counter()
    pixels = decode_latent(engine, x, prepared.height, prepared.width)
    # The model's own picture of the input: where the edit matches it, nothing was changed.
    reconstruction = (decode_latent(engine, edited.source, prepared.height, prepared.width)
                      if request.keep_detail else None)
    timings["decode"] = time.perf_counter() - t
    t = time.perf_counter()
    pixels = finish(prepared, pixels, reconstruction)
    timings["stitch"] = time.perf_counter() - t
    metadata = _metadata(engine, request, prepared, sigmas, nfe, hit)
    metadata["prompt_truncated"] = edited.prompt_truncated
    metadata["loras"] = [a.as_dict() for a in loras]
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
            "region": prepared.box.as_list(),
            "context": prepared.plan.context,
            "scale": round(prepared.plan.scale, 4),
            "keep_detail": bool(request.keep_detail),
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
    if request.method not in INVERTING_METHODS:
        raise EditError(
            f"{request.method} does not invert; choose one of {', '.join(INVERTING_METHODS)}."
        )
    engine.loras.apply(engine.pipe, request.loras)
    run = EditRun.begin(engine, request, progress, cancel,
                        ("encode_image", "encode_prompt", "invert"))
    prepared, timings = run.prepared, run.timings
    inv = invert_or_reuse(run)
    return {
        "cache_hit": inv.hit,
        "nfe": inv.nfe,
        "key": inversion_key(engine, request, prepared),
        "model_size": [prepared.width, prepared.height],
        "region": prepared.box.as_list(),
        "scale": round(prepared.plan.scale, 4),
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
    loras: tuple[tuple[str, float], ...] = (),
) -> EditResult:
    """Plain text-to-image on the same grid and sampler (the η = 0 case of editing).

    `prompt` may also be an EditRequest (the GUI's job queue sends one): its prompt, steps,
    guidance, seed and preview rate are used, "stochastic" as method picks the SDE sampler, and
    the size is its image's, if it has one, within its pixel budget. `loras` as in EditRequest.
    """
    if isinstance(prompt, EditRequest):
        req = prompt
        prompt, steps, guidance, seed = req.prompt, req.steps, req.guidance, req.seed
        stochastic, preview_every = req.method == "stochastic", req.preview_every
        loras = req.loras
        if req.image is not None:
            height, width = images.load_image(req.image).shape[:2]
        height, width = images.fit_size(height, width,
                                        pixel_budget(engine, req.max_megapixels),
                                        multiple=engine.size_multiple)
    check = EditRequest(image=None, prompt=prompt, steps=steps, guidance=guidance, seed=seed,
                        preview_every=preview_every, loras=loras)
    validate_request(check)
    active = engine.loras.apply(engine.pipe, loras)
    validate_side("width", width)
    validate_side("height", height)
    m = engine.size_multiple
    budget = engine.max_pixels or width * height
    h, w = images.fit_size(height, width, min(width * height, budget), multiple=m)
    timings = dict.fromkeys(("encode_prompt", "edit", "decode"), 0.0)
    reporter = Reporter(engine, progress, cancel, preview_every, h, w)
    t = time.perf_counter()
    velocity = make_velocity(engine, prompt, guidance, h, w)
    timings["encode_prompt"] = time.perf_counter() - t
    sigmas = sigma_schedule(engine, steps, h, w)
    f = engine.vae_scale_factor
    shape = (1, engine.latent_channels, h // f, w // f)
    noise = flow.pack_latents(torch.randn(shape, generator=seed_generator(seed, 0)))
    reporter.phase("generate", "generating")
    t = time.perf_counter()
    x = flow.sample(velocity, noise.to(engine.device), sigmas, stochastic=stochastic,
                    generator=seed_generator(seed, 1), callback=reporter.steps("generate", velocity))
    timings["edit"] = time.perf_counter() - t
    reporter.phase("decode", "decoding")
    t = time.perf_counter()
    pixels = decode_latent(engine, x, h, w)
    timings["decode"] = time.perf_counter() - t
    meta = {
        "prompt": prompt, "steps": steps, "guidance": guidance, "seed": seed,
        "stochastic": stochastic, "method": "generate", "model": engine.name,
        "model_id": engine.model_id, "model_size": [w, h],
        "loras": [a.as_dict() for a in active],
    }
    return EditResult(image=pixels, metadata=meta, timings=timings, nfe=steps, cache_hit=False)
