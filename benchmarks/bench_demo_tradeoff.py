"""The paper's Table 1 on the demo model: RF-Inversion vs SDEdit vs ODE inversion, stroke-to-image.

    python benchmarks/bench_demo_tradeoff.py [--inputs 32] [--model-dir DIR] [--out resources/demo]

Writes tradeoff.md (table + verdict), tradeoff.json and tradeoff.png (faithfulness vs realism
curves) into --out, and prints the time of one full demo edit (28 inversion + 28 editing
steps). The method and its metrics are described in rfedit_desktop/demo/tradeoff.py.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rfedit_desktop.demo import tradeoff  # noqa: E402
from rfedit_desktop.demo.features import default_path, load_classifier  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    import torch

    from rfedit_desktop.demo.runtime import load_demo_engine
    from rfedit_desktop.engine.cache import InversionCache

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model-dir", type=Path, default=None, help="default: the shipped demo model")
    ap.add_argument("--inputs", type=int, default=32)
    ap.add_argument("--reference", type=int, default=512)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path("resources/demo"))
    ap.add_argument("--classifier", type=Path, default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        cache = InversionCache(folder=tmp, use_disk=False)
        engine = load_demo_engine(args.model_dir, cache=cache)
        net = load_classifier(args.classifier or default_path())
        timing = tradeoff.time_full_edit(engine)
        print(
            f"one full demo edit ({timing['steps']} inversion + {timing['steps']} editing "
            f"steps, NFE {timing['nfe']}): {timing['seconds']:.2f} s on this CPU "
            f"({timing['threads']} thread(s))"
        )
        result = tradeoff.run_benchmark(engine, net, args.inputs, args.reference)
    tradeoff.save_result(result, timing, args.out)
    print()
    print(tradeoff.markdown_table(result, timing))
    print(
        f"wrote {args.out / 'tradeoff.md'}, tradeoff.json, tradeoff.png "
        f"in {time.perf_counter() - t0:.0f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
