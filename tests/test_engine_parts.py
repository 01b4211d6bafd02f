"""Engine pieces that need no image pipeline: devices, previews, prompt cache, presets."""

from __future__ import annotations

import numpy as np
import pytest

from rfedit_desktop.errors import EditError

torch = pytest.importorskip("torch")



@pytest.fixture(scope="module")
def pipe():
    from rfedit_desktop.engine.tiny import tiny_flux

    return tiny_flux(seed=0)


# -- devices ----------------------------------------------------------------------------------
def test_pick_device_and_dtype_on_cpu() -> None:
    from rfedit_desktop.engine.devices import pick_device, pick_dtype

    cpu = pick_device("cpu")
    assert cpu.type == "cpu"
    assert pick_dtype(cpu) == torch.float32
    assert pick_dtype(cpu, "fp16") == torch.float16
    with pytest.raises(EditError, match="Unknown dtype"):
        pick_dtype(cpu, "int4")
    with pytest.raises(EditError, match="Unknown device"):
        pick_device("tpu")
    if not torch.cuda.is_available():
        assert pick_device("auto").type in ("cpu", "mps")
        with pytest.raises(EditError, match="CUDA was requested"):
            pick_device("cuda")


def test_dtype_probe_sees_a_working_dtype() -> None:
    from rfedit_desktop.engine.devices import _dtype_works

    assert _dtype_works(torch.device("cpu"), torch.float32)


def test_memory_modes(pipe) -> None:
    from rfedit_desktop.engine.devices import apply_memory_mode, configure_vae_tiling

    with pytest.raises(EditError, match="Unknown memory mode"):
        apply_memory_mode(pipe, torch.device("cpu"), "swap-to-floppy")
    with pytest.raises(EditError, match="needs a CUDA or Apple MPS device"):
        apply_memory_mode(pipe, torch.device("cpu"), "model-offload")
    apply_memory_mode(pipe, torch.device("cpu"), "none")
    assert next(pipe.transformer.parameters()).device.type == "cpu"
    assert configure_vae_tiling(pipe, 4096, 4096) is True and pipe.vae.use_tiling
    assert configure_vae_tiling(pipe, 64, 64) is False and not pipe.vae.use_tiling


# -- previews ---------------------------------------------------------------------------------
def test_flux_factors_are_used_for_16_channels() -> None:
    from rfedit_desktop.engine.preview import FLUX_LATENT_RGB_BIAS, rgb_projection

    factors, bias = rgb_projection(16)
    assert factors.shape == (16, 3) and np.allclose(bias, FLUX_LATENT_RGB_BIAS)
    # a zero latent shows the bias colour
    from rfedit_desktop.engine.preview import latent_to_rgb

    rgb = latent_to_rgb(np.zeros((16, 2, 2), np.float32), factors, bias)
    expected = np.round((np.asarray(FLUX_LATENT_RGB_BIAS) + 1) * 127.5)
    assert (rgb == expected.astype(np.uint8)).all()


def test_model_settings_override_and_fallback() -> None:
    from rfedit_desktop.engine.preview import rgb_projection

    own = np.arange(12, dtype=np.float32).reshape(4, 3) / 10
    factors, bias = rgb_projection(4, {"latent_rgb_factors": own.tolist(),
                                       "latent_rgb_bias": [0.1, 0.2, 0.3]})
    assert np.allclose(factors, own) and np.allclose(bias, [0.1, 0.2, 0.3])
    fallback, zero = rgb_projection(4)
    assert fallback.shape == (4, 3) and not np.allclose(fallback, own) and not zero.any()
    # wrong-shaped factors in rfedit.json are ignored rather than crashing a preview
    assert rgb_projection(4, {"latent_rgb_factors": [[1, 2, 3]]})[0].shape == (4, 3)


