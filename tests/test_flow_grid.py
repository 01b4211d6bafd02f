"""The sigma grid, the strength truncation and Flux's latent packing (ALGORITHM.md §2, §8.6)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rfedit_desktop.flow import (
    check_sigmas,
    flux_mu,
    flux_sigmas,
    image_seq_len,
    nfe,
    pack_latents,
    start_index,
    step_sizes,
    unpack_latents,
)


def test_reference_values_at_1024_pixels():
    assert flux_mu(4096) == pytest.approx(1.15)
    assert flux_mu(256) == pytest.approx(0.5)
    s = flux_sigmas(28, image_seq_len(1024, 1024))
    assert s.dtype == torch.float32 and s.shape == (29,)
    assert s[0].item() == 1.0 and s[-1].item() == 0.0
    assert s[1].item() == pytest.approx(0.9884, abs=1e-4)
    assert s[27].item() == pytest.approx(0.1047, abs=1e-4)


@pytest.mark.parametrize("n", [1, 2, 7, 28, 50])
@pytest.mark.parametrize("seq", [None, 256, 1024, 4096])
def test_grid_descends_from_one_to_zero_and_steps_sum_to_one(n, seq):
    s = flux_sigmas(n, seq)
    assert s.shape == (n + 1,)
    assert (s[1:] < s[:-1]).all()
    d = step_sizes(s)
    assert len(d) == n and min(d) > 0
    assert sum(d) == pytest.approx(1.0, abs=1e-6)
    check_sigmas(s)  # a grid we make is a grid we accept


def test_numpy_numbers_are_accepted():
    assert torch.equal(flux_sigmas(np.int64(12), np.int64(1024)), flux_sigmas(12, 1024))
    assert start_index(np.int32(28), np.float32(0.5)) == 14
    with pytest.raises(ValueError, match="num_steps"):
        start_index(0, 0.5)
    with pytest.raises(ValueError, match="num_steps"):
        nfe("edit", -1)
    with pytest.raises(ValueError, match="unknown kind"):
        nfe("paint", 28)


def test_no_shift_is_the_plain_linspace():
    expected = torch.cat([torch.linspace(1, 0.1, 10), torch.zeros(1)])
    assert torch.allclose(flux_sigmas(10), expected)
    assert torch.allclose(flux_sigmas(10, 4096, shift=False), expected)
    assert not torch.allclose(flux_sigmas(10, 4096), expected)


@pytest.mark.parametrize("n,seq", [(28, 4096), (20, 1024), (4, 300), (50, 256)])
def test_grid_matches_diffusers_dynamic_shift(n, seq):
    from diffusers import FlowMatchEulerDiscreteScheduler

    sched = FlowMatchEulerDiscreteScheduler(
        use_dynamic_shifting=True, base_shift=0.5, max_shift=1.15,
        base_image_seq_len=256, max_image_seq_len=4096,
    )
    sched.set_timesteps(sigmas=np.linspace(1.0, 1 / n, n), mu=flux_mu(seq))
    assert torch.allclose(flux_sigmas(n, seq), sched.sigmas, rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    "n,strength,k0", [(28, 1.0, 0), (28, 0.5, 14), (10, 0.25, 7), (10, 0.35, 6), (28, 0.01, 27)]
)
def test_strength_truncation(n, strength, k0):
    assert start_index(n, strength) == k0
    assert nfe("invert", n, strength) == n - k0
    assert nfe("edit", n, strength) == n - k0
    assert nfe("sdedit", n, strength) == n - k0
    assert nfe("round-trip", n, strength) == 2 * (n - k0)
    assert nfe("sample", n, strength) == n


@pytest.mark.parametrize("strength", [0.0, -0.1, 1.01, float("nan"), "1"])
def test_bad_strength(strength):
    with pytest.raises(ValueError, match="strength"):
        start_index(28, strength)


@pytest.mark.parametrize("steps", [0, -3, 2.5, True])
def test_bad_steps(steps):
    with pytest.raises(ValueError, match="num_steps"):
        flux_sigmas(steps)


@pytest.mark.parametrize(
    "sigmas,match",
    [
        (torch.tensor([1.0, 0.5, 0.5, 0.0]), "descending"),
        (torch.tensor([0.0, 0.5, 1.0]), "descending"),
        (torch.tensor([1.0, 0.5, 0.1]), "end at 0"),
        (torch.tensor([1.5, 0.5, 0.0]), r"\[0, 1\]"),
        (torch.tensor([1.0]), "at least 2"),
        (torch.ones(2, 2), "1-D"),
        (torch.tensor([1.0, float("nan"), 0.0]), "finite"),
    ],
)
def test_bad_sigmas(sigmas, match):
    with pytest.raises(ValueError, match=match):
        check_sigmas(sigmas)


def test_pack_matches_diffusers_and_unpack_inverts():
    from diffusers import FluxPipeline

    latents = torch.randn(2, 16, 6, 10, generator=torch.Generator().manual_seed(1))
    packed = pack_latents(latents)
    assert packed.shape == (2, 3 * 5, 64)
    ours = FluxPipeline._pack_latents(latents, 2, 16, 6, 10)
    assert torch.equal(packed, ours)
    # diffusers unpacks from pixel sizes (latent size times the VAE factor 8)
    assert torch.equal(FluxPipeline._unpack_latents(packed, 48, 80, 8), latents)
    assert torch.equal(unpack_latents(packed, 6, 10), latents)


def test_token_count_matches_packing():
    for h, w in [(1024, 1024), (512, 768), (64, 32), (1008, 1296)]:
        n = image_seq_len(h, w)
        assert n == (h // 16) * (w // 16)
        assert pack_latents(torch.zeros(1, 16, h // 8, w // 8)).shape[1] == n
    assert image_seq_len(1024, 1024) == 4096


def test_bad_packing_shapes():
    with pytest.raises(ValueError, match="even"):
        pack_latents(torch.zeros(1, 16, 5, 4))
    with pytest.raises(ValueError, match="B, C, H, W"):
        pack_latents(torch.zeros(16, 4, 4))
    with pytest.raises(ValueError, match="does not match"):
        unpack_latents(torch.zeros(1, 6, 64), 4, 4)


@settings(max_examples=40, deadline=None)
@given(b=st.integers(1, 2), c=st.integers(1, 5), h=st.integers(1, 6), w=st.integers(1, 6))
def test_pack_unpack_inverse_for_any_shape(b, c, h, w):
    x = torch.arange(b * c * 4 * h * w, dtype=torch.float32).reshape(b, c, 2 * h, 2 * w)
    packed = pack_latents(x)
    assert packed.shape == (b, h * w, 4 * c)
    assert torch.equal(unpack_latents(packed, 2 * h, 2 * w), x)
    # each token holds one 2x2 patch of every channel
    assert set(packed[0, 0].tolist()) == {
        x[0, ch, i, j].item() for ch in range(c) for i in (0, 1) for j in (0, 1)
    }


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 200), seq=st.one_of(st.none(), st.integers(1, 16384)),
       s=st.floats(0.001, 1.0))
def test_grid_and_truncation_invariants(n, seq, s):
    sig = flux_sigmas(n, seq)
    assert (sig[1:] < sig[:-1]).all() and sig[0] == 1 and sig[-1] == 0
    assert sum(step_sizes(sig)) == pytest.approx(1.0, abs=1e-5)
    k0 = start_index(n, s)
    assert 0 <= k0 <= n - 1
    assert abs((n - k0) - s * n) <= 0.5 or k0 == n - 1


@pytest.mark.parametrize(
    "config",
    [
        {"use_dynamic_shifting": True, "base_shift": 0.3, "max_shift": 1.5,
         "base_image_seq_len": 64, "max_image_seq_len": 1024},
        {"use_dynamic_shifting": False, "shift": 3.0},
        {"use_dynamic_shifting": False, "shift": 1.0},
    ],
)
def test_grid_follows_the_models_scheduler_config(config):
    """A fine-tune's own shift constants (or a static shift) give diffusers' grid, not Flux's."""
    from diffusers import FlowMatchEulerDiscreteScheduler
    from diffusers.pipelines.flux.pipeline_flux import calculate_shift

    from rfedit_desktop.flow import ShiftConfig

    sched = FlowMatchEulerDiscreteScheduler(**config)
    shift = ShiftConfig.from_scheduler_config(sched.config)
    n, seq = 12, 400
    base = np.linspace(1.0, 1 / n, n)
    if config["use_dynamic_shifting"]:
        mu = calculate_shift(seq, sched.config.base_image_seq_len, sched.config.max_image_seq_len,
                             sched.config.base_shift, sched.config.max_shift)
        assert flux_mu(seq, shift) == pytest.approx(mu)
        sched.set_timesteps(sigmas=base, mu=mu)
    else:
        sched.set_timesteps(sigmas=base)
    ours = flux_sigmas(n, seq, config=shift)
    assert torch.allclose(ours, sched.sigmas, rtol=0, atol=1e-6)
    if config.get("shift", 1.0) != 1.0 or config["use_dynamic_shifting"]:
        assert not torch.allclose(ours, flux_sigmas(n, seq, shift=False), atol=1e-3)
