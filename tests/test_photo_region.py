"""Photo-scale edits on real photos (scikit-image's samples, enlarged to camera sizes): the edit
runs on the mask's box plus context at the model's resolution, nothing outside the mask changes,
the cache works per region, and an edit that changes nothing keeps the photo's detail."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from rfedit_desktop.engine import images, region
from rfedit_desktop.engine.request import EditRequest
from rfedit_desktop.errors import EditError

data = pytest.importorskip("skimage.data")
torch = pytest.importorskip("torch")

STEPS = 3


def photo(name: str, width: int, height: int) -> np.ndarray:
    """A bundled sample photo (astronaut, chelsea, coffee) enlarged to a camera's size."""
    rgb = getattr(data, name)()
    return np.asarray(Image.fromarray(rgb).resize((width, height), Image.Resampling.BICUBIC))


def square_mask(width: int, height: int, x: int, y: int, side: int) -> np.ndarray:
    m = np.zeros((height, width), np.uint8)
    m[y:y + side, x:x + side] = 255
    return m


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


@pytest.fixture(scope="module")
def tiny():
    from rfedit_desktop.engine.cache import InversionCache
    from rfedit_desktop.engine.session import load_engine

    return load_engine("tiny", device="cpu", cache=InversionCache(use_disk=False))


# -- geometry (no model) -------------------------------------------------------------------------
def test_plan_is_the_mask_box_plus_context_clipped_to_the_image() -> None:
    mask = square_mask(4000, 3000, 3850, 100, 120)  # near the top-right corner
    plan = region.plan_region(4000, 3000, 1_000_000, 16, mask=mask, context=64)
    assert plan.box == region.Box(3786, 36, 214, 248) and plan.context == 64
    # a small box is upsampled to fill the model's budget, aspect kept
    assert plan.model_width * plan.model_height <= 1_000_000
    assert plan.model_width * plan.model_height > 0.9 * 1_000_000
    assert abs(plan.model_width / plan.model_height - 214 / 248) < 0.03
    assert plan.scale > 3.5
    auto = region.plan_region(4000, 3000, 1_000_000, 16, mask=mask)
    assert auto.context == max(region.MIN_AUTO_CONTEXT,
                               round(region.AUTO_CONTEXT_FRACTION * 120))


def test_whole_image_is_only_ever_shrunk_and_a_region_is_taken_as_given() -> None:
    whole = region.plan_region(300, 200, 1_000_000, 16)
    assert whole.whole and (whole.model_width, whole.model_height) == (288, 192)
    given = region.plan_region(4000, 3000, 4096, 16, region=(812, 100, 812, 640))
    assert given.box == region.Box(812, 100, 812, 640) and given.context == 0
    assert given.describe() == (f"edit area 812×640 → model {given.model_width}×"
                                f"{given.model_height} ({given.scale:.2f}×)")


@pytest.mark.parametrize(
    ("value", "words"),
    [((0, 0, 0, 10), "positive size"), ((-1, 0, 10, 10), "inside"),
     ((3990, 0, 20, 20), "inside"), ((5000, 5000, 10, 10), "inside"),
     ((1, 2, 3), "four whole numbers"), ((1.5, 2, 3, 4), "four whole numbers"),
     ("1,2,3,4", "four whole numbers")],
)
def test_bad_regions_are_refused(value, words) -> None:
    with pytest.raises(EditError, match=words):
        region.check_region(value, 4000, 3000)


@pytest.mark.parametrize("value", [-1, 10**9, 2.5, True, "8"])
def test_bad_contexts_are_refused(value) -> None:
    with pytest.raises(EditError, match="context"):
        region.check_context(value)


def test_parse_region() -> None:
    assert region.parse_region(" 1, 2,3 ,4") == (1, 2, 3, 4)
    for bad in ("1,2,3", "a,b,c,d", "1,2,3,4,5", "1.5,2,3,4"):
        with pytest.raises(EditError, match="four whole numbers"):
            region.parse_region(bad)


