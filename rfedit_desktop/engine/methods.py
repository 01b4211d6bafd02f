"""Every edit method, latent in and latent out: what `run_edit` runs between encode and decode.

RF-Inversion, its stochastic sampler and plain ODE inversion share the Euler inversion and
`flow.edit`; RF-Solver and FireFlow invert and sample with their own second-order steps; SDEdit
noises the source and samples; FlowEdit integrates the target-minus-source velocity without
inverting. Every method's NFE is the model evaluations counted while it ran (a cache hit counts
none), so the number the artist sees is what the run cost.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from .. import flow
from .cache import CachedInversion
from .inversion import cached_inversion, inversion_key, invert_or_reuse
from .latents import encode_image, latent_mask
from .prepare import Prepared
from .presets import flowedit_counts
from .progress import Reporter
from .request import EditRequest
from .sampling import seed_generator
from .velocity import make_velocity

if TYPE_CHECKING:
    from .session import Engine

SOLVER_SAMPLERS = {"rf-solver": flow.rf_solver_sample, "fireflow": flow.fireflow_sample}


@dataclass
class Edited:
    """The edited latent (before decoding), what it cost and whether the cache served it."""

    latent: torch.Tensor
    nfe: int
    cache_hit: bool
    prompt_truncated: bool
    source: torch.Tensor
    """The source image's latent: decoded, it is the model's own picture of the input."""


def run_method(
    engine: Engine,
    request: EditRequest,
    prepared: Prepared,
    sigmas: torch.Tensor,
    reporter: Reporter,
    timings: dict[str, float],
) -> Edited:
    """Run `request.method` on the prepared image; fills `timings`."""
    if request.method == "sdedit":
        return _sdedit(engine, request, prepared, sigmas, reporter, timings)
    if request.method == "flowedit":
        return _flowedit(engine, request, prepared, sigmas, reporter, timings)
    return _invert_and_sample(engine, request, prepared, sigmas, reporter, timings)


def _target_velocity(
    engine: Engine, request: EditRequest, prepared: Prepared, timings: dict[str, float]
) -> flow.CountedVelocity:
    t = time.perf_counter()
    velocity = make_velocity(engine, request.prompt, request.guidance,
                             prepared.height, prepared.width)
    timings["encode_prompt"] += time.perf_counter() - t
    return flow.CountedVelocity(velocity)


def _encode(engine: Engine, prepared: Prepared, reporter: Reporter,
            timings: dict[str, float]) -> torch.Tensor:
    reporter.phase("encode", "encoding the image")
    t = time.perf_counter()
    y0 = encode_image(engine, prepared.model_rgb)
    timings["encode_image"] = time.perf_counter() - t
    return y0


def _sdedit(
    engine: Engine,
    request: EditRequest,
    prepared: Prepared,
    sigmas: torch.Tensor,
    reporter: Reporter,
    timings: dict[str, float],
) -> Edited:
    y0 = _encode(engine, prepared, reporter, timings)
    velocity = _target_velocity(engine, request, prepared, timings)
    reporter.phase("edit", "editing")
    t = time.perf_counter()
    x = flow.sdedit(velocity, y0, sigmas, strength=request.strength,
                    generator=seed_generator(request.seed, 1),
                    callback=reporter.steps("edit", velocity))
    if prepared.mask is not None:
        mask = latent_mask(engine, prepared, y0)
        x = mask * x + (1.0 - mask) * y0
    timings["edit"] = time.perf_counter() - t
    return Edited(x, velocity.calls, False, bool(velocity.truncated), y0)


def _invert_and_sample(
    engine: Engine,
    request: EditRequest,
    prepared: Prepared,
    sigmas: torch.Tensor,
    reporter: Reporter,
    timings: dict[str, float],
) -> Edited:
    inv = invert_or_reuse(engine, request, prepared, sigmas, reporter, timings)
    velocity = _target_velocity(engine, request, prepared, timings)
    reporter.phase("edit", "editing")
    t = time.perf_counter()
    mask = latent_mask(engine, prepared, inv.y0) if prepared.mask is not None else None
    trajectory = inv.trajectory if mask is not None else None
    callback = reporter.steps("edit", velocity)
    sampler = SOLVER_SAMPLERS.get(request.method)
    if sampler is not None:
        x, _ = sampler(velocity, inv.latent, sigmas, strength=float(request.strength),
                       callback=callback, mask=mask, trajectory=trajectory)
    else:
        x = flow.edit(
            velocity,
            inv.latent,
            inv.y0,
            sigmas,
            eta=0.0 if request.method == "ode" else float(request.eta),
            start=float(request.start),
            stop=float(request.stop),
            decay_power=request.decay_power,
            strength=float(request.strength),
            stochastic=request.method == "stochastic",
            generator=seed_generator(request.seed, 1),
            callback=callback,
            mask=mask,
            trajectory=trajectory,
        )
    timings["edit"] = time.perf_counter() - t
    return Edited(x, inv.nfe + velocity.calls, inv.hit, bool(velocity.truncated), inv.y0)


def _flowedit(
    engine: Engine,
    request: EditRequest,
    prepared: Prepared,
    sigmas: torch.Tensor,
    reporter: Reporter,
    timings: dict[str, float],
) -> Edited:
    """FlowEdit; its source-side velocities are cached, so a re-edit evaluates only the target."""
    n_max, n_min, n_avg = flowedit_counts(request)
    entry = cached_inversion(engine, request, prepared)
    if entry is not None:
        y0, cached = entry.y0.to(engine.device), entry.source_velocities
    else:
        y0, cached = _encode(engine, prepared, reporter, timings), None
    t = time.perf_counter()
    source = flow.CountedVelocity(make_velocity(
        engine, request.source_prompt, request.source_guidance, prepared.height, prepared.width))
    timings["encode_prompt"] += time.perf_counter() - t
    target = _target_velocity(engine, request, prepared, timings)
    reporter.phase("edit", "editing")
    t = time.perf_counter()
    result = flow.flowedit(
        source, target, y0, sigmas, n_max=n_max, n_min=n_min, n_avg=n_avg,
        generator=seed_generator(request.seed, 1), callback=reporter.steps("edit", target),
        source_velocities=cached,
    )
    x = result.latent
    if prepared.mask is not None:
        mask = latent_mask(engine, prepared, y0)
        x = mask * x + (1.0 - mask) * y0
    timings["edit"] = time.perf_counter() - t
    if entry is None and result.source_velocities:
        engine.cache.put(
            inversion_key(engine, request, prepared),
            CachedInversion(y0=y0, y1=torch.zeros_like(y0), latent=y0,
                            source_velocities=result.source_velocities,
                            meta={"method": "flowedit", "steps": request.steps,
                                  "n_max": n_max, "n_min": n_min, "n_avg": n_avg,
                                  "seed": request.seed, "model": engine.model_id}),
        )
    return Edited(x, source.calls + target.calls, entry is not None, bool(target.truncated),
                  y0)
