"""Time from process launch to the main window shown, and proof that torch is not loaded.

Runs `python -m rfedit_desktop --timing --quit-after-show` several times in fresh processes
(offscreen unless a display is available) and prints a table: p50 / min / max of launch → shown,
and which heavy modules (torch, diffusers, transformers) were imported by then.

    python benchmarks/bench_startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

LINE = re.compile(r"window shown after (\d+) ms; heavy modules loaded: (.*)")


def one_run(env: dict[str, str]) -> tuple[float, float, str]:
    env = dict(env, RFEDIT_LAUNCH_TIME=repr(time.time()))
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "rfedit_desktop", "--timing", "--quit-after-show", "--no-recover"],
        capture_output=True, text=True, env=env, timeout=120)
    total = (time.perf_counter() - t0) * 1000
    match = LINE.search(out.stdout)
    if out.returncode != 0 or not match:
        raise SystemExit(f"run failed (rc {out.returncode}):\n{out.stdout}\n{out.stderr}")
    return float(match.group(1)), total, match.group(2).strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="rfedit-bench-")
    env = dict(os.environ)
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        env.setdefault("QT_QPA_PLATFORM", "offscreen")
    for kind in ("CACHE", "DATA", "CONFIG"):
        env[f"RFEDIT_{kind}_DIR"] = os.path.join(root, kind.lower())
    one_run(env)  # warm the OS file cache; not counted
    shown, total, heavy = [], [], set()
    for _ in range(args.runs):
        s, t, h = one_run(env)
        shown.append(s)
        total.append(t)
        heavy.add(h)
    platform = env.get("QT_QPA_PLATFORM", "default")
    print(f"startup ({args.runs} runs, platform {platform}, python {sys.version.split()[0]})")
    print(f"{'measure':<34}{'p50':>9}{'min':>9}{'max':>9}")
    for name, values in (("launch → window shown (ms)", shown),
                         ("whole process incl. exit (ms)", total)):
        print(f"{name:<34}{statistics.median(values):>9.0f}{min(values):>9.0f}"
              f"{max(values):>9.0f}")
    print(f"heavy modules imported by first show: {', '.join(sorted(heavy))}")
    return 0 if heavy == {"none"} else 1


if __name__ == "__main__":
    raise SystemExit(main())
