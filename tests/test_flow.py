"""RF-Inversion's controlled ODEs on arbitrary models (ALGORITHM.md §3-§6 and §8.1-3, §8.7)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rfedit_desktop.errors import Cancelled
from rfedit_desktop.flow import (
    edit,
    eta_schedule,
    flux_mu,
    flux_sigmas,
    invert,
    sample,
    sdedit,
)

SHAPE = (2, 12, 8)  # (batch, tokens, channels): a tiny packed latent


def mlp_velocity(seed: int, dim: int = SHAPE[-1]):
    """A random network u(x, sigma): any model must satisfy the exactness properties."""
    torch.manual_seed(seed)
    net = torch.nn.Sequential(
        torch.nn.Linear(dim + 1, 32), torch.nn.Tanh(), torch.nn.Linear(32, dim)
    ).double()
    calls: list[float] = []

    @torch.no_grad()
    def velocity(x: torch.Tensor, sigma: float) -> torch.Tensor:
        assert isinstance(sigma, float)
        calls.append(sigma)
        s = torch.full((*x.shape[:-1], 1), sigma, dtype=torch.float64)
        return (3.0 * net(torch.cat([x.double(), s], dim=-1))).to(x.dtype)

    velocity.calls = calls
    return velocity


def latents(seed: int, dtype=torch.float32) -> torch.Tensor:
    return torch.randn(SHAPE, generator=torch.Generator().manual_seed(seed), dtype=dtype)


@pytest.fixture
def grid():
    return flux_sigmas(10, 4096)


def test_gamma_one_ends_on_y1_for_any_model(grid):
    y0, y1 = latents(0), latents(1)
    res = invert(mlp_velocity(0), y0, grid, gamma=1.0, y1=y1)
    assert res.nfe == 10 and res.start_index == 0
    assert torch.allclose(res.latent, y1, atol=1e-5)
    assert not torch.allclose(y0, y1, atol=1e-1)


def test_gamma_one_with_strength_lands_on_noised_y0(grid):
    y0, y1 = latents(0), latents(1)
    res = invert(mlp_velocity(0), y0, grid, gamma=1.0, y1=y1, strength=0.6)
    sigma = grid[res.start_index].item()
    assert res.start_index == 4 and res.nfe == 6
    assert torch.allclose(res.latent, (1 - sigma) * y0 + sigma * y1, atol=1e-5)


def test_eta_one_everywhere_ends_on_y0_for_any_model(grid):
    y0, x = latents(0), latents(5)
    out = edit(mlp_velocity(1), x, y0, grid, eta=1.0, start=0.0, stop=1.0)
    assert torch.allclose(out, y0, atol=1e-5)
    out = edit(mlp_velocity(1), x, y0, grid, eta=1.0, start=0.0, stop=1.0, stochastic=True,
               generator=torch.Generator().manual_seed(0))
    assert torch.allclose(out, y0, atol=1e-5)


def test_eta_one_on_a_window_follows_the_straight_line(grid):
    y0, x0 = latents(0), latents(5)
    tau = 4  # eta = 1 on steps [0, 4) of 10
    seen: dict[int, torch.Tensor] = {}
    edit(mlp_velocity(1), x0, y0, grid, eta=1.0, start=0.0, stop=0.4,
         callback=lambda step, total, lat: seen.__setitem__(step, lat.clone()))
    sigma = grid[tau].item()
    assert torch.allclose(seen[tau], (1 - sigma) * y0 + sigma * x0, atol=1e-5)
    # after the window the model acts again, so the path leaves the line
    sigma = grid[tau + 2].item()
    assert not torch.allclose(seen[tau + 2], (1 - sigma) * y0 + sigma * x0, atol=1e-3)


def test_gamma_zero_is_plain_euler_inversion(grid):
    v, y0 = mlp_velocity(2), latents(0)
    res = invert(v, y0, grid, gamma=0.0, y1=latents(1), keep_trajectory=True)
    y, s = y0.clone(), grid.tolist()
    expected = [y]
    for j in range(10, 0, -1):
        y = y + (grid[j - 1] - grid[j]).item() * v(y, s[j])
        expected.append(y)
    assert torch.allclose(res.latent, y, atol=1e-6)
    assert len(res.trajectory) == 11
    for got, want in zip(res.trajectory, expected, strict=True):
        assert torch.allclose(got, want, atol=1e-6)


def test_inversion_evaluates_the_model_at_the_states_sigma(grid):
    v = mlp_velocity(2)
    invert(v, latents(0), grid, gamma=0.5, generator=torch.Generator().manual_seed(0))
    assert v.calls == pytest.approx(grid.flip(0)[:-1].tolist())


def test_eta_zero_equals_diffusers_euler_step_by_step():
    from diffusers import FlowMatchEulerDiscreteScheduler

    n = 8
    sched = FlowMatchEulerDiscreteScheduler(use_dynamic_shifting=True)
    sched.set_timesteps(sigmas=np.linspace(1.0, 1 / n, n), mu=flux_mu(1024))
    v, x0, y0 = mlp_velocity(3), latents(7), latents(0)

    ours: list[torch.Tensor] = []
    out = edit(v, x0, y0, sched.sigmas, eta=0.0, callback=lambda s, t, lat: ours.append(lat))
    x, theirs = x0.clone(), []
    for i, t in enumerate(sched.timesteps):
        x = sched.step(v(x, sched.sigmas[i].item()), t, x).prev_sample
        theirs.append(x)
    assert len(ours) == len(theirs) == n
    for a, b in zip(ours, theirs, strict=True):
        assert torch.allclose(a, b, rtol=1e-6, atol=1e-6)
    # the eta window does nothing when eta is 0, and plain sampling is the same loop
    assert torch.allclose(out, sample(v, x0, sched.sigmas), rtol=0, atol=0)


def test_round_trip_with_identity_settings_recovers_y0_on_fine_grid():
    # gamma = eta = 0 inverts and re-samples with one model; on a smooth field the error is small
    v, y0 = mlp_velocity(4), latents(0, torch.float64) * 0.3
    grid = flux_sigmas(200)
    res = invert(v, y0, grid, gamma=0.0, y1=latents(1, torch.float64))
    out = edit(v, res.latent, y0, grid, eta=0.0)
    assert (out - y0).abs().max() < 0.05
    assert (res.latent - y0).abs().max() > 0.5  # the inversion really went somewhere


def test_same_seed_is_bit_identical_and_other_seed_differs(grid):
    def run(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        g = torch.Generator().manual_seed(seed)
        v = mlp_velocity(5)
        res = invert(v, latents(0), grid, gamma=0.5, generator=g)
        out = edit(v, res.latent, res.y0, grid, eta=0.7, stochastic=True, generator=g)
        return res.y1, out

    a, b, c = run(11), run(11), run(12)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0]) and not torch.equal(a[1], c[1])
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    assert torch.equal(sdedit(mlp_velocity(6), latents(0), grid, strength=0.5, generator=g1),
                       sdedit(mlp_velocity(6), latents(0), grid, strength=0.5, generator=g2))


def test_strength_truncation_counts_nfe_and_trajectory(grid):
    v = mlp_velocity(6)
    res = invert(v, latents(0), grid, strength=0.3, keep_trajectory=True,
                 generator=torch.Generator().manual_seed(0))
    assert res.start_index == 7 and res.nfe == 3
    assert len(v.calls) == 3 and len(res.trajectory) == 4
    assert torch.equal(res.trajectory[0], res.y0) and torch.equal(res.trajectory[-1], res.latent)
    v.calls.clear()
    steps: list[tuple[int, int]] = []
    edit(v, res.latent, res.y0, grid, strength=0.3, callback=lambda s, t, _: steps.append((s, t)))
    assert steps == [(1, 3), (2, 3), (3, 3)]
    assert v.calls == pytest.approx(grid[7:10].tolist())
    v.calls.clear()
    sdedit(v, res.y0, grid, strength=0.3, generator=torch.Generator().manual_seed(0))
    assert len(v.calls) == 3
    v.calls.clear()
    sample(v, latents(1), grid)
    assert len(v.calls) == 10


def test_sdedit_starts_from_noised_y0():
    grid = flux_sigmas(10)
    y0 = latents(0)
    seen = []
    # a zero field keeps the state where SDEdit put it for the first step
    sdedit(lambda x, s: torch.zeros_like(x), y0, grid, strength=0.5,
           generator=torch.Generator().manual_seed(9), callback=lambda s, t, lat: seen.append(lat))
    eps = torch.randn(SHAPE, generator=torch.Generator().manual_seed(9))
    sigma = grid[5].item()
    assert torch.allclose(seen[0], (1 - sigma) * y0 + sigma * eps, atol=1e-6)


def test_masked_edit_keeps_unmasked_region_on_trajectory(grid):
    y0 = latents(0)
    res = invert(mlp_velocity(7), y0, grid, gamma=0.5, keep_trajectory=True,
                 generator=torch.Generator().manual_seed(0))
    mask = torch.zeros(SHAPE[0], SHAPE[1], 1)
    mask[:, :6] = 1.0  # first half of the tokens may change
    seen = []
    out = edit(mlp_velocity(8), res.latent, res.y0, grid, eta=0.5, stop=0.3, mask=mask,
               trajectory=res.trajectory, callback=lambda s, t, lat: seen.append(lat))
    for step, lat in enumerate(seen, start=1):
        on_traj = res.trajectory[10 - step]
        assert torch.allclose(lat[:, 6:], on_traj[:, 6:], atol=1e-6)
    assert torch.equal(out[:, 6:], y0[:, 6:])
    assert (out[:, :6] - y0[:, :6]).abs().max() > 1e-2  # the edited region did change


def test_masked_edit_with_truncation_and_soft_mask(grid):
    y0 = latents(0)
    res = invert(mlp_velocity(7), y0, grid, strength=0.5, keep_trajectory=True,
                 generator=torch.Generator().manual_seed(0))
    mask = torch.linspace(0, 1, SHAPE[1]).reshape(1, -1, 1)
    out = edit(mlp_velocity(8), res.latent, res.y0, grid, eta=0.0, strength=0.5, mask=mask,
               trajectory=res.trajectory)
    assert torch.equal(out[:, 0], y0[:, 0])  # mask 0 at the first token
    with pytest.raises(ValueError, match="trajectory has"):
        edit(mlp_velocity(8), res.latent, res.y0, grid, strength=1.0, mask=mask,
             trajectory=res.trajectory)
    with pytest.raises(ValueError, match="needs the inversion's trajectory"):
        edit(mlp_velocity(8), res.latent, res.y0, grid, strength=0.5, mask=mask)
    with pytest.raises(ValueError, match="does not broadcast"):
        edit(mlp_velocity(8), res.latent, res.y0, grid, strength=0.5, mask=torch.ones(3, 1, 1),
             trajectory=res.trajectory)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        edit(mlp_velocity(8), res.latent, res.y0, grid, strength=0.5, mask=mask * 2,
             trajectory=res.trajectory)


@pytest.mark.parametrize("where", ["invert", "edit", "sample"])
def test_callback_true_cancels(grid, where):
    calls = []

    def cb(step, total, latent):
        calls.append(step)
        return step == 3

    v, y0 = mlp_velocity(9), latents(0)
    with pytest.raises(Cancelled):
        if where == "invert":
            invert(v, y0, grid, generator=torch.Generator().manual_seed(0), callback=cb)
        elif where == "edit":
            edit(v, y0, y0, grid, callback=cb)
        else:
            sample(v, y0, grid, callback=cb)
    assert calls == [1, 2, 3]


def test_low_precision_model_keeps_float32_state(grid):
    v = mlp_velocity(10)

    def bf16_model(x, sigma):
        assert x.dtype == torch.float32
        return v(x.to(torch.bfloat16).float(), sigma).to(torch.bfloat16)

    y0 = latents(0).to(torch.bfloat16)
    res = invert(bf16_model, y0, grid, gamma=0.5, generator=torch.Generator().manual_seed(0))
    assert res.latent.dtype == res.y0.dtype == res.y1.dtype == torch.float32
    out = edit(bf16_model, res.latent, y0, grid, eta=1.0, stop=1.0)
    assert out.dtype == torch.float32
    assert torch.allclose(out, y0.float(), atol=1e-5)


def test_eta_schedule_window_and_decay():
    assert eta_schedule(28, 0.9, 0.0, 7 / 28) == [0.9] * 7 + [0.0] * 21
    assert eta_schedule(10, 0.5, 0.25, 0.55) == [0.0] * 2 + [0.5] * 3 + [0.0] * 5
    for n in range(1, 60):  # fractions k/n land on step k despite float rounding
        for k in range(n):
            assert eta_schedule(n, 1.0, k / n, (k + 1) / n) == [0.0] * k + [1.0] + [0.0] * (
                n - k - 1)
    decayed = eta_schedule(10, 1.0, 0.0, 0.5, decay_power=2.0)
    assert decayed[:5] == pytest.approx([(1 - i / 10) ** 2 for i in range(5)])
    assert decayed[5:] == [0.0] * 5


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"eta": -0.1}, "eta"),
        ({"eta": 1.5}, "eta"),
        ({"start": 0.5, "stop": 0.25}, "start"),
        ({"start": -0.1}, "start and stop"),
        ({"stop": 1.2}, "start and stop"),
        ({"decay_power": -1.0}, "decay_power"),
        ({"strength": 0.0}, "strength"),
        ({"strength": 1.5}, "strength"),
    ],
)
def test_bad_edit_parameters(grid, kwargs, match):
    with pytest.raises(ValueError, match=match):
        edit(mlp_velocity(0), latents(0), latents(1), grid, **kwargs)


@pytest.mark.parametrize("gamma", [-0.01, 1.01, float("nan")])
def test_bad_gamma(grid, gamma):
    with pytest.raises(ValueError, match="gamma"):
        invert(mlp_velocity(0), latents(0), grid, gamma=gamma)


def test_bad_shapes_and_grids(grid):
    v = mlp_velocity(0)
    with pytest.raises(ValueError, match="y1 shape"):
        invert(v, latents(0), grid, y1=torch.zeros(3))
    with pytest.raises(ValueError, match="x shape"):
        edit(v, latents(0), torch.zeros(3), grid)
    with pytest.raises(ValueError, match="descending"):
        invert(v, latents(0), grid.flip(0))
    with pytest.raises(ValueError, match="velocity returned"):
        sample(lambda x, s: x[0], latents(0), grid)
