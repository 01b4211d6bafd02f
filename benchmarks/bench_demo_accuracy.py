"""How often the demo model draws what the prompt asks for, read by the demo classifier.

    python benchmarks/bench_demo_accuracy.py [--model-dir DIR] [--threads 1]

240 pictures through the engine's `run_generate` (the app's path; 64x64, 28 steps, guidance 1):
5 shapes x 8 colour/background pairs x 2 sizes x seeds 0-2. Each caption's scene is what the
classifier of rfedit_desktop/demo/features.py (trained on clean renders) should read back;
prints the fraction read right per attribute (the README's figures) and per shape.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rfedit_desktop.demo.dataset import COLOURS, SHAPES, STYLES, Scene  # noqa: E402
from rfedit_desktop.demo.features import accuracy, default_path, load_classifier  # noqa: E402

SIZES = ("small", "large")
SEEDS = (0, 1, 2)
COLOUR_NAMES = tuple(COLOURS)
# every colour once as the object and once as the background, styles alternating
PAIRS: tuple[tuple[str, str, str], ...] = tuple(
    (COLOUR_NAMES[i], COLOUR_NAMES[(i + 3) % len(COLOUR_NAMES)], STYLES[i % 2])
    for i in range(len(COLOUR_NAMES))
)


def scenes() -> list[tuple[Scene, int]]:
    """The 240 (scene, seed) pairs, in a fixed order."""
    return [
        (Scene(shape, colour, background, size, style), seed)
        for shape in SHAPES
        for colour, background, style in PAIRS
        for size in SIZES
        for seed in SEEDS
    ]


def main(argv: list[str] | None = None) -> int:
    import torch

    from rfedit_desktop.demo.runtime import load_demo_engine
    from rfedit_desktop.engine.pipeline import run_generate

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model-dir", type=Path, default=None, help="default: the shipped demo model")
    ap.add_argument("--classifier", type=Path, default=None)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    engine = load_demo_engine(args.model_dir)
    net = load_classifier(args.classifier or default_path())
    cases = scenes()
    images = np.stack([
        run_generate(engine, scene.caption, width=64, height=64, steps=28, guidance=1.0,
                     seed=seed).image
        for scene, seed in cases
    ])
    targets = [scene for scene, _ in cases]
    acc = accuracy(net, images, targets)
    print(f"{len(cases)} generated samples ({len(SHAPES)} shapes x {len(PAIRS)} colour/background "
          f"pairs x {len(SIZES)} sizes x seeds {SEEDS[0]}-{SEEDS[-1]}), "
          f"{time.perf_counter() - t0:.0f} s")
    print(f"read right: shape {acc['shape']:.0%}, colour {acc['colour']:.0%}, "
          f"background {acc['background']:.0%}, all three {acc['all']:.0%}")
    per_shape = []
    for shape in SHAPES:
        idx = [i for i, s in enumerate(targets) if s.shape == shape]
        part = accuracy(net, images[idx], [targets[i] for i in idx], keys=("shape",))
        per_shape.append(f"{shape} {part['shape']:.2f}")
    print("shape read right, per shape: " + ", ".join(per_shape))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
