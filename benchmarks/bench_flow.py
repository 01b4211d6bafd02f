"""Round-trip error on the exact Gaussian field: RF-Inversion's grid, then every invertible method.

Part 1 shows that evaluating the model at the state's own sigma converges at first order, while
labelling the model with a uniform t = i/(N+1) during inversion, but stepping on the shifted
grid (as one public implementation does), converges to a wrong answer (ALGORITHM.md §8.4).
Part 2 measures the round trip (invert, then sample, same grid) of every method that inverts:
RF-Inversion's gamma = eta = 0 Euler scheme, RF-Solver and FireFlow, against N and against the
model evaluations it costs, and draws both on log-log axes (docs/flow-methods.md).

    python benchmarks/bench_flow.py [--samples 100000] [--mean 2] [--std 0.5] [--plot PNG]
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import torch

from rfedit_desktop.flow import (
    CountedVelocity,
    edit,
    fireflow_invert,
    fireflow_sample,
    flux_sigmas,
    gaussian_velocity,
    invert,
    rf_solver_invert,
    rf_solver_sample,
    step_sizes,
)

STEPS = (7, 14, 28, 56, 112, 224)
COLOURS = {"rf-inversion": (200, 40, 40), "rf-solver": (40, 90, 200), "fireflow": (230, 140, 20)}


def uniform_label_inversion(velocity, y0: torch.Tensor, sigmas: torch.Tensor) -> torch.Tensor:
    """The inconsistent scheme: step i uses the descending grid's Delta_i and label i/(N+1)."""
    deltas = step_sizes(sigmas)
    n = len(deltas)
    y = y0
    for i in range(n):
        y = y + deltas[i] * velocity(y, i / (n + 1))
    return y


def round_trip(method: str, velocity, y0: torch.Tensor, grid: torch.Tensor) -> tuple[float, int]:
    """RMSE of y0 after inverting and sampling back on `grid`, and the evaluations counted."""
    counted = CountedVelocity(velocity)
    if method == "rf-inversion":
        res = invert(counted, y0, grid, gamma=0.0, y1=torch.zeros_like(y0))
        out = edit(counted, res.latent, y0, grid, eta=0.0)
    else:
        inv, smp = {"rf-solver": (rf_solver_invert, rf_solver_sample),
                    "fireflow": (fireflow_invert, fireflow_sample)}[method]
        out, _ = smp(counted, inv(counted, y0, grid).latent, grid)
    return (out - y0).pow(2).mean().sqrt().item(), counted.calls