def test_packed_preview_matches_unpacked() -> None:
    from rfedit_desktop.engine.preview import latent_to_rgb, packed_to_rgb, rgb_projection
    from rfedit_desktop.flow import pack_latents

    z = torch.randn(1, 16, 6, 8, generator=torch.Generator().manual_seed(0))
    factors, bias = rgb_projection(16)
    a = packed_to_rgb(pack_latents(z), 6, 8, factors, bias)
    b = latent_to_rgb(z, factors, bias)
    assert a.shape == (6, 8, 3) and a.dtype == np.uint8
    assert (a == b).all()


# -- prompt embeddings ------------------------------------------------------------------------
def test_prompt_cache_hits_and_evicts(pipe) -> None:
    from rfedit_desktop.engine.prompts import PromptCache, max_sequence_length

    cache = PromptCache(capacity=2)
    cpu = torch.device("cpu")
    first = cache.encode(pipe, "a red house", cpu)
    again = cache.encode(pipe, "a red house", cpu)
    assert again is first and cache.hits == 1 and cache.misses == 1
    ref, pooled, _ = pipe.encode_prompt("a red house", None, device=cpu,
                                        max_sequence_length=max_sequence_length(pipe))
    assert torch.equal(first.prompt_embeds, ref) and torch.equal(first.pooled, pooled)
    other = cache.encode(pipe, "a blue sea", cpu)
    assert not torch.equal(other.prompt_embeds, first.prompt_embeds)
    cache.encode(pipe, "", cpu)
    assert len(cache) == 2 and ("a red house", 32) not in cache  # least recent evicted


# -- presets ---------------------------------------------------------------------------------
def test_presets_follow_the_paper_table() -> None:
    from rfedit_desktop.engine.presets import PRESETS, get_preset

    table = {"stroke-to-image": (3, 5, 0.9), "object-insert": (0, 6, 1.0),
             "gender": (0, 8, 1.0), "age": (0, 5, 1.0), "glasses": (6, 25, 0.7),
             "stylize": (0, 6, 0.9)}
    for name, (start, stop, eta) in table.items():
        p = PRESETS[name]
        assert (p.start_step, p.stop_step, p.eta, p.gamma, p.guidance) == (start, stop, eta, 0.5, 3.5)
        assert p.params()["start"] == pytest.approx(start / 28)
        assert p.params()["stop"] == pytest.approx(stop / 28)
    with pytest.raises(EditError, match="Unknown preset"):
        get_preset("sharpen")


def test_engine_package_import_is_torch_free() -> None:
    import subprocess
    import sys

    code = ("import sys, rfedit_desktop.engine as e, rfedit_desktop.engine.presets; "
            "print('torch' in sys.modules, callable(e.__getattr__))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


def test_long_prompts_are_flagged_as_truncated(pipe) -> None:
    from rfedit_desktop.engine.prompts import PromptCache

    cache = PromptCache()
    cpu = torch.device("cpu")
    assert not cache.encode(pipe, "a photo of a cat", cpu).truncated
    long = "an extraordinarily detailed chiaroscuro rendering of quokkas"  # spelled letter by letter
    assert cache.encode(pipe, long, cpu).truncated


class _NoCopy(np.ndarray):
    def __deepcopy__(self, memo):
        raise AssertionError("the pixels were copied")


def test_request_params_leave_the_pixels_alone() -> None:
    """Every staged result's metadata calls params(): copying a 12-megapixel photo and its
    mask for it held the GUI thread ~20 ms per result."""
    from rfedit_desktop.engine.request import EditRequest

    image = np.zeros((6, 8, 3), np.uint8).view(_NoCopy)
    mask = np.ones((6, 8), np.uint8).view(_NoCopy)
    request = EditRequest(image=image, prompt="p", mask=mask, region=(1, 2, 3, 4),
                          loras=(("style.safetensors", 0.8),))
    params = request.params()
    assert "image" not in params and "mask" not in params and params["has_mask"] is True
    assert params["region"] == [1, 2, 3, 4] and params["loras"] == (("style.safetensors", 0.8),)
    assert params["prompt"] == "p" and params["steps"] == request.steps
