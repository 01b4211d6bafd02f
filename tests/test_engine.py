"""run_edit end to end on the tiny random Flux: sizes, methods, cache, masks, cancel, seeds."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from edit_inputs import STEPS, picture, request

from rfedit_desktop.errors import Cancelled, EditError

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def engine():
    from rfedit_desktop.engine.cache import InversionCache
    from rfedit_desktop.engine.session import load_engine

    return load_engine("tiny", device="cpu", cache=InversionCache(use_disk=False))


@pytest.fixture()
def fresh(engine):
    """The shared engine with an empty inversion cache."""
    engine.cache.clear()
    return engine


@pytest.mark.parametrize("method", ["rf-inversion", "sdedit", "ode", "stochastic"])
def test_every_method_returns_the_input_size(fresh, method) -> None:
    from rfedit_desktop.engine.pipeline import run_edit

    image = picture(37, 53)  # not a multiple of 16: resized for the model and back
    result = run_edit(fresh, request(image=image, method=method))
    assert result.image.shape == (37, 53, 3) and result.image.dtype == np.uint8
    assert result.metadata["method"] == method
    assert result.metadata["input_size"] == [53, 37]
    assert result.metadata["prompt_truncated"] is False
    w, h = result.metadata["model_size"]
    assert w % 16 == 0 and h % 16 == 0
    expected_nfe = STEPS if method == "sdedit" else 2 * STEPS
    assert result.nfe == expected_nfe and not result.cache_hit
    assert set(result.timings) == {"load_image", "encode_image", "encode_prompt", "invert",
                                   "edit", "decode", "stitch"}


def test_eta_one_everywhere_returns_the_decoded_source_latent(fresh) -> None:
    from rfedit_desktop.engine.latents import decode_latent, encode_image
    from rfedit_desktop.engine.pipeline import run_edit

    image = picture(64, 64)
    result = run_edit(fresh, request(image=image, eta=1.0, start=0.0, stop=1.0,
                                     prompt="a blue sea", keep_detail=False))
    round_trip = decode_latent(fresh, encode_image(fresh, image), 64, 64)
    diff = np.abs(result.image.astype(int) - round_trip.astype(int))
    assert diff.max() <= 1 and diff.mean() < 0.01
    # whereas a free edit (eta 0) under another prompt moves away from it
    free = run_edit(fresh, request(image=image, eta=0.0, prompt="a blue sea",
                                   keep_detail=False))
    assert np.abs(free.image.astype(int) - round_trip.astype(int)).mean() > 1.0


def test_repeat_is_a_cache_hit_costing_only_the_editing_steps(fresh) -> None:
    from rfedit_desktop.engine.pipeline import run_edit

    first = run_edit(fresh, request())
    assert not first.cache_hit and first.nfe == 2 * STEPS
    assert not fresh.is_cached(request(gamma=0.7))
    assert fresh.is_cached(request(prompt="another prompt, same inversion"))
    again = run_edit(fresh, request())
    assert again.cache_hit and again.nfe == STEPS
    assert again.timings["invert"] == 0.0 and again.timings["encode_image"] == 0.0
    assert np.array_equal(again.image, first.image)
    new_prompt = run_edit(fresh, request(prompt="a watercolor painting"))
    assert new_prompt.cache_hit and not np.array_equal(new_prompt.image, first.image)


def test_inversion_parameters_are_part_of_the_key(fresh) -> None:
    from rfedit_desktop.engine.pipeline import run_edit

    run_edit(fresh, request())
    for changed in (dict(gamma=0.7), dict(seed=1), dict(strength=0.5), dict(steps=STEPS + 1),
                    dict(source_prompt="a photo"), dict(source_guidance=1.0),
                    dict(image=picture(seed=1))):
        assert not run_edit(fresh, request(**changed)).cache_hit, changed


def test_ode_inverts_with_gamma_zero(fresh) -> None:
    from rfedit_desktop.engine.pipeline import run_edit

    run_edit(fresh, request(method="rf-inversion", gamma=0.5))
    ode = run_edit(fresh, request(method="ode", gamma=0.5))
    assert not ode.cache_hit  # gamma 0.5 inversion is not the ODE's
    assert run_edit(fresh, request(method="rf-inversion", gamma=0.0)).cache_hit
    plain = run_edit(fresh, request(method="rf-inversion", gamma=0.0, eta=0.0))
    assert np.array_equal(plain.image, ode.image)


def test_run_invert_fills_the_cache(fresh) -> None:
    from rfedit_desktop.engine.pipeline import run_edit, run_invert

    req = request()
    assert not fresh.is_cached(req)
    info = run_invert(fresh, req)
    assert info["nfe"] == STEPS and not info["cache_hit"]
    assert fresh.is_cached(req)
    assert run_invert(fresh, req)["cache_hit"]
    assert run_edit(fresh, req).nfe == STEPS
    with pytest.raises(EditError, match="sdedit does not invert"):
        run_invert(fresh, request(method="sdedit"))


def _mask(h: int, w: int) -> np.ndarray:
    m = np.zeros((h, w), np.uint8)
    m[16:40, 20:44] = 255
    return m


@pytest.mark.parametrize("method", ["rf-inversion", "sdedit"])
def test_masked_edit_keeps_every_pixel_outside_the_mask(fresh, method) -> None:
    from rfedit_desktop.engine.pipeline import run_edit

    image = picture(56, 64)
    mask = _mask(56, 64)
    result = run_edit(fresh, request(image=image, mask=mask, method=method,
                                     prompt="a blue sea", eta=0.0))
    outside = mask == 0  # the soft edge lies inside the mask: nothing outside changes
    assert np.array_equal(result.image[outside], image[outside])
    inside = mask > 0
    assert np.abs(result.image[inside].astype(int) - image[inside].astype(int)).mean() > 1.0


def test_edit_weight_softens_inwards_and_keeps_thin_strokes() -> None:
    from rfedit_desktop.engine.prepare import edit_weight

    square = np.zeros((64, 64), np.float32)
    square[16:48, 16:48] = 1.0
    w = edit_weight(square, 4)
    assert (w[square == 0] == 0).all() and w[32, 32] == 1.0
    ramp = w[32, 16:24]
    assert 0 < ramp[0] < 0.5 and (np.diff(ramp) >= 0).all() and ramp[-1] == 1.0
    line = np.zeros((64, 64), np.float32)
    line[30:33, 4:60] = 1.0  # 3 px wide: the ramp narrows instead of erasing it
    w = edit_weight(line, 4)
    assert (w[line == 0] == 0).all() and w[31, 32] > 0.99 and w[30, 32] > 0.5
    soft = square * 0.5  # a half-strength mask stays at most half strength
    assert edit_weight(soft, 4).max() == 0.5


def test_masked_edit_after_unmasked_recomputes_with_the_trajectory(fresh) -> None:
    from rfedit_desktop.engine.pipeline import run_edit

    image = picture(48, 64)
    run_edit(fresh, request(image=image))
    masked = request(image=image, mask=_mask(48, 64))
    assert not fresh.is_cached(masked)
    first = run_edit(fresh, masked)
    assert not first.cache_hit and first.nfe == 2 * STEPS
    assert fresh.is_cached(masked) and fresh.is_cached(request(image=image))
    again = run_edit(fresh, masked)
    assert again.cache_hit and np.array_equal(again.image, first.image)


def test_cancel_mid_edit_raises_and_returns_nothing(fresh) -> None:
    from rfedit_desktop.engine.pipeline import run_edit

    cancel = threading.Event()
    seen = []

    def progress(event):
        seen.append((event.phase, event.step))
        if event.phase == "edit" and event.step == 2:
            cancel.set()

    with pytest.raises(Cancelled):
        run_edit(fresh, request(), progress=progress, cancel=cancel)
    assert ("edit", 2) in seen and ("edit", 3) not in seen
    assert ("decode", 0) not in seen
    cancel.set()
    with pytest.raises(Cancelled):
        run_edit(fresh, request(seed=5), cancel=cancel)


def test_progress_reports_phases_and_previews(fresh) -> None:
    from rfedit_desktop.engine.pipeline import run_edit

    events = []
    run_edit(fresh, request(image=picture(32, 48), preview_every=2), progress=events.append)
    phases = [e.phase for e in events]
    assert phases.index("invert") < phases.index("edit") < phases.index("decode")
    steps = [e for e in events if e.phase == "edit" and e.step > 0]
    assert [e.step for e in steps] == list(range(1, STEPS + 1))
    previews = [e.preview for e in steps if e.preview is not None]
    assert len(previews) == STEPS // 2
    assert previews[0].shape == (4, 6, 3) and previews[0].dtype == np.uint8


def test_same_request_and_seed_give_identical_pixels() -> None:
    from rfedit_desktop.engine.cache import InversionCache
    from rfedit_desktop.engine.pipeline import run_edit
    from rfedit_desktop.engine.session import load_engine

    results = []
    for _ in range(2):
        eng = load_engine("tiny", device="cpu", cache=InversionCache(use_disk=False))
        results.append([run_edit(eng, request(method=m, seed=7)).image
                        for m in ("rf-inversion", "stochastic", "sdedit")])
    for a, b in zip(*results, strict=True):
        assert np.array_equal(a, b)
    other = run_edit(eng, request(method="stochastic", seed=8)).image
    assert not np.array_equal(other, results[0][1])


def test_model_resolution_limits_the_pixel_budget(fresh) -> None:
    from rfedit_desktop.engine.pipeline import run_edit

    fresh.source.settings["resolution"] = 32
    try:
        result = run_edit(fresh, request(image=picture(64, 128)))
    finally:
        fresh.source.settings.pop("resolution")
    w, h = result.metadata["model_size"]
    assert w * h <= 32 * 32 and result.image.shape == (64, 128, 3)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (dict(steps=0), "steps"),
        (dict(steps=201), "steps"),
        (dict(steps=2.5), "steps"),
        (dict(gamma=1.5), "gamma"),
        (dict(eta=-0.1), "eta"),
        (dict(start=0.5, stop=0.2), "window"),
        (dict(stop=1.2), "window"),
        (dict(strength=0.0), "strength"),
        (dict(guidance=-1.0), "guidance"),
        (dict(guidance=float("nan")), "guidance"),
        (dict(method="magic"), "method"),
        (dict(prompt=None), "prompt"),
        (dict(seed=-1), "seed"),
        (dict(max_megapixels=0), "max_megapixels"),
    ],
)
def test_bad_parameters_are_clear_errors(engine, change, message) -> None:
    from rfedit_desktop.engine.pipeline import run_edit

    with pytest.raises(EditError, match=message):
        run_edit(engine, request(**change))


def test_bad_images_are_clear_errors(engine, tmp_path) -> None:
    from rfedit_desktop.engine.pipeline import run_edit

    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(EditError):
        run_edit(engine, request(image=str(empty)))
    with pytest.raises(EditError):
        run_edit(engine, request(image=str(tmp_path / "missing.png")))


def test_generate_is_seeded(fresh) -> None:
    from rfedit_desktop.engine.pipeline import run_generate

    a = run_generate(fresh, "a red house", width=48, height=32, steps=3, seed=1)
    b = run_generate(fresh, "a red house", width=48, height=32, steps=3, seed=1)
    c = run_generate(fresh, "a red house", width=48, height=32, steps=3, seed=2)
    assert a.image.shape == (32, 48, 3) and a.nfe == 3
    assert np.array_equal(a.image, b.image) and not np.array_equal(a.image, c.image)
    with pytest.raises(EditError, match="width"):
        run_generate(fresh, "x", width=0, height=32)


def test_generate_accepts_the_guis_request(fresh) -> None:
    from rfedit_desktop.engine.pipeline import run_generate

    events = []
    req = request(image=picture(32, 48), prompt="a red house", steps=3, seed=1, preview_every=1)
    by_request = run_generate(fresh, req, progress=events.append)
    by_args = run_generate(fresh, "a red house", width=48, height=32, steps=3, seed=1)
    assert np.array_equal(by_request.image, by_args.image)
    assert [e.step for e in events if e.phase == "generate" and e.step] == [1, 2, 3]
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        run_generate(fresh, req, cancel=cancel)


def test_bf16_engine_runs_close_to_fp32() -> None:
    """The accelerators' dtype path (model in bf16, sampler state in float32) on the CPU."""
    from rfedit_desktop.engine.cache import InversionCache
    from rfedit_desktop.engine.pipeline import run_edit
    from rfedit_desktop.engine.session import load_engine

    out = {}
    for dtype in ("fp32", "bf16"):
        eng = load_engine("tiny", device="cpu", dtype=dtype, cache=InversionCache(use_disk=False))
        assert eng.pipe.transformer.dtype == (torch.bfloat16 if dtype == "bf16" else torch.float32)
        out[dtype] = run_edit(eng, request(image=picture(32, 32))).image.astype(int)
    diff = np.abs(out["fp32"] - out["bf16"])
    assert diff.mean() < 4.0


def test_editing_previews_show_the_clean_image_prediction(engine):
    """Mid-edit previews decode x - sigma u (the picture forming), the last one the state."""
    from rfedit_desktop.engine.preview import packed_to_rgb, rgb_projection
    from rfedit_desktop.engine.progress import Reporter

    events = []
    reporter = Reporter(engine, events.append, None, 1, 32, 32)
    g = torch.Generator().manual_seed(0)
    x, u, latent = (torch.randn(1, 4, 64, generator=g) for _ in range(3))

    def velocity(state, sigma):
        return u

    velocity.last = (x, 0.5, u)
    callback = reporter.steps("edit", velocity)
    assert callback(1, 4, latent) is False
    assert callback(4, 4, latent) is False
    factors, bias = rgb_projection(engine.latent_channels, engine.settings)
    expected_mid = packed_to_rgb(x - 0.5 * u, 4, 4, factors, bias)
    expected_end = packed_to_rgb(latent, 4, 4, factors, bias)
    assert np.array_equal(events[0].preview, expected_mid)
    assert np.array_equal(events[1].preview, expected_end)
    assert not np.array_equal(expected_mid, expected_end)