def loglog_plot(series: dict[str, list[tuple[float, float]]], path: Path, xlabel: str,
                size: tuple[int, int] = (640, 440)) -> None:
    """RMSE against `xlabel` on log-log axes, one line per method, drawn with Pillow."""
    from PIL import Image, ImageDraw

    w, h = size
    left, right, top, bottom = 70, 130, 30, 50
    img = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(img)
    xs = [x for pts in series.values() for x, _ in pts]
    ys = [y for pts in series.values() for _, y in pts]
    lx0, lx1 = math.floor(math.log10(min(xs))), math.ceil(math.log10(max(xs)))
    ly0, ly1 = math.floor(math.log10(min(ys))), math.ceil(math.log10(max(ys)))

    def xy(x: float, y: float) -> tuple[float, float]:
        fx = (math.log10(x) - lx0) / (lx1 - lx0)
        fy = (math.log10(y) - ly0) / (ly1 - ly0)
        return left + fx * (w - left - right), h - bottom - fy * (h - top - bottom)

    d.rectangle((left, top, w - right, h - bottom), outline="black")
    for e in range(lx0, lx1 + 1):
        px, _ = xy(10.0**e, 10.0**ly0)
        d.line((px, h - bottom, px, h - bottom + 4), fill="black")
        d.text((px - 10, h - bottom + 6), f"1e{e}", fill="black")
    for e in range(ly0, ly1 + 1):
        _, py = xy(10.0**lx0, 10.0**e)
        d.line((left - 4, py, left, py), fill="black")
        d.line((left, py, w - right, py), fill=(225, 225, 225))
        d.text((20, py - 6), f"1e{e}", fill="black")
    d.text((left + 140, h - 18), xlabel, fill="black")
    d.text((8, 8), "round-trip RMSE on the Gaussian field (log-log)", fill="black")
    for i, (method, pts) in enumerate(series.items()):
        colour = COLOURS[method]
        p = [xy(x, y) for x, y in pts]
        d.line(p, fill=colour, width=2)
        for px, py in p:
            d.ellipse((px - 3, py - 3, px + 3, py + 3), fill=colour)
        ly = top + 10 + 20 * i
        d.line((w - right + 10, ly + 6, w - right + 30, ly + 6), fill=colour, width=3)
        d.text((w - right + 36, ly), method, fill=colour)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--mean", type=float, default=2.0)
    parser.add_argument("--std", type=float, default=0.5)
    parser.add_argument("--seq-len", type=int, default=4096, help="token count (4096: mu=1.15)")
    parser.add_argument("--plot", type=Path, default=Path("docs/flow-roundtrip.png"),
                        help="where the log-log plots go (-nfe is added for the NFE plot)")
    args = parser.parse_args(argv)

    v = gaussian_velocity(args.mean, args.std)
    g = torch.Generator().manual_seed(0)
    y0 = args.mean + args.std * torch.randn(args.samples, generator=g, dtype=torch.float64)
    print(f"Gaussian data N({args.mean}, {args.std}^2), {args.samples} samples, "
          f"token count {args.seq_len}; RMSE of y0 after invert + sample (gamma = eta = 0)")
    print(f"{'N':>5} {'grid-consistent':>16} {'ratio':>6} {'uniform-label':>14} {'seconds':>8}")
    previous = None
    for n in (28, 56, 112, 224):
        t0 = time.perf_counter()
        grid = flux_sigmas(n, args.seq_len)
        res = invert(v, y0, grid, gamma=0.0, y1=torch.zeros_like(y0))
        ours = (edit(v, res.latent, y0, grid, eta=0.0) - y0).pow(2).mean().sqrt().item()
        bad_latent = uniform_label_inversion(v, y0, grid)
        bad = (edit(v, bad_latent, y0, grid, eta=0.0) - y0).pow(2).mean().sqrt().item()
        ratio = f"{previous / ours:6.2f}" if previous else f"{'':>6}"
        print(f"{n:>5} {ours:>16.4f} {ratio} {bad:>14.4f} {time.perf_counter() - t0:>8.2f}")
        previous = ours

    print()
    print("Every invertible method: round-trip RMSE against N and against NFE (same grid)")
    print(f"| {'method':12} | {'N':>4} | {'NFE':>4} | {'RMSE':>10} | {'ratio':>6} |")
    print(f"|{'-' * 14}|{'-' * 6}|{'-' * 6}|{'-' * 12}|{'-' * 8}|")
    by_n: dict[str, list[tuple[float, float]]] = {}
    by_nfe: dict[str, list[tuple[float, float]]] = {}
    for method in COLOURS:
        previous = None
        for n in STEPS:
            err, nfe = round_trip(method, v, y0, flux_sigmas(n, args.seq_len))
            ratio = f"{previous / err:6.2f}" if previous else f"{'':>6}"
            print(f"| {method:12} | {n:>4} | {nfe:>4} | {err:>10.3e} | {ratio} |")
            by_n.setdefault(method, []).append((n, err))
            by_nfe.setdefault(method, []).append((nfe, err))
            previous = err
    print()
    print("At equal NFE (56 model evaluations per round trip):")
    for method, n in (("rf-inversion", 28), ("rf-solver", 14), ("fireflow", 27)):
        err, nfe = round_trip(method, v, y0, flux_sigmas(n, args.seq_len))
        print(f"  {method:12} N = {n:>3}, NFE {nfe}: RMSE {err:.3e}")
    nfe_plot = args.plot.with_name(args.plot.stem + "-nfe" + args.plot.suffix)
    loglog_plot(by_n, args.plot, "steps N")
    loglog_plot(by_nfe, nfe_plot, "model evaluations (NFE) per round trip")
    print(f"wrote {args.plot} and {nfe_plot}")


if __name__ == "__main__":
    main()
