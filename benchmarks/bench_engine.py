"""Engine benchmark: what the inversion cache saves, and how faithful plain round trips are.

    python benchmarks/bench_engine.py [--model tiny] [--size 256] [--steps 28] [--device auto]
                                      [--method rf-inversion|rf-solver|fireflow|flowedit|...]

Table 1 runs the same edit twice through `run_edit` (the GUI's and the CLI's path): the first
pays VAE encode + inversion + editing, the repeat is a cache hit that pays only its editing
steps; a new prompt still hits, a new gamma (for the other methods: a new seed) misses. For
FlowEdit the cache holds the source-side velocities, so a re-edit pays only the target side.
Table 2 is the γ = η = 0 latent round trip
(Euler inversion, then Euler sampling with the same conditioning) on the model: its error
should roughly halve each time the step count doubles.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rfedit_desktop import flow  # noqa: E402
from rfedit_desktop.engine.cache import InversionCache  # noqa: E402
from rfedit_desktop.engine.latents import encode_image  # noqa: E402
from rfedit_desktop.engine.pipeline import run_edit  # noqa: E402
from rfedit_desktop.engine.request import EditRequest  # noqa: E402
from rfedit_desktop.engine.sampling import sigma_schedule  # noqa: E402
from rfedit_desktop.engine.session import load_engine  # noqa: E402
from rfedit_desktop.engine.velocity import make_velocity  # noqa: E402


def test_image(size: int) -> np.ndarray:
    """A smooth synthetic picture (gradients and a disc), so the VAE sees structure."""
    y, x = np.mgrid[0:size, 0:size] / max(size - 1, 1)
    disc = ((x - 0.6) ** 2 + (y - 0.4) ** 2 < 0.06).astype(np.float64)
    rgb = np.stack([0.2 + 0.6 * x, 0.3 + 0.5 * y, 0.8 - 0.5 * disc], axis=-1)
    return (np.clip(rgb, 0, 1) * 255).round().astype(np.uint8)


def cache_table(engine, image: np.ndarray, steps: int, repeats: int,
                method: str = "rf-inversion") -> list[tuple]:
    """Median over `repeats` rounds (each from an empty cache) of the four runs."""
    base = EditRequest(image=image, prompt="a watercolor painting", steps=steps, seed=0,
                       preview_every=0, method=method)
    if method in ("rf-inversion", "stochastic"):
        miss = ("new gamma (0.7)", EditRequest(**{**base.__dict__, "gamma": 0.7}))
    else:
        miss = ("new seed", EditRequest(**{**base.__dict__, "seed": 1}))
    runs = [
        ("first edit", base),
        ("same edit again", base),
        ("new prompt, same inversion", EditRequest(**{**base.__dict__, "prompt": "an oil sketch"})),
        miss,
    ]
    samples: dict[str, list[tuple]] = {label: [] for label, _ in runs}
    for _ in range(repeats):
        engine.cache.clear()
        for label, request in runs:
            t = time.perf_counter()
            result = run_edit(engine, request)
            wall = time.perf_counter() - t
            samples[label].append((wall, result.nfe, result.cache_hit,
                                   result.timings["invert"], result.timings["edit"]))
    rows = []
    for label, _ in runs:
        got = samples[label]
        med = [float(np.median([g[i] for g in got])) for i in (0, 3, 4)]
        rows.append((label, med[0], got[0][1], got[0][2], med[1], med[2]))
    return rows


def round_trip_table(engine, image: np.ndarray, step_counts: list[int]) -> list[tuple]:
    h, w = image.shape[:2]
    y0 = encode_image(engine, image)
    velocity = make_velocity(engine, "", engine.default_guidance, h, w)
    rows = []
    for n in step_counts:
        sigmas = sigma_schedule(engine, n, h, w)
        inv = flow.invert(velocity, y0, sigmas, gamma=0.0)
        back = flow.edit(velocity, inv.latent, y0, sigmas, eta=0.0)
        rmse = float(((back - y0) ** 2).mean().sqrt())
        rel = rmse / float((y0**2).mean().sqrt())
        rows.append((n, rmse, rel))
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="tiny")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--steps", type=int, default=28)
    p.add_argument("--device", default="auto")
    p.add_argument("--method", default="rf-inversion", help="the method of table 1")
    p.add_argument("--round-trip-steps", default="28,56,112")
    p.add_argument("--repeats", type=int, default=5, help="rounds; the table shows medians")
    p.add_argument("--threads", type=int, default=0,
                   help="torch CPU threads (0: torch's default); 1 is steadier on a busy machine")
    args = p.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    t = time.perf_counter()
    engine = load_engine(args.model, device=args.device,
                         cache=InversionCache(use_disk=False))
    load_s = time.perf_counter() - t
    image = test_image(args.size)
    # one throw-away edit of another picture, so the first row is not a cold start
    run_edit(engine, EditRequest(image=image[::-1].copy(), prompt="warm up", steps=2,
                                 preview_every=0))
    info = engine.info()
    print(f"model {info['model']} on {info['device']} ({info['dtype']}), loaded in {load_s:.2f} s;"
          f" image {args.size}x{args.size}, {args.steps} steps, {args.method}, median of "
          f"{args.repeats} rounds")
    print()
    print("| run | wall s | NFE | cache | invert s | edit s |")
    print("|---|---:|---:|---|---:|---:|")
    table = cache_table(engine, image, args.steps, args.repeats, args.method)
    for label, wall, nfe, hit, inv, ed in table:
        print(f"| {label} | {wall:.3f} | {nfe} | {'hit' if hit else 'miss'} | {inv:.3f} | {ed:.3f} |")
    print()
    print("γ = η = 0 latent round trip (invert, then sample back, same conditioning):")
    print()
    print("| N | RMSE | relative |")
    print("|---:|---:|---:|")
    counts = [int(s) for s in args.round_trip_steps.split(",")]
    for n, rmse, rel in round_trip_table(engine, image, counts):
        print(f"| {n} | {rmse:.5f} | {rel:.5f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
