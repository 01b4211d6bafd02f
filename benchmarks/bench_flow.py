"""Round-trip error of gamma = eta = 0 inversion + sampling on the exact Gaussian field.

Shows that evaluating the model at the state's own sigma converges at first order, while
labelling the model with a uniform t = i/(N+1) during inversion, but stepping on the shifted
grid (as one public implementation does), converges to a wrong answer (ALGORITHM.md §8.4).

    python benchmarks/bench_flow.py [--samples 100000] [--mean 2] [--std 0.5]
"""

from __future__ import annotations

import argparse
import time

import torch

from rfedit_desktop.flow import edit, flux_sigmas, gaussian_velocity, invert, step_sizes


def uniform_label_inversion(velocity, y0: torch.Tensor, sigmas: torch.Tensor) -> torch.Tensor:
    """The inconsistent scheme: step i uses the descending grid's Delta_i and label i/(N+1)."""
    deltas = step_sizes(sigmas)
    n = len(deltas)
    y = y0
    for i in range(n):
        y = y + deltas[i] * velocity(y, i / (n + 1))
    return y


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--mean", type=float, default=2.0)
    parser.add_argument("--std", type=float, default=0.5)
    parser.add_argument("--seq-len", type=int, default=4096, help="token count (4096: mu=1.15)")
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


if __name__ == "__main__":
    main()
