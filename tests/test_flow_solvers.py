"""RF-Solver, FireFlow and FlowEdit on analytic fields and random networks (docs/flow-methods.md)."""

from __future__ import annotations

import pytest
import torch

from rfedit_desktop.errors import Cancelled
from rfedit_desktop.flow import (
    CountedVelocity,
    edit,
    fireflow_invert,
    fireflow_sample,
    flowedit,
    flux_sigmas,
    gaussian_velocity,
    invert,
    rf_solver_invert,
    rf_solver_sample,
)

MEAN, STD = 2.0, 0.5
SOLVERS = {
    "rf-solver": (rf_solver_invert, rf_solver_sample),
    "fireflow": (fireflow_invert, fireflow_sample),
}


SHAPE = (2, 12, 8)


def mlp_velocity(seed: int, dim: int = SHAPE[-1]):
    """A random network u(x, sigma) that records the sigmas it is called at."""
    torch.manual_seed(seed)
    net = torch.nn.Sequential(
        torch.nn.Linear(dim + 1, 32), torch.nn.Tanh(), torch.nn.Linear(32, dim)
    ).double()
    calls: list[float] = []

    @torch.no_grad()
    def velocity(x: torch.Tensor, sigma: float) -> torch.Tensor:
        calls.append(sigma)
        s = torch.full((*x.shape[:-1], 1), sigma, dtype=torch.float64)
        return (3.0 * net(torch.cat([x.double(), s], dim=-1))).to(x.dtype)

    velocity.calls = calls
    return velocity


def latents(seed: int) -> torch.Tensor:
    return torch.randn(SHAPE, generator=torch.Generator().manual_seed(seed))


def data(n: int = 20_000) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return MEAN + STD * torch.randn(n, generator=g, dtype=torch.float64)


def round_trip(method: str, steps: int) -> tuple[float, int]:
    """RMSE of y0 after inversion + sampling on the Gaussian field, and the NFE it cost."""
    v, y0 = gaussian_velocity(MEAN, STD), data()
    grid = flux_sigmas(steps, 4096)
    if method == "rf-inversion":
        counted = CountedVelocity(v)
        res = invert(counted, y0, grid, gamma=0.0, y1=torch.zeros_like(y0))
        out = edit(counted, res.latent, y0, grid, eta=0.0)
        nfe = counted.calls
    else:
        inv, smp = SOLVERS[method]
        res = inv(v, y0, grid)
        out, edit_nfe = smp(v, res.latent, grid)
        nfe = res.nfe + edit_nfe
    return (out - y0).pow(2).mean().sqrt().item(), nfe