def test_keep_detail_returns_the_original_where_the_edit_matches_the_reconstruction() -> None:
    original = photo("coffee", 900, 600)
    model = images.to_model_size(original, 96, 144)
    box = region.Box(0, 0, 900, 600)
    kept = region.back_to_box(model, box, original, model)
    assert np.array_equal(kept, original)
    blurred = region.back_to_box(model, box)
    assert psnr(blurred, original) < 30
    # where the edit really changed the picture, the edit wins
    changed = model.copy()
    changed[20:60, 30:90] = (255, 0, 0)
    out = region.back_to_box(changed, box, original, model)
    assert np.abs(out[200:340, 250:540].astype(int) - (255, 0, 0)).max() <= 2


# -- run_edit on real photos ----------------------------------------------------------------------
@pytest.mark.parametrize("name", ["astronaut", "chelsea", "coffee"])
def test_masked_region_edit_changes_nothing_outside_the_mask(tiny, name) -> None:
    from rfedit_desktop.engine.pipeline import run_edit

    tiny.cache.clear()
    image = photo(name, 4000, 3000)
    mask = square_mask(4000, 3000, 1800, 1200, 300)
    result = run_edit(tiny, EditRequest(image=image, mask=mask, prompt="a red house",
                                        steps=STEPS, eta=0.0, max_megapixels=0.05,
                                        preview_every=0))
    outside = mask == 0
    assert np.array_equal(result.image[outside], image[outside])
    inside = mask > 0
    assert np.abs(result.image[inside].astype(int) - image[inside].astype(int)).mean() > 1.0
    meta = result.metadata
    context = meta["context"]
    assert context == region.auto_context(region.Box(1800, 1200, 300, 300))
    assert meta["region"] == [1800 - context, 1200 - context, 300 + 2 * context,
                              300 + 2 * context]
    w, h = meta["model_size"]
    # the model sees the region at its budget, not the whole photo at 0.05 MP
    old_scale = np.sqrt(0.05e6 / (4000 * 3000))
    assert meta["scale"] == pytest.approx(np.sqrt(w * h / (300 + 2 * context) ** 2), abs=1e-3)
    assert meta["scale"] > 5 * old_scale
    assert meta["keep_detail"] is True


def test_same_region_new_prompt_is_a_cache_hit_another_region_a_miss(tiny) -> None:
    from rfedit_desktop.engine.pipeline import run_edit

    tiny.cache.clear()
    image = photo("chelsea", 3000, 2000)
    mask = square_mask(3000, 2000, 600, 500, 200)

    def edit(prompt: str, m: np.ndarray) -> object:
        return run_edit(tiny, EditRequest(image=image, mask=m, prompt=prompt, steps=STEPS,
                                          max_megapixels=0.05, preview_every=0))

    first = edit("a red house", mask)
    assert not first.cache_hit and first.nfe == 2 * STEPS
    again = edit("a blue sea", mask)
    assert again.cache_hit and again.nfe == STEPS
    assert again.metadata["region"] == first.metadata["region"]
    other = edit("a blue sea", square_mask(3000, 2000, 2000, 1200, 200))
    assert not other.cache_hit and other.nfe == 2 * STEPS


def test_explicit_region_without_mask_pastes_into_that_area_only(tiny) -> None:
    from rfedit_desktop.engine.pipeline import run_edit

    image = photo("astronaut", 2400, 1600)
    result = run_edit(tiny, EditRequest(image=image, prompt="a red house", steps=STEPS,
                                        eta=0.0, region=(100, 200, 640, 480),
                                        max_megapixels=0.05, preview_every=0))
    assert result.metadata["region"] == [100, 200, 640, 480]
    changed = np.any(result.image != image, axis=2)
    ys, xs = np.nonzero(changed)
    assert ys.min() >= 200 and ys.max() < 680 and xs.min() >= 100 and xs.max() < 740
    assert changed[200:680, 100:740].mean() > 0.5


