"""Document benchmarks: brush latency, undo memory, .ora save/load and groups on a big document.

    python benchmarks/bench_document.py                # 4096x4096, 10 layers, 200 strokes
    python benchmarks/bench_document.py --size 1024    # quicker

Prints a table. "Dab to pixels" is the time from a pointer move to up-to-date composite
pixels of the changed rectangle: the dabs into the layer plus recompositing the dirty part of
the cached composite from all layers (what a canvas repaint needs). The last rows put the upper
layers into a 50 % group (composited as a unit) and time a full recomposite. Runs offscreen.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PySide6.QtCore import QPointF  # noqa: E402
from PySide6.QtGui import QColor, QGuiApplication  # noqa: E402

from rfedit_desktop.document import BrushSettings, Document, Stroke, load_ora  # noqa: E402
from rfedit_desktop.document.image_io import new_image  # noqa: E402

MODES = [
    "normal",
    "multiply",
    "screen",
    "overlay",
    "normal",
    "darken",
    "lighten",
    "soft-light",
    "difference",
    "normal",
]


def rss_bytes() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def build(size: int, layers: int) -> Document:
    doc = Document.new(size, size, background=QColor(235, 230, 220))
    rng = np.random.default_rng(1)
    for i in range(1, layers):
        color = QColor(*[int(v) for v in rng.integers(0, 255, 3)], 160)
        la = doc.add_layer(f"layer {i}", image=new_image(size, size), undoable=False)
        # a filled band and some texture so layers are not trivially empty
        arr = la.array()
        band = slice(size * (i - 1) // layers, size * (i + 2) // layers)
        a = color.alpha()
        arr[band, :, 0] = color.blue() * a // 255
        arr[band, :, 1] = color.green() * a // 255
        arr[band, :, 2] = color.red() * a // 255
        arr[band, :, 3] = a
        la.blend_mode = MODES[i % len(MODES)]
    doc._cache.invalidate()
    return doc


def measure_latency(doc, target, brush, size, rng, moves=300):
    """Per pointer move: dabs into the layer + recomposite the dirty rectangle from all layers."""
    settings = BrushSettings(size=brush, hardness=0.7, spacing=0.15, color=QColor(30, 60, 200))
    latencies, dabs = [], []
    s = Stroke(doc, settings)
    x, y = size * 0.3, size * 0.3
    s.begin(target, QPointF(x, y), 0.5)
    for _ in range(moves):
        x = float(np.clip(x + rng.normal(6, 3), 0, size - 1))
        y = float(np.clip(y + rng.normal(3, 3), 0, size - 1))
        before = s.dab_count
        t = time.perf_counter()
        dirty = s.move(QPointF(x, y), float(rng.uniform(0.3, 1.0)))
        if not dirty.isEmpty():
            doc.composite(dirty)  # what the canvas repaints
        if s.dab_count > before:  # moves shorter than the spacing paint nothing: not counted
            latencies.append(time.perf_counter() - t)
            dabs.append(s.dab_count - before)
    s.end()
    return latencies, dabs


def pct(values, q):
    return float(np.percentile(np.asarray(values) * 1000, q))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--layers", type=int, default=10)
    ap.add_argument("--strokes", type=int, default=200)
    ap.add_argument("--brush", type=float, default=30.0)
    args = ap.parse_args()
    app = QGuiApplication.instance() or QGuiApplication([])  # noqa: F841
    rows: list[tuple[str, str]] = []
    rss0 = rss_bytes()

    t = time.perf_counter()
    doc = build(args.size, args.layers)
    rows.append(
        (f"build {args.size}x{args.size}, {args.layers} layers", f"{time.perf_counter() - t:.2f} s")
    )
    t = time.perf_counter()
    doc.composite()
    rows.append(("first full composite (all tiles)", f"{time.perf_counter() - t:.2f} s"))
    doc.set_memory_budget(4 * 1024**3)  # measure the raw cost; the budget is tested elsewhere

    # ---- dab to pixels
    target = doc.layers[args.layers // 2]
    doc.set_active_layer(target)
    rng = np.random.default_rng(2)
    for brush in (args.brush, args.brush * 5):
        latencies, dabs = measure_latency(doc, target, brush, args.size, rng)
        rows.append(
            (f"dab-to-pixels per move, {brush:.0f}px brush p50", f"{pct(latencies, 50):.2f} ms")
        )
        rows.append(
            (f"dab-to-pixels per move, {brush:.0f}px brush p95", f"{pct(latencies, 95):.2f} ms")
        )
        rows.append((f"  dabs per painting move (mean), {brush:.0f}px", f"{np.mean(dabs):.2f}"))

    # ---- 200 strokes of history
    rss_before = rss_bytes()
    t = time.perf_counter()
    paint = doc.paint_layers
    for i in range(args.strokes):
        la = paint[i % len(paint)]
        s = Stroke(doc, BrushSettings(size=float(rng.uniform(8, 60)), color=QColor(200, 40, 40)))
        x, y = (float(v) for v in rng.uniform(0, args.size, 2))
        s.begin(la, QPointF(x, y))
        for _ in range(int(rng.integers(10, 40))):
            x = float(np.clip(x + rng.normal(0, 25), 0, args.size - 1))
            y = float(np.clip(y + rng.normal(0, 25), 0, args.size - 1))
            s.move(QPointF(x, y))
        s.end()
    dt = time.perf_counter() - t
    stored = doc.history_budget.stored_bytes()
    rows.append(
        (f"{args.strokes} strokes drawn", f"{dt:.1f} s ({dt / args.strokes * 1000:.0f} ms each)")
    )
    rows.append((f"undo tiles of {args.strokes + 1} strokes", f"{stored / 1024**2:.1f} MiB"))
    rows.append(
        (
            "  vs. whole-layer snapshots",
            f"{(args.strokes + 1) * doc.layers[0].nbytes() / 1024**2:.0f} MiB",
        )
    )
    rows.append(
        ("RSS growth while drawing them", f"{(rss_bytes() - rss_before) / 1024**2:.1f} MiB")
    )
    t = time.perf_counter()
    for _ in range(20):
        doc.undo_stack.undo()
    for _ in range(20):
        doc.undo_stack.redo()
    rows.append(
        ("undo+redo of one stroke (mean of 20)", f"{(time.perf_counter() - t) / 20 * 1000:.1f} ms")
    )

    # ---- OpenRaster
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.ora"
        t = time.perf_counter()
        doc.save(path)
        rows.append(
            (
                "save .ora",
                f"{time.perf_counter() - t:.2f} s ({path.stat().st_size / 1024**2:.1f} MiB)",
            )
        )
        t = time.perf_counter()
        back = load_ora(path)
        rows.append(("load .ora", f"{time.perf_counter() - t:.2f} s"))
        assert len(back.layers) == len(doc.layers)
    # ---- a group composited as a unit
    t = time.perf_counter()
    doc._cache.invalidate()
    doc.composite()
    rows.append(("full recomposite, no groups", f"{time.perf_counter() - t:.2f} s"))
    group = doc.group_layers(doc.layers[1:], "bench group")
    doc.set_layer_opacity(group, 0.5)
    t = time.perf_counter()
    doc._cache.invalidate()
    doc.composite()
    rows.append(("full recomposite, 9 layers in a 50 % group", f"{time.perf_counter() - t:.2f} s"))
    rows.append(
        ("process RSS at end", f"{rss_bytes() / 1024**2:.0f} MiB (start {rss0 / 1024**2:.0f})")
    )

    width = max(len(k) for k, _ in rows)
    print(f"{'measure':<{width}}  value")
    print(f"{'-' * width}  {'-' * 24}")
    for k, v in rows:
        print(f"{k:<{width}}  {v}")


if __name__ == "__main__":
    main()
