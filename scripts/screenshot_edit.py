"""Screenshot of the window in the middle of an AI edit, with results in the staging strip.

    xvfb-run -a -s "-screen 0 1600x1000x24" python scripts/screenshot_edit.py [out.png]
        [--model demo|tiny|PATH] [--steps 28]

Paints a rough stroke picture through the brush engine, runs a first edit with two variants
(they land in the staging strip), starts a second edit and grabs the window halfway through it,
while the canvas shows the live preview. Uses the demo model when installed, else tiny.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
for _kind in ("CACHE", "DATA", "CONFIG"):  # never read or write the real settings
    os.environ.setdefault(f"RFEDIT_{_kind}_DIR", tempfile.mkdtemp(prefix=f"rfedit-shot-{_kind}-"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from PySide6.QtCore import QPointF  # noqa: E402
from PySide6.QtGui import QColor, QLinearGradient, QPainter  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from rfedit_desktop import paths  # noqa: E402
from rfedit_desktop.document.brush import BrushSettings, Stroke  # noqa: E402
from rfedit_desktop.document.document import Document  # noqa: E402
from rfedit_desktop.document.image_io import new_image  # noqa: E402


def stroke(doc: Document, layer, points, size: float, colour: QColor, **kw) -> None:
    s = Stroke(doc, BrushSettings(size=size, color=colour, **kw))
    (x, y), *rest = points
    s.begin(layer, QPointF(x, y), 1.0)
    for x, y in rest:
        s.move(QPointF(x, y), 1.0)
    s.end()


def rough_painting(side: int) -> Document:
    """The kind of input stroke-to-image expects: flat colour blobs, no detail."""
    doc = Document(side, side)
    sky = new_image(side, side)
    p = QPainter(sky)
    grad = QLinearGradient(0, 0, 0, side)
    grad.setColorAt(0.0, QColor(70, 120, 200))
    grad.setColorAt(0.55, QColor(160, 190, 230))
    grad.setColorAt(0.56, QColor(60, 120, 60))
    grad.setColorAt(1.0, QColor(40, 90, 40))
    p.fillRect(sky.rect(), grad)
    p.end()
    doc.add_layer("Sky and meadow", image=sky, undoable=False)
    strokes = doc.add_layer("Strokes", undoable=False)
    s = side / 512
    # a mountain: a few broad grey strokes
    for k in range(8):
        y = (300 - k * 22) * s
        half = (220 - k * 26) * s
        stroke(doc, strokes, [(256 * s - half, y), (256 * s + half, y)], 46 * s,
               QColor(120 - k * 4, 118 - k * 4, 130 - k * 3), hardness=0.7)
    stroke(doc, strokes, [(236 * s, 130 * s), (276 * s, 130 * s)], 34 * s,
           QColor(245, 245, 250), hardness=0.7)  # snow cap
    # a sun and a lake
    stroke(doc, strokes, [(420 * s, 90 * s)], 70 * s, QColor(255, 215, 90), hardness=0.9,
           pressure_size=False)
    for k in range(4):
        y = (400 + k * 14) * s
        stroke(doc, strokes, [(140 * s, y), (380 * s, y)], 22 * s, QColor(50, 100, 190),
               hardness=0.8)
    # a few trees
    for x in (70, 110, 430, 470):
        stroke(doc, strokes, [(x * s, 330 * s), (x * s, 380 * s)], 9 * s, QColor(90, 60, 30))
        pts = [(x * s + 14 * s * math.cos(a / 3), 320 * s + 14 * s * math.sin(a / 3))
               for a in range(20)]
        stroke(doc, strokes, pts, 24 * s, QColor(30, 80, 35), hardness=0.6)
    doc.undo_stack.clear()
    return doc


def pump(app: QApplication, seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.005)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default=str(ROOT / "docs" / "screenshot-edit.png"))
    parser.add_argument("--model", default=None)
    parser.add_argument("--steps", type=int, default=28)
    parser.add_argument("--size", type=int, default=512)
    args = parser.parse_args()
    model = args.model or ("demo" if paths.demo_model_dir().is_dir() else "tiny")

    from rfedit_desktop.jobs import ModelChoice
    from rfedit_desktop.ui.main_window import MainWindow
    from rfedit_desktop.ui.theme import apply_dark_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    apply_dark_theme(app)
    window = MainWindow(restore_state=False)
    window.resize(1600, 1000)
    window.set_document(rough_painting(args.size))
    window.show()
    ai = window.ai_editing
    ai.staging_dock.show()
    window.resizeDocks([ai.staging_dock], [200], __import__("PySide6.QtCore").QtCore.Qt
                       .Orientation.Vertical)
    pump(app, 0.3)
    window.canvas.fit_to_window()

    ready: list[dict] = []
    errors: list[str] = []
    ai.service.model_ready.connect(ready.append)
    ai.service.model_failed.connect(errors.append)
    ai.service.failed.connect(lambda job, message: errors.append(message))
    ai.load_model(ModelChoice(model))
    while not ready and not errors:
        pump(app, 0.05)
    if errors:
        print("failed:", errors[0], file=sys.stderr)
        return 2

    panel = ai.panel
    panel.apply_preset("stroke-to-image")
    panel.steps_spin.setValue(args.steps)
    panel.advanced.expand(animate=False)
    panel.seed_spin.setValue(11)
    panel.variants_spin.setValue(2)
    panel.prompt_edit.setPlainText("a snowy mountain above a lake at sunset, oil painting")
    ai.run()
    while ai.is_busy() and not errors:
        pump(app, 0.05)
    if errors:
        print("failed:", errors[0], file=sys.stderr)
        return 2

    # The second edit: grab the window halfway through its editing steps.
    panel.variants_spin.setValue(1)
    panel.seed_spin.setValue(3)
    panel.prompt_edit.setPlainText("a snowy mountain above a lake, watercolour")
    shot: list = []
    half = max(1, args.steps // 2)

    def maybe_grab(job: int, phase: str, step: int, total: int) -> None:
        if not shot and phase == "edit" and step >= half:
            shot.append("pending")

    ai.service.progress.connect(maybe_grab)
    ai.run()
    while ai.is_busy() and not errors:
        app.processEvents()
        if shot == ["pending"] and ai.overlay.image() is not None:
            app.processEvents()
            shot[0] = window.grab()
        time.sleep(0.002)
    if not shot or shot[0] == "pending":
        print("the edit finished before a mid-edit frame could be grabbed", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    shot[0].save(str(out))
    print(f"saved {out} ({shot[0].width()}x{shot[0].height()}, model {model})")
    ai.shutdown()
    window.discard_changes_and_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