def wavy_velocity(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """A smooth non-linear field, where no error term vanishes by accident."""
    return torch.sin(3.0 * x) + 0.5 * (1.0 + sigma) * x - sigma


@pytest.mark.parametrize("method", list(SOLVERS))
def test_round_trip_error_falls_eightfold_per_doubling(method):
    # A second-order step and its reverse on the same grid cancel their leading local error
    # (C h^3 and -C h^3), so the round trip is third order: 8x per doubling of N.
    errors = {n: round_trip(method, n)[0] for n in (28, 56, 112, 224)}
    assert errors[28] / errors[56] > 4.0, errors
    assert 6.0 < errors[56] / errors[112] < 9.0, errors
    assert 7.0 < errors[112] / errors[224] < 9.0, errors


@pytest.mark.parametrize("method", list(SOLVERS))
def test_one_way_error_is_second_order(method):
    inv, _ = SOLVERS[method]
    y0 = torch.linspace(-2.0, 2.0, 101, dtype=torch.float64)
    reference = rf_solver_invert(wavy_velocity, y0, flux_sigmas(4000, 4096)).latent
    errors = {}
    for n in (56, 112, 224):
        latent = inv(wavy_velocity, y0, flux_sigmas(n, 4096)).latent
        errors[n] = (latent - reference).pow(2).mean().sqrt().item()
    assert 3.2 < errors[56] / errors[112] < 4.5, errors
    assert 3.5 < errors[112] / errors[224] < 4.5, errors
    # RF-Inversion's Euler step is first order on the same field
    euler = {n: invert(wavy_velocity, y0, flux_sigmas(n, 4096), gamma=0.0).latent
             for n in (112, 224)}
    e = {n: (x - reference).pow(2).mean().sqrt().item() for n, x in euler.items()}
    assert 1.7 < e[112] / e[224] < 2.3, e


def test_solvers_beat_rf_inversion_at_equal_nfe():
    plain, plain_nfe = round_trip("rf-inversion", 28)
    solver, solver_nfe = round_trip("rf-solver", 14)
    fire, fire_nfe = round_trip("fireflow", 27)
    assert plain_nfe == solver_nfe == fire_nfe == 56
    assert solver < plain / 50 and fire < plain / 50, (plain, solver, fire)


@pytest.mark.parametrize("strength", [1.0, 0.5])
def test_nfe_is_counted(strength):
    grid, y0 = flux_sigmas(10, 4096), latents(0)
    k = 10 if strength == 1.0 else 5
    for method, per_step, extra in (("rf-solver", 2, 0), ("fireflow", 1, 1)):
        inv, smp = SOLVERS[method]
        v = mlp_velocity(0)
        res = inv(v, y0, grid, strength=strength, keep_trajectory=True)
        assert res.nfe == len(v.calls) == per_step * k + extra
        assert res.start_index == 10 - k and len(res.trajectory) == k + 1
        assert res.y1 is None and res.trajectory[0] is res.y0 and res.trajectory[-1] is res.latent
        _, nfe = smp(v, res.latent, grid, strength=strength)
        assert nfe == per_step * k + extra


def test_steps_evaluate_at_the_grid_points_and_their_midpoints():
    grid = flux_sigmas(4, 4096)
    s = [float(x) for x in grid]
    v = mlp_velocity(0)
    rf_solver_sample(v, latents(0), grid)
    pairs = list(zip(s[:-1], s[1:], strict=True))
    expected = [p for a, b in pairs for p in (a, a + (b - a) / 2)]
    assert v.calls == pytest.approx(expected)
    v = mlp_velocity(0)
    fireflow_invert(v, latents(0), grid)
    up = s[::-1]
    midpoints = [a + (b - a) / 2 for a, b in zip(up[:-1], up[1:], strict=True)]
    assert v.calls == pytest.approx([0.0] + midpoints)


@pytest.mark.parametrize("method", list(SOLVERS))
def test_masked_sampling_keeps_unmasked_region_on_trajectory(method):
    grid, y0 = flux_sigmas(8, 4096), latents(0)
    inv, smp = SOLVERS[method]
    res = inv(mlp_velocity(0), y0, grid, keep_trajectory=True)
    mask = torch.zeros(y0.shape[:-1] + (1,))
    mask[:, :6] = 1.0
    out, _ = smp(mlp_velocity(1), res.latent, grid, mask=mask, trajectory=res.trajectory)
    assert torch.equal(out[:, 6:], y0[:, 6:])
    assert (out[:, :6] - y0[:, :6]).abs().max() > 1e-2
    with pytest.raises(ValueError, match="trajectory"):
        smp(mlp_velocity(1), res.latent, grid, mask=mask)


@pytest.mark.parametrize("method", list(SOLVERS))
def test_solvers_are_deterministic_and_cancel(method):
    grid, y0 = flux_sigmas(6, 4096), latents(0)
    inv, smp = SOLVERS[method]
    a = smp(mlp_velocity(1), inv(mlp_velocity(0), y0, grid).latent, grid)[0]
    b = smp(mlp_velocity(1), inv(mlp_velocity(0), y0, grid).latent, grid)[0]
    assert torch.equal(a, b)
    with pytest.raises(Cancelled, match="step 2 of 6"):
        inv(mlp_velocity(0), y0, grid, callback=lambda step, total, x: step == 2)


# -- FlowEdit --------------------------------------------------------------------------------
def run_flowedit(src, tgt, x, grid, seed=0, **kwargs):
    kwargs.setdefault("n_max", 8)
    return flowedit(src, tgt, x, grid, generator=torch.Generator().manual_seed(seed), **kwargs)


@pytest.mark.parametrize("n_avg", [1, 3])
def test_flowedit_with_identical_conditioning_returns_the_input_exactly(n_avg):
    grid, x = flux_sigmas(10, 4096), latents(0)
    v = mlp_velocity(0)
    res = run_flowedit(v, v, x, grid, n_max=10, n_avg=n_avg)
    assert torch.equal(res.latent, x)
    assert res.nfe == 2 * n_avg * 10


def test_flowedit_with_n_max_zero_returns_the_input():
    grid, x = flux_sigmas(10, 4096), latents(0)
    res = run_flowedit(mlp_velocity(0), mlp_velocity(1), x, grid, n_max=0)
    assert torch.equal(res.latent, x) and res.nfe == 0


def test_flowedit_changes_the_input_and_counts_nfe():
    grid, x = flux_sigmas(10, 4096), latents(0)
    src, tgt = mlp_velocity(0), mlp_velocity(1)
    res = run_flowedit(src, tgt, x, grid, n_max=8, n_min=2, n_avg=2)
    assert (res.latent - x).abs().max() > 1e-2
    assert res.nfe == 2 * 2 * 6 + 2 == len(src.calls) + len(tgt.calls)
    assert len(src.calls) == 12 and len(res.source_velocities) == 12
    # the first 10 - n_max grid points are skipped
    assert src.calls[0] == pytest.approx(float(grid[2]))


def test_flowedit_moves_a_gaussian_by_the_translation_between_prompts():
    # source N(2, 0.5^2), target N(-1, 0.5^2): the edit should translate every sample by -3
    src, tgt, x = gaussian_velocity(2.0, 0.5), gaussian_velocity(-1.0, 0.5), data(5000)
    res = run_flowedit(src, tgt, x, flux_sigmas(28, 4096), n_max=28)
    assert (res.latent - (x - 3.0)).abs().max() < 0.05


def test_flowedit_is_bit_identical_for_a_seed_and_noise_depends_on_it():
    grid, x = flux_sigmas(10, 4096), latents(0)
    a = run_flowedit(mlp_velocity(0), mlp_velocity(1), x, grid, seed=3, n_min=1)
    b = run_flowedit(mlp_velocity(0), mlp_velocity(1), x, grid, seed=3, n_min=1)
    c = run_flowedit(mlp_velocity(0), mlp_velocity(1), x, grid, seed=4, n_min=1)
    assert torch.equal(a.latent, b.latent)
    assert (a.latent - c.latent).abs().max() > 1e-3


def test_flowedit_with_cached_source_terms_is_bit_identical_and_cheaper():
    grid, x = flux_sigmas(10, 4096), latents(0)
    first = run_flowedit(mlp_velocity(0), mlp_velocity(1), x, grid, n_avg=2)
    src = mlp_velocity(0)
    again = run_flowedit(src, mlp_velocity(1), x, grid, n_avg=2,
                         source_velocities=first.source_velocities)
    assert torch.equal(first.latent, again.latent)
    assert src.calls == [] and again.nfe == first.nfe // 2
    with pytest.raises(ValueError, match="cached source velocities"):
        run_flowedit(src, mlp_velocity(1), x, grid, source_velocities=first.source_velocities[:3])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_max=11), "n_max"),
        (dict(n_max=-1), "n_max"),
        (dict(n_max=4, n_min=5), "n_min"),
        (dict(n_avg=0), "n_avg"),
        (dict(n_avg=1.5), "n_avg"),
        (dict(n_max=True), "n_max"),
    ],
)
def test_flowedit_bad_parameters(kwargs, match):
    v = mlp_velocity(0)
    with pytest.raises(ValueError, match=match):
        run_flowedit(v, v, latents(0), flux_sigmas(10, 4096), **kwargs)
