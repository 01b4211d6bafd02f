"""The pictures in the README: what the demo model generates and how RF-Inversion edits with it.

    python -m rfedit_desktop.demo.showcase [--model-dir DIR] [--out resources/demo]

Writes samples.png (a caption grid generated through the engine), strokes.png (rough strokes
turned into clean scenes with the paper's stroke-to-image preset, next to SDEdit at the same
cost) and edits.png (prompt edits of clean scenes: colour, shape, background, size). Every
picture goes through `run_generate` / `run_edit`, the same path as the GUI and the CLI.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from PIL import Image

from .dataset import Scene, render
from .figures import grid
from .strokes import stroke_set

SAMPLE_COLUMNS: list[tuple[str, str, str]] = [
    ("red", "blue", "plain"),
    ("yellow", "black", "plain"),
    ("green", "white", "plain"),
    ("blue", "yellow", "plain"),
    ("white", "purple", "gradient"),
    ("orange", "green", "gradient"),
]
SHAPE_ROWS = ("circle", "square", "triangle", "star", "heart")

# (scene, new prompt, what changed): colour, shape, background and size edits
EDITS: list[tuple[Scene, str]] = [
    (
        Scene("circle", "red", "blue", "large", "plain", 0.45, 0.5, 0.28),
        "a large green circle on a blue background",
    ),
    (
        Scene("circle", "red", "blue", "large", "plain", 0.45, 0.5, 0.28),
        "a large red square on a blue background",
    ),
    (
        Scene("circle", "red", "blue", "large", "plain", 0.45, 0.5, 0.28),
        "a large red circle on a yellow background",
    ),
    (
        Scene("star", "yellow", "black", "large", "plain", 0.55, 0.45, 0.3),
        "a large purple star on a black background",
    ),
    (
        Scene("star", "yellow", "black", "large", "plain", 0.55, 0.45, 0.3),
        "a large yellow heart on a black background",
    ),
    (
        Scene("square", "white", "green", "large", "gradient", 0.5, 0.55, 0.27),
        "a large white square on a blue gradient background",
    ),
    (
        Scene("triangle", "blue", "white", "large", "plain", 0.5, 0.5, 0.3),
        "a large blue star on a white background",
    ),
    (
        Scene("heart", "purple", "orange", "small", "plain", 0.4, 0.4, 0.16),
        "a large purple heart on a orange background",
    ),
]

def samples(engine: Any, seed: int = 0) -> Image.Image:
    from ..engine import run_generate

    cells = []
    for shape in SHAPE_ROWS:
        row = []
        for colour, bg, style in SAMPLE_COLUMNS:
            cap = Scene(shape, colour, bg, "large", style).caption
            res = run_generate(engine, cap, width=64, height=64, steps=28, guidance=1.0, seed=seed)
            row.append(res.image)
        cells.append(row)
    labels = [f"{c} on {b}{' gradient' if s == 'gradient' else ''}" for c, b, s in SAMPLE_COLUMNS]
    return grid(cells, labels, [f"{s}" for s in SHAPE_ROWS])


def stroke_figure(engine: Any, n: int = 8, seed: int = 77) -> Image.Image:
    """Rough strokes (never seen by the benchmark) under three settings of equal cost (56
    model evaluations): the paper's stroke preset, RF-Inversion truncated at strength 0.7
    (the benchmark's best setting) and SDEdit at strength 0.7."""
    from ..engine import EditRequest, run_edit
    from .tradeoff import RF_TRUNCATED, default_settings

    truncated = next(
        s for s in default_settings() if s.method == RF_TRUNCATED and s.value == 0.7
    ).fields
    settings = [
        dict(eta=0.9, start=3 / 28, stop=5 / 28),
        truncated,
        dict(method="sdedit", strength=0.7, steps=80),
    ]
    strokes, clean, scenes = stroke_set(n, seed)
    cells = []
    for i in range(n):
        row = [strokes[i]]
        for fields in settings:
            req = EditRequest(
                image=strokes[i], prompt=scenes[i].caption, seed=i, guidance=1.0, **fields
            )
            row.append(run_edit(engine, req).image)
        cells.append(row + [clean[i]])
    cols = [
        "strokes (input)",
        "RF-Inv. preset 3-5",
        "RF-Inv. s=.7 eta .9",
        "SDEdit s=.7",
        "scene drawn from",
    ]
    return grid(cells, cols)


def _short(prompt: str) -> str:
    """'a large green circle on a blue background' -> 'green circle on blue'."""
    words = [w for w in prompt.split() if w not in ("a", "large", "background")]
    return " ".join(words)


def edit_figure(engine: Any, preset: dict[str, float]) -> Image.Image:
    """Pairs of (clean scene, RF-Inversion edit under a new prompt), two rows."""
    from ..engine import EditRequest, run_edit

    pairs, labels = [], []
    for i, (scene, prompt) in enumerate(EDITS):
        src = render(scene)
        req = EditRequest(image=src, prompt=prompt, seed=i, guidance=1.0, **preset)
        pairs.append([src, run_edit(engine, req).image])
        labels += [_short(scene.caption), "-> " + _short(prompt)]
    half = (len(pairs) + 1) // 2
    rows = [sum(pairs[r * half : (r + 1) * half], []) for r in range(2)]
    top = grid(rows[:1], labels[: 2 * half])
    bottom = grid(rows[1:], labels[2 * half :])
    out = Image.new("RGB", (top.width, top.height + bottom.height))
    out.paste(top, (0, 0))
    out.paste(bottom, (0, top.height))
    return out


def main(argv: list[str] | None = None) -> int:
    import torch

    from .runtime import load_demo_engine

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model-dir", type=Path, default=None, help="default: the shipped demo model")
    ap.add_argument("--out", type=Path, default=Path("resources/demo"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--eta", type=float, default=1.0)
    ap.add_argument("--start", type=float, default=0.0)
    ap.add_argument("--stop", type=float, default=5 / 28)
    ap.add_argument("--only", choices=("samples", "strokes", "edits"), default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    engine = load_demo_engine(args.model_dir)
    args.out.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    if args.only in (None, "samples"):
        samples(engine).save(args.out / "samples.png")
    if args.only in (None, "strokes"):
        stroke_figure(engine).save(args.out / "strokes.png")
    if args.only in (None, "edits"):
        preset = dict(eta=args.eta, start=args.start, stop=args.stop)
        edit_figure(engine, preset).save(args.out / "edits.png")
    print(f"wrote pictures to {args.out} in {time.perf_counter() - t:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
