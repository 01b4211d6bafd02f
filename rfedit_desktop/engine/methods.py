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
from .latents import latent_mask
from .presets import flowedit_counts
from .sampling import seed_generator

if TYPE_CHECKING:
    from .edit_run import EditRun

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


def run_method(run: EditRun) -> Edited:
    """Run the request's method on the prepared image; fills the run's timings."""
    if run.request.method == "sdedit":
        return _sdedit(run)
    if run.request.method == "flowedit":
        return _flowedit(run)
    return _invert_and_sample(run)


def _target_velocity(run: EditRun) -> flow.CountedVelocity:
    return flow.CountedVelocity(run.velocity(run.request.prompt, run.request.guidance))


def _keep_outside_mask(run: EditRun, x: torch.Tensor, y0: torch.Tensor) -> torch.Tensor:
    """Outside the edit mask the source latent stays (the methods without a trajectory)."""
    if run.prepared.mask is None:
        return x
    mask = latent_mask(run.engine, run.prepared, y0)
    return mask * x + (1.0 - mask) * y0


def _sdedit(run: EditRun) -> Edited:
    request = run.request
    y0 = run.encode()
    velocity = _target_velocity(run)
    run.reporter.phase("edit", "editing")
    t = time.perf_counter()
    x = flow.sdedit(velocity, y0, run.sigmas, strength=request.strength,
                    generator=seed_generator(request.seed, 1),
                    callback=run.reporter.steps("edit", velocity))
    x = _keep_outside_mask(run, x, y0)
    run.timings["edit"] = time.perf_counter() - t
    return Edited(x, velocity.calls, False, bool(velocity.truncated), y0)


def _invert_and_sample(run: EditRun) -> Edited:
    request, prepared = run.request, run.prepared
    inv = invert_or_reuse(run)
    velocity = _target_velocity(run)
    run.reporter.phase("edit", "editing")
    t = time.perf_counter()
    mask = latent_mask(run.engine, prepared, inv.y0) if prepared.mask is not None else None
    trajectory = inv.trajectory if mask is not None else None
    callback = run.reporter.steps("edit", velocity)
    sampler = SOLVER_SAMPLERS.get(request.method)
    if sampler is not None:
        x, _ = sampler(velocity, inv.latent, run.sigmas, strength=float(request.strength),
                       callback=callback, mask=mask, trajectory=trajectory)
    else:
        x = flow.edit(
            velocity,
            inv.latent,
            inv.y0,
            run.sigmas,
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
    run.timings["edit"] = time.perf_counter() - t
    return Edited(x, inv.nfe + velocity.calls, inv.hit, bool(velocity.truncated), inv.y0)


def _flowedit(run: EditRun) -> Edited:
    """FlowEdit; its source-side velocities are cached, so a re-edit evaluates only the target."""
    engine, request, prepared = run.engine, run.request, run.prepared
    n_max, n_min, n_avg = flowedit_counts(request)
    entry = cached_inversion(engine, request, prepared)
    if entry is not None:
        y0, cached = entry.y0.to(engine.device), entry.source_velocities
    else:
        y0, cached = run.encode(), None
    source = flow.CountedVelocity(run.velocity(request.source_prompt, request.source_guidance))
    target = _target_velocity(run)
    run.reporter.phase("edit", "editing")
    t = time.perf_counter()
    result = flow.flowedit(
        source, target, y0, run.sigmas, n_max=n_max, n_min=n_min, n_avg=n_avg,
        generator=seed_generator(request.seed, 1), callback=run.reporter.steps("edit", target),
        source_velocities=cached,
    )
    x = _keep_outside_mask(run, result.latent, y0)
    run.timings["edit"] = time.perf_counter() - t
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
