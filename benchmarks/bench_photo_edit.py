"""Photo-scale edits: what an edit region buys over the old whole-image path, and what it costs.

    python benchmarks/bench_photo_edit.py [--steps 28] [--tables 1234]

On a real photo (scikit-image's chelsea, enlarged to 4000×3000) with a 300×300 mask, on the demo
model (64×64 budget) and on the tiny model at a 1-megapixel budget:

1. the model's scale (model pixels per image pixel) of the region edit vs the old path, which
   showed the model the whole photo, and the sharpness inside the mask (variance of the
   Laplacian) relative to the original's, with and without keep-detail;
2. the identity edit (η = 1 over every step, which returns the input latent exactly) of the whole
   photo: PSNR against the original with and without keep-detail;
3. crop + stitch wall time against the edit's on a 24-megapixel photo (6000×4000);
4. the context margin sweep on the demo model's own world (a red circle in a big blue picture,
   recoloured to green under a mask): the scale and how well the edit lands for each margin.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rfedit_desktop.engine import images, region  # noqa: E402
from rfedit_desktop.engine.cache import InversionCache  # noqa: E402
from rfedit_desktop.engine.pipeline import run_edit  # noqa: E402
from rfedit_desktop.engine.prepare import FEATHER_FRACTION, edit_weight, pixel_budget  # noqa: E402
from rfedit_desktop.engine.request import EditRequest  # noqa: E402
from rfedit_desktop.engine.session import load_engine  # noqa: E402

EDIT = dict(eta=0.9, start=0.0, stop=0.25, strength=0.7, seed=0, preview_every=0)


def photo(width: int, height: int) -> np.ndarray:
    from skimage import data

    im = Image.fromarray(data.chelsea()).resize((width, height), Image.Resampling.BICUBIC)
    return np.asarray(im)


def square_mask(width: int, height: int, x: int, y: int, side: int) -> np.ndarray:
    m = np.zeros((height, width), np.uint8)
    m[y:y + side, x:x + side] = 255
    return m


def laplacian_variance(rgb: np.ndarray, box: tuple[int, int, int, int]) -> float:
    """Variance of the Laplacian of the grey image inside `box` (x, y, w, h)."""
    x, y, w, h = box
    g = rgb[y - 1:y + h + 1, x - 1:x + w + 1].astype(np.float64).mean(axis=2)
    lap = g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:] - 4 * g[1:-1, 1:-1]
    return float(lap.var())


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def engines() -> list[tuple[str, object, float]]:
    cache = InversionCache(use_disk=False)
    return [("demo", load_engine("demo", device="cpu", cache=cache), 1.0),
            ("tiny @ 1 MP", load_engine("tiny", device="cpu", cache=cache), 1.0)]


def region_table(models, image, mask, steps: int, prompt: dict[str, str]) -> None:
    h0, w0 = image.shape[:2]
    b = region.mask_box(mask)
    # the mask's core, where the feathered weight is 1: the edit alone, no blend with the photo
    margin = 2 * max(2, round(FEATHER_FRACTION * min(h0, w0)))
    core = (b.x + margin, b.y + margin, b.w - 2 * margin, b.h - 2 * margin)
    sharp0 = laplacian_variance(image, core)
    print(f"\n1. 300×300 masked region of a {w0}×{h0} photo: region edit vs the old whole-image "
          "path\n")
    print(f"Sharpness: variance of the Laplacian in the mask's {core[2]}×{core[3]} core "
          "(where the result is the edit's alone) relative to the original's there.\n")
    print("| model | path | model sees | model size | scale | scale ratio | sharpness in mask "
          "(keep-detail off / on) |")
    print("|---|---|---|---|---:|---:|---|")
    for name, engine, mp in models:
        rows = {}
        for path, reg in (("old: whole image", (0, 0, w0, h0)), ("region", None)):
            sharp = []
            for keep in (False, True):
                req = EditRequest(image=image, mask=mask, prompt=prompt[name], steps=steps,
                                  max_megapixels=mp, region=reg, keep_detail=keep, **EDIT)
                result = run_edit(engine, req)
                sharp.append(laplacian_variance(result.image, core) / sharp0)
            rows[path] = (result.metadata, sharp)
        old = rows["old: whole image"][0]["scale"]
        for path, (meta, sharp) in rows.items():
            b = meta["region"]
            ratio = meta["scale"] / old
            print(f"| {name} | {path} | {b[2]}×{b[3]} | {meta['model_size'][0]}×"
                  f"{meta['model_size'][1]} | {meta['scale']:.4f} | {ratio:.1f}× | "
                  f"{sharp[0]:.3f} / {sharp[1]:.3f} |")


def identity_table(models, image, steps: int) -> None:
    h0, w0 = image.shape[:2]
    print(f"\n2. identity edit (η = 1 over every step) of the whole {w0}×{h0} photo: PSNR "
          "against the original\n")
    print("| model | keep-detail off | keep-detail on |")
    print("|---|---:|---:|")
    for name, engine, mp in models:
        out = []
        for keep in (False, True):
            req = EditRequest(image=image, prompt="a large green heart on a white background",
                              eta=1.0, start=0.0, stop=1.0, steps=steps, max_megapixels=mp,
                              keep_detail=keep, preview_every=0)
            out.append(psnr(run_edit(engine, req).image, image))
        print(f"| {name} | {out[0]:.1f} dB | {out[1]:.1f} dB |")


def crop_seconds(engine, image: np.ndarray, mask: np.ndarray, mp: float) -> float:
    """The crop's share of `prepare`: planning, resampling the box, feathering its mask."""
    h0, w0 = image.shape[:2]
    t = time.perf_counter()
    m = mask.astype(np.float32) / 255.0 if mask is not None else None
    plan = region.plan_region(w0, h0, pixel_budget(engine, mp), engine.size_multiple, mask=m)
    rows, cols = plan.box.slices()
    images.to_model_size(image[rows, cols], plan.model_height, plan.model_width)
    if m is not None:
        edit_weight(m[rows, cols], max(2, round(FEATHER_FRACTION * min(h0, w0))))
    return time.perf_counter() - t