@pytest.mark.parametrize(
    ("change", "words"),
    [(dict(region=(0, 0, 0, 5)), "positive size"), (dict(region=(2000, 0, 500, 10)), "inside"),
     (dict(region=(1, 2, 3)), "four whole numbers"), (dict(context=-4), "context"),
     (dict(context=10**7), "context"), (dict(mask=np.zeros((10, 10), np.uint8)), "mask is 10×10"),
     (dict(keep_detail="yes"), "keep_detail")],
)
def test_bad_region_input_is_a_clear_error(tiny, change, words) -> None:
    from rfedit_desktop.engine.pipeline import run_edit

    image = photo("coffee", 2400, 1600)
    before = image.copy()
    with pytest.raises(EditError, match=words):
        run_edit(tiny, EditRequest(image=image, prompt="x", steps=STEPS, preview_every=0,
                                   **change))
    assert np.array_equal(image, before)


# -- the identity property, with the demo model's trained VAE ------------------------------------
def test_identity_edit_keeps_the_photos_detail() -> None:
    from rfedit_desktop.demo.runtime import load_demo_engine
    from rfedit_desktop.engine.pipeline import run_edit

    engine = load_demo_engine()
    image = photo("astronaut", 2048, 1536)

    def identity(keep: bool) -> np.ndarray:
        req = EditRequest(image=image, prompt="a large green heart on a white background",
                          eta=1.0, start=0.0, stop=1.0, steps=6, keep_detail=keep,
                          preview_every=0)
        return run_edit(engine, req).image

    kept, lost = psnr(identity(True), image), psnr(identity(False), image)
    assert kept >= 35.0
    assert lost < 30.0 and kept - lost > 10.0


# -- the command line ---------------------------------------------------------------------------
def _cli_json(capsys) -> dict:
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1, out
    return json.loads(out[0])


def test_cli_reports_the_region_and_records_it(tmp_path, capsys) -> None:
    from rfedit_desktop.cli import main
    from rfedit_desktop.engine.images import read_png_params

    src, mask_path, out = tmp_path / "in.png", tmp_path / "mask.png", tmp_path / "out.png"
    Image.fromarray(photo("coffee", 2400, 1600)).save(src)
    Image.fromarray(square_mask(2400, 1600, 2250, 40, 120)).save(mask_path)
    args = ["edit", str(src), "--prompt", "a red house", "--out", str(out), "--mask",
            str(mask_path), "--context", "100", "--max-megapixels", "0.05", "--model", "tiny",
            "--steps", str(STEPS), "--quiet", "--json"]
    assert main(args) == 0
    report = _cli_json(capsys)
    assert report["region"] == [2150, 0, 250, 260]  # box + 100, clipped at the top and right
    w, h = report["model_size"]
    assert report["scale"] == pytest.approx(np.sqrt(w * h / (250 * 260)), abs=1e-3)
    params = read_png_params(out)
    assert params["region"] == [2150, 0, 250, 260] and params["context"] == 100
    assert params["model_size"] == [w, h] and params["keep_detail"] is True
    assert main([*args, "--no-keep-detail", "--region", "0,0,640,480"]) == 0
    report = _cli_json(capsys)
    assert report["region"] == [0, 0, 640, 480] and report["keep_detail"] is False


@pytest.mark.parametrize(
    ("extra", "words"),
    [(["--region", "1,2,3"], "four whole numbers"), (["--region", "0,0,0,10"], "positive"),
     (["--region", "5000,0,10,10"], "inside"), (["--context", "-3"], "context"),
     (["--context", "999999999"], "context"), (["--mask", "SMALL"], "mask is 32×32")],
)
def test_cli_bad_region_input_exits_2(tmp_path, capsys, extra, words) -> None:
    from rfedit_desktop.cli import main

    src, out = tmp_path / "in.png", tmp_path / "out.png"
    Image.fromarray(photo("chelsea", 640, 480)).save(src)
    small = tmp_path / "small.png"
    Image.fromarray(np.full((32, 32), 255, np.uint8)).save(small)
    extra = [str(small) if e == "SMALL" else e for e in extra]
    code = main(["edit", str(src), "--prompt", "x", "--out", str(out), "--model", "tiny",
                 "--quiet", *extra])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and words in err[0]
    assert not out.exists()
