"""The source image inverted to noise once, cached, and reused by every edit that can share it.

Cache policy: an inversion is keyed by the preprocessed pixels, the model, the size, steps,
the effective gamma (0 for the methods without one), strength, seed, source prompt, source
guidance and the active LoRAs (content digest and weight), and for RF-Solver and FireFlow by the solver (RF-Inversion, ODE and stochastic share
the Euler inversion). FlowEdit does not invert; its entry holds the source-side velocities, keyed
also by n_max, n_min and n_avg, so that a re-edit evaluates only the target side. The
per-step trajectory, which only masked edits need, is stored only when a masked request
computes the inversion: an entry without it serves unmasked edits, and a masked edit
that finds such an entry recomputes and replaces it (with the trajectory) once. An entry whose
tensors do not fit the request (shape, trajectory length, non-finite values) is dropped and
recomputed.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from .. import flow
from .cache import CachedInversion
from .prepare import Prepared
from .presets import flowedit_counts
from .request import INVERTING_METHODS, EditRequest
from .sampling import seed_generator

if TYPE_CHECKING:
    from .edit_run import EditRun
    from .session import Engine

log = logging.getLogger(__name__)


SOLVER_INVERSIONS = {"rf-solver": flow.rf_solver_invert, "fireflow": flow.fireflow_invert}


def effective_gamma(request: EditRequest) -> float:
    """The inversion's gamma: only RF-Inversion and the stochastic sampler pull towards noise."""
    return float(request.gamma) if request.method in ("rf-inversion", "stochastic") else 0.0


def inversion_key(engine: Engine, request: EditRequest, prepared: Prepared) -> str:
    """The cache key: everything that changes the inverted latent, and nothing else."""
    parts: dict[str, Any] = {}
    if request.method in SOLVER_INVERSIONS:
        parts["inverter"] = request.method
    elif request.method == "flowedit":
        n_max, n_min, n_avg = flowedit_counts(request)
        parts.update(inverter="flowedit-source", n_max=n_max, n_min=n_min, n_avg=n_avg)
    return engine.cache.make_key(
        **parts,
        image=prepared.digest,
        model=engine.model_id,
        dtype=str(engine.dtype),
        weights=engine.quantization,
        device=engine.device.type,
        height=prepared.height,
        width=prepared.width,
        steps=int(request.steps),
        gamma=effective_gamma(request),
        strength=float(request.strength),
        seed=int(request.seed),
        source_prompt=request.source_prompt,
        source_guidance=float(request.source_guidance),
        loras=engine.loras.cache_key(request.loras),
    )


def cached_inversion(
    engine: Engine, request: EditRequest, prepared: Prepared, peek: bool = False
) -> Any:
    """The usable cache entry for this request, or None (sdedit never uses one; FlowEdit's
    holds its source-side velocities)."""
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
    problem = entry_problem(engine, request, prepared, entry)
    if problem:
        log.warning("dropping inversion cache entry %s: %s", key, problem)
        engine.cache.discard(key)
        return None
    inverted = request.method in INVERTING_METHODS
    if inverted and prepared.mask is not None and entry.trajectory is None:
        return None
    return entry


def latent_shape(engine: Engine, prepared: Prepared) -> tuple[int, int, int]:
    """The packed latent `encode_image` makes of the prepared pixels: (1, tokens, 4C)."""
    f = engine.vae_scale_factor
    tokens = (prepared.height // f // 2) * (prepared.width // f // 2)
    return (1, tokens, 4 * engine.latent_channels)


def entry_problem(
    engine: Engine, request: EditRequest, prepared: Prepared, entry: CachedInversion
) -> str:
    """Why `entry` cannot serve `request` ("" if it can): a file with a valid checksum may
    still have been written for another size or grid, or hold NaNs."""
    want = latent_shape(engine, prepared)
    named = entry.tensors()
    for name, t in named.items():
        if tuple(t.shape) != want:
            return f"{name} has shape {tuple(t.shape)}, the request needs {want}"
    if entry.trajectory is not None:
        points = request.steps - flow.start_index(request.steps, request.strength) + 1
        if len(entry.trajectory) != points:
            return f"trajectory has {len(entry.trajectory)} points, the request needs {points}"
    for name, t in named.items():
        if not t.is_floating_point() or not bool(torch.isfinite(t).all()):
            return f"{name} is not finite floating point"
    return ""


@dataclass
class Inverted:
    y0: torch.Tensor
    latent: torch.Tensor
    trajectory: list[torch.Tensor] | None
    nfe: int
    hit: bool


def invert_or_reuse(run: EditRun) -> Inverted:
    """The cached inversion if one fits, else encode, invert and cache it; fills the run's
    timings."""
    engine, request, prepared, timings = run.engine, run.request, run.prepared, run.timings
    entry = cached_inversion(engine, request, prepared)
    if entry is not None:
        timings["encode_image"] = 0.0
        timings["invert"] = 0.0
        dev = engine.device
        traj = [t.to(dev) for t in entry.trajectory] if entry.trajectory is not None else None
        return Inverted(entry.y0.to(dev), entry.latent.to(dev), traj, 0, True)
    y0 = run.encode()
    velocity = run.velocity(request.source_prompt, request.source_guidance)
    run.reporter.phase("invert", "inverting")
    t = time.perf_counter()
    keep = prepared.mask is not None
    solver = SOLVER_INVERSIONS.get(request.method)
    if solver is not None:
        result = solver(velocity, y0, run.sigmas, strength=request.strength,
                        keep_trajectory=keep, callback=run.reporter.steps("invert"))
    else:
        result = flow.invert(
            velocity,
            y0,
            run.sigmas,
            gamma=effective_gamma(request),
            generator=seed_generator(request.seed, 0),
            strength=request.strength,
            keep_trajectory=keep,
            callback=run.reporter.steps("invert"),
        )
    timings["invert"] = time.perf_counter() - t
    engine.cache.put(
        inversion_key(engine, request, prepared),
        CachedInversion(
            y0=result.y0,
            y1=result.y1 if result.y1 is not None else torch.zeros_like(result.y0),
            latent=result.latent,
            trajectory=result.trajectory,
            meta={"steps": request.steps, "gamma": effective_gamma(request),
                  "strength": request.strength, "seed": request.seed,
                  "height": prepared.height, "width": prepared.width, "model": engine.model_id},
        ),
    )
    return Inverted(result.y0, result.latent, result.trajectory, result.nfe, False)