def timing_table(models, steps: int, prompt: dict[str, str]) -> None:
    image = photo(6000, 4000)
    mask = square_mask(6000, 4000, 2800, 1800, 300)
    print("\n3. crop + stitch vs the whole edit on a 24-megapixel photo (6000×4000), seconds\n")
    print("| model | edit | crop | stitch (keep-detail on) | whole edit | crop + stitch share |")
    print("|---|---|---:|---:|---:|---:|")
    for name, engine, mp in models:
        for label, m in (("300×300 mask", mask), ("whole image", None)):
            engine.cache.clear()
            req = EditRequest(image=image, mask=m, prompt=prompt[name], steps=steps,
                              max_megapixels=mp, **EDIT)
            t = time.perf_counter()
            result = run_edit(engine, req)
            total = time.perf_counter() - t
            crop = crop_seconds(engine, image, m, mp)
            stitch = result.timings["stitch"]
            print(f"| {name} | {label} | {crop:.3f} | {stitch:.3f} | {total:.2f} | "
                  f"{100 * (crop + stitch) / total:.1f} % |")


def context_table(steps: int) -> None:
    from rfedit_desktop.demo.dataset import COLOURS, Scene, object_mask, render

    engine = load_engine("demo", device="cpu", cache=InversionCache(use_disk=False))
    side = 3000
    scene = Scene("circle", "red", "blue", "large", "plain", 0.5, 0.5, 0.1)
    image = render(scene, side, supersample=1)
    shape = object_mask(scene, side, supersample=1) > 0.5
    paint = object_mask(Scene("circle", "red", "blue", "large", "plain", 0.5, 0.5, 0.12), side,
                        supersample=1)  # the artist's mask: a little beyond the object
    ring = (paint > 0) & ~shape
    green, red = np.array(COLOURS["green"], float), np.array(COLOURS["red"], float)
    box = region.mask_box(paint)
    print(f"\n4. context margin on the demo model: a red circle {box.w} px across in a "
          f"{side}×{side} blue picture, masked and recoloured green\n")
    print("Shape pixels turned green (higher is better) / mean change of the blue ring inside "
          "the mask (lower is better), per prompt.\n")
    prompts = ("a large green circle on a blue background",
               "a small green circle on a blue background")
    print("| context | edit area | scale | " + " | ".join(f"“{p}”" for p in prompts) + " |")
    print("|---|---|---:|---:|---:|")
    for label, fraction in (("0", 0.0), ("0.125 × box", 0.125), ("0.25 × box", 0.25),
                            ("0.5 × box", 0.5), ("1 × box", 1.0), ("whole image", None)):
        if fraction is None:
            kw = dict(region=(0, 0, side, side))
        else:
            kw = dict(context=round(fraction * max(box.w, box.h)))
        cells = []
        for prompt in prompts:
            req = EditRequest(image=image, mask=paint, prompt=prompt, steps=steps, **EDIT, **kw)
            result = run_edit(engine, req)
            px = result.image[shape].astype(float)
            greener = (np.linalg.norm(px - green, axis=1)
                       < np.linalg.norm(px - red, axis=1)).mean()
            kept = np.abs(result.image[ring].astype(float) - image[ring].astype(float)).mean()
            cells.append(f"{100 * greener:.0f} % / {kept:.1f}")
        b = result.metadata["region"]
        print(f"| {label} | {b[2]}×{b[3]} | {result.metadata['scale']:.4f} | "
              + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=28)
    parser.add_argument("--tables", default="1234", help="which tables to print (default 1234)")
    args = parser.parse_args()
    import torch

    torch.manual_seed(0)
    models = engines() if set(args.tables) & set("123") else []
    prompt = {"demo": "a large green circle on a blue background",
              "tiny @ 1 MP": "a red house"}
    image = photo(4000, 3000)
    mask = square_mask(4000, 3000, 1850, 1250, 300)
    if "1" in args.tables:
        region_table(models, image, mask, args.steps, prompt)
    if "2" in args.tables:
        identity_table(models, image, args.steps)
    if "3" in args.tables:
        timing_table(models, args.steps, prompt)
    if "4" in args.tables:
        context_table(args.steps)


if __name__ == "__main__":
    main()
