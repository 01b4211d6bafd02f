"""The VRAM planner on paper: its estimates for FLUX.1-dev at 1024² against the published peaks,
and the mode it picks on 8, 12, 16, 24 and 80 GiB cards.

    python benchmarks/bench_memory_plan.py

No GPU and no weights: FLUX.1-dev's parameter counts come from its public configs
(`engine/flux_sizes.py`, counted on torch's meta device).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rfedit_desktop.engine.flux_sizes import (  # noqa: E402
    GGUF_Q4_1_BYTES,
    PUBLISHED_PEAKS,
    flux1_dev_shape,
)
from rfedit_desktop.engine.memory_plan import GIB, estimate_peak, make_plan  # noqa: E402


def main() -> int:
    dev, gguf = flux1_dev_shape(), flux1_dev_shape(gguf_bytes=GGUF_Q4_1_BYTES)
    print("| mode | published GiB | estimate GiB | difference |")
    print("|---|---|---|---|")
    for (q, o), published in PUBLISHED_PEAKS.items():
        est = estimate_peak(gguf if q == "gguf" else dev, q, o, 1024, 1024) / GIB
        print(f"| {q}/{o} | {published:.1f} | {est:.1f} | {est - published:+.1f} |")
    print()
    print("| card | chosen (safetensors) | chosen (NF4 asked) | chosen (GGUF Q4_1 file) |")
    print("|---|---|---|---|")
    for gb in (8, 12, 16, 24, 80):
        a = make_plan(dev, gb * GIB, "cuda")
        b = make_plan(dev, gb * GIB, "cuda", quantization="nf4")
        c = make_plan(gguf, gb * GIB, "cuda", "gguf")
        cells = [f"{p.choice.label} ({p.choice.peak_bytes / GIB:.1f})"
                 + (" - nothing fits" if p.note else "") for p in (a, b, c)]
        print(f"| {gb} GiB | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
