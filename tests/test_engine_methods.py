"""RF-Solver, FireFlow and FlowEdit through run_edit on the tiny Flux: NFE, cache, masks, errors."""

from __future__ import annotations

import numpy as np
import pytest
from edit_inputs import STEPS, picture, request

from rfedit_desktop.errors import EditError

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def engine():
    from rfedit_desktop.engine.cache import InversionCache
    from rfedit_desktop.engine.session import load_engine

    return load_engine("tiny", device="cpu", cache=InversionCache(use_disk=False))


@pytest.fixture()
def fresh(engine):
    engine.cache.clear()
    return engine


def run(engine, **kw):
    from rfedit_desktop.engine.pipeline import run_edit

    return run_edit(engine, request(**kw))


@pytest.mark.parametrize(
    ("method", "first", "again"),
    [("rf-solver", 4 * STEPS, 2 * STEPS), ("fireflow", 2 * (STEPS + 1), STEPS + 1)],
)
def test_solvers_count_nfe_and_reuse_their_own_inversion(fresh, method, first, again) -> None:
    a = run(fresh, method=method)
    assert a.image.shape == (48, 64, 3) and a.metadata["method"] == method
    assert a.nfe == first and not a.cache_hit
    b = run(fresh, method=method, prompt="a blue house")
    assert b.nfe == again and b.cache_hit and b.timings["invert"] == 0.0
    # another inverter's entry is not theirs, nor theirs RF-Inversion's
    other = "fireflow" if method == "rf-solver" else "rf-solver"
    assert not run(fresh, method=other).cache_hit
    assert not run(fresh, method="ode").cache_hit


def test_solver_with_strength_inverts_part_way(fresh) -> None:
    res = run(fresh, method="rf-solver", strength=0.5)
    assert res.nfe == 4 * 2


def test_flowedit_counts_nfe_and_caches_the_source_side(fresh) -> None:
    first = run(fresh, method="flowedit", n_max=3)
    assert first.nfe == 2 * 3 and not first.cache_hit
    again = run(fresh, method="flowedit", n_max=3, prompt="a blue house")
    assert again.cache_hit and again.nfe == 3
    fresh.cache.clear()
    uncached = run(fresh, method="flowedit", n_max=3, prompt="a blue house")
    assert not uncached.cache_hit and np.array_equal(uncached.image, again.image)
    # the source side depends on n_max, n_avg and the seed
    assert not run(fresh, method="flowedit", n_max=2).cache_hit
    assert not run(fresh, method="flowedit", n_max=3, n_avg=2).cache_hit
    assert not run(fresh, method="flowedit", n_max=3, seed=5).cache_hit


def test_flowedit_default_schedule_is_the_papers(fresh) -> None:
    res = run(fresh, method="flowedit", steps=28)
    assert res.nfe == 2 * 24
    assert run(fresh, method="flowedit", steps=7, n_min=2).nfe == 2 * (6 - 2) + 2


def test_flowedit_with_the_source_prompt_as_target_returns_the_source(fresh) -> None:
    from rfedit_desktop.engine.latents import decode_latent, encode_image

    image = picture(64, 64)
    same = run(fresh, image=image, method="flowedit", prompt="a photo", source_prompt="a photo",
               guidance=2.0, source_guidance=2.0, keep_detail=False)
    round_trip = decode_latent(fresh, encode_image(fresh, image), 64, 64)
    assert np.array_equal(same.image, round_trip)
    # with keep-detail (the default) an edit that changed nothing gives back the photo itself
    kept = run(fresh, image=image, method="flowedit", prompt="a photo", source_prompt="a photo",
               guidance=2.0, source_guidance=2.0)
    assert np.array_equal(kept.image, image)
    other = run(fresh, image=image, method="flowedit", prompt="a blue sea",
                source_prompt="a photo", keep_detail=False)
    assert np.abs(other.image.astype(int) - round_trip.astype(int)).mean() > 1.0


@pytest.mark.parametrize("method", ["rf-solver", "fireflow", "flowedit"])
def test_new_methods_are_deterministic_and_keep_unmasked_pixels(fresh, method) -> None:
    image = picture(56, 64)
    mask = np.zeros((56, 64), np.uint8)
    mask[16:40, 20:44] = 255
    a = run(fresh, image=image, mask=mask, method=method, prompt="a blue sea")
    fresh.cache.clear()
    b = run(fresh, image=image, mask=mask, method=method, prompt="a blue sea")
    assert np.array_equal(a.image, b.image)
    assert np.array_equal(a.image[mask == 0], image[mask == 0])
    assert np.abs(a.image[mask > 0].astype(int) - image[mask > 0].astype(int)).mean() > 1.0


def test_run_invert_serves_the_solvers_and_refuses_flowedit(fresh) -> None:
    from rfedit_desktop.engine.pipeline import run_invert

    info = run_invert(fresh, request(method="fireflow"))
    assert info["nfe"] == STEPS + 1 and not info["cache_hit"]
    assert run(fresh, method="fireflow").nfe == STEPS + 1
    with pytest.raises(EditError, match="flowedit does not invert"):
        run_invert(fresh, request(method="flowedit"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (dict(method="flowedit", n_max=STEPS + 1), "n_max must be from 0 to steps"),
        (dict(method="flowedit", n_avg=0), "n_avg must be from 1"),
        (dict(method="flowedit", n_max=2, n_min=3), "n_min must be from 0 to n_max"),
        (dict(method="flowedit", n_max=2.0), "n_max must be a whole number"),
        (dict(method="flowedit", guidance=float("nan")), "guidance must be a finite"),
        (dict(method="flowedit", source_guidance=float("nan")), "source_guidance"),
        (dict(method="flowedit", strength=0.5), "flowedit does not use strength"),
        (dict(method="rf-inversion", n_max=3), "n_max is a FlowEdit option"),
        (dict(method="rf-solver", n_avg=2), "n_avg is a FlowEdit option"),
    ],
)
def test_bad_method_parameters_are_clear_errors(engine, change, message) -> None:
    with pytest.raises(EditError, match=message):
        run(engine, **change)
