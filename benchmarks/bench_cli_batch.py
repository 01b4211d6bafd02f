"""A batch of demo edits: one `rfedit-cli edit ... --out-dir` process vs one process per image.

Both runs edit the same demo scenes under the same prompt with the demo model, each with an
empty inversion cache of its own, and must write identical pictures; the difference is the
model load (and the imports of torch and diffusers) that the single process pays once.

    python benchmarks/bench_cli_batch.py [--n 20] [--steps 28]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from rfedit_desktop.demo.dataset import make_dataset

PROMPT = "a large red circle on a blue background"


def run(args: list[str], env: dict[str, str]) -> float:
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "rfedit_desktop.cli", *args],
                          capture_output=True, text=True, env=env, timeout=3600)
    if proc.returncode != 0:
        raise SystemExit(f"rfedit-cli failed (rc {proc.returncode}):\n{proc.stderr}")
    return time.perf_counter() - t


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20, help="images in the batch (20)")
    parser.add_argument("--steps", type=int, default=28, help="steps per edit (28)")
    opts = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="rfedit-bench-batch-"))
    pictures, _ = make_dataset(opts.n, seed=0)
    inputs = []
    for i, rgb in enumerate(pictures):
        inputs.append(root / "in" / f"scene{i:02d}.png")
        inputs[-1].parent.mkdir(exist_ok=True)
        Image.fromarray(rgb).save(inputs[-1])
    common = ["--prompt", PROMPT, "--model", "demo", "--steps", str(opts.steps), "--quiet"]

    def env_for(name: str) -> dict[str, str]:
        env = dict(os.environ, TRANSFORMERS_VERBOSITY="error", DIFFUSERS_VERBOSITY="error")
        for kind in ("CACHE", "DATA", "CONFIG"):
            env[f"RFEDIT_{kind}_DIR"] = str(root / name / kind.lower())
        return env

    batch_dir, single_dir = root / "batch", root / "single"
    batch_dir.mkdir()
    single_dir.mkdir()
    batch = run(["edit", *map(str, inputs), "--out-dir", str(batch_dir), *common],
                env_for("batch-state"))
    single_env = env_for("single-state")
    singles = sum(run(["edit", str(p), "--out", str(single_dir / p.name), *common], single_env)
                  for p in inputs)
    same = all(np.array_equal(np.asarray(Image.open(batch_dir / p.name)),
                              np.asarray(Image.open(single_dir / p.name))) for p in inputs)
    print(f"rfedit-cli edit, {opts.n} demo scenes, {opts.steps} steps, demo model, "
          f"{os.cpu_count()} CPUs")
    print(f"{'run':<44}{'seconds':>9}{'per edit':>10}")
    print(f"{'one process, --out-dir (model loads once)':<44}{batch:>9.1f}{batch / opts.n:>10.2f}")
    print(f"{f'{opts.n} processes, one --out each':<44}{singles:>9.1f}{singles / opts.n:>10.2f}")
    print(f"ratio (processes / one process): {singles / batch:.1f}x; "
          f"identical pictures: {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
