"""Screenshot of the window in the middle of an AI edit, with results in the staging strip.

    xvfb-run -a -s "-screen 0 1600x1000x24" python scripts/screenshot_edit.py [out.png]
        [--model demo|tiny|PATH] [--steps 28]

Paints a rough stroke picture through the brush engine, runs a first edit with three variants
(they land in the staging strip; one is applied), starts a second edit and grabs the window halfway through it,
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

from PySide6.QtCore import QPointF, Qt  # noqa: E402
from PySide6.QtGui import QColor, QLinearGradient, QPainter  # noqa: E402
from shot_window import default_model, open_window, pump  # noqa: E402

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
    """The kind of input stroke-to-image expects: a flat background and a rough colour blob.

    The demo model knows one shape on a plain or gradient background, so the picture is that.
    """
    doc = Document(side, side)
    back = new_image(side, side)
    p = QPainter(back)
    grad = QLinearGradient(0, 0, 0, side)
    grad.setColorAt(0.0, QColor(40, 70, 190))
    grad.setColorAt(1.0, QColor(110, 160, 235))
    p.fillRect(back.rect(), grad)
    p.end()
    doc.add_layer("Background", image=back, undoable=False)
    strokes = doc.add_layer("Strokes", undoable=False)
    s = side / 512
    cx, cy, r = 256 * s, 270 * s, 120 * s
    for k in range(7):  # a rough red disc from a few scribbled rings
        rr = r * (1 - k / 7)
        pts = [(cx + rr * math.cos(a / 10) + 6 * s * math.sin(a), cy + rr * math.sin(a / 10))
               for a in range(64)]
        stroke(doc, strokes, pts, 46 * s, QColor(205 - 5 * k, 40, 35), hardness=0.6)
    stroke(doc, strokes, [(cx - 40 * s, cy - 50 * s), (cx + 30 * s, cy - 70 * s)], 22 * s,
           QColor(240, 120, 110), hardness=0.4)  # a careless highlight
    doc.undo_stack.clear()
    return doc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default=str(ROOT / "docs" / "screenshot-edit.png"))
    parser.add_argument("--model", default=None)
    parser.add_argument("--steps", type=int, default=28)
    parser.add_argument("--size", type=int, default=512)
    args = parser.parse_args()
    model = default_model(args.model)

    app, window, errors = open_window(rough_painting(args.size), model, staging_height=200)
    ai = window.ai_editing

    panel = ai.panel
    panel.apply_preset("stroke-to-image")
    panel.steps_spin.setValue(args.steps)
    panel.advanced.expand()
    pump(app, 0.1)
    window.resizeDocks([ai.edit_dock, window.layers_dock], [panel.sizeHint().height() + 8, 240],
                       Qt.Orientation.Vertical)
    panel.seed_spin.setValue(11)
    panel.variants_spin.setValue(3)
    panel.prompt_edit.setPlainText("a large red circle on a blue gradient background")
    ai.run()
    while ai.is_busy() and not errors:
        pump(app, 0.05)
    if errors:
        print("failed:", errors[0], file=sys.stderr)
        return 2

    # Keep one of them: one step named after the prompt in the history, a new layer.
    keep = ai.strip.results()[0]
    ai.strip.select(keep.id)
    ai.apply(keep.id, "new-layer")

    # The second edit: grab the window while it runs, a few steps before the end.
    panel.variants_spin.setValue(1)
    panel.seed_spin.setValue(3)
    panel.prompt_edit.setPlainText("a large red star on a blue gradient background")
    shot: list = []
    # Late in the run: the preview is the current latent, which is still noisy early on.
    half = max(1, args.steps - 3)

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
