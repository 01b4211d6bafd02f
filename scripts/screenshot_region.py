"""Screenshot of a masked region edit on a real photo: the edit area's frame on the canvas, the
working-resolution line in the Edit panel and the staged result in place.

    xvfb-run -a -s "-screen 0 1600x1000x24" python scripts/screenshot_region.py [out.png]
        [--model demo|tiny|PATH] [--steps 28]

The photo is scikit-image's coffee sample enlarged to a camera's 4500×3000; the mask is painted
over the crema with the mask brush engine, and the edit (the demo model by default) puts a white
heart there. Only the masked crop goes to the model; the rest of the photo is untouched.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
for _kind in ("CACHE", "DATA", "CONFIG"):  # never read or write the real settings
    os.environ.setdefault(f"RFEDIT_{_kind}_DIR", tempfile.mkdtemp(prefix=f"rfedit-shot-{_kind}-"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from PySide6.QtCore import QPointF, Qt  # noqa: E402
from PySide6.QtGui import QColor  # noqa: E402
from shot_window import default_model, open_window, pump  # noqa: E402

from rfedit_desktop.document.brush import BrushSettings, Stroke  # noqa: E402
from rfedit_desktop.document.document import Document  # noqa: E402
from rfedit_desktop.jobs.preview_image import to_qimage  # noqa: E402

WIDTH, HEIGHT = 4500, 3000


def photo_document() -> Document:
    from skimage import data

    rgb = np.asarray(Image.fromarray(data.coffee()).resize((WIDTH, HEIGHT),
                                                          Image.Resampling.BICUBIC))
    doc = Document(WIDTH, HEIGHT)
    doc.add_layer("Photo", image=to_qimage(np.ascontiguousarray(rgb)), undoable=False)
    mask = doc.add_mask_layer()
    # Scribble over the crema (an ellipse around (2160, 1090)) with the mask brush's engine.
    s = Stroke(doc, BrushSettings(size=180, color=QColor(255, 255, 255), hardness=0.8))
    cx, cy, rx, ry = 2160, 1090, 360, 230
    points = []
    for k in range(5):
        f = 1 - k / 5
        points += [(cx + f * rx * math.cos(a / 12), cy + f * ry * math.sin(a / 12))
                   for a in range(0, 76)]
    (x, y), *rest = points
    s.begin(mask, QPointF(x, y), 1.0)
    for x, y in rest:
        s.move(QPointF(x, y), 1.0)
    s.end()
    doc.undo_stack.clear()
    return doc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default=str(ROOT / "docs" / "screenshot-region.png"))
    parser.add_argument("--model", default=None)
    parser.add_argument("--steps", type=int, default=28)
    args = parser.parse_args()
    model = default_model(args.model)

    app, window, errors = open_window(photo_document(), model, staging_height=170)
    ai = window.ai_editing

    panel = ai.panel
    panel.apply_preset("object-insert")
    panel.steps_spin.setValue(args.steps)
    panel.seed_spin.setValue(2)
    panel.prompt_edit.setPlainText("a large white heart on a orange background")
    window.resizeDocks([ai.edit_dock, window.layers_dock], [panel.sizeHint().height() + 8, 200],
                       Qt.Orientation.Vertical)
    pump(app, 0.5)
    ai.run()
    while ai.is_busy() and not errors:
        pump(app, 0.05)
    if errors:
        print("failed:", errors[0], file=sys.stderr)
        return 2
    ai.strip.select(ai.strip.results()[0].id)
    # Zoom on the cup so the frame, the mask tint and the result in place read clearly.
    window.canvas.set_zoom(0.2)
    box = ai.area.box_rect()
    centre = window.canvas.transform.to_view(QPointF(box.center()))
    window.canvas.transform.pan(window.canvas.width() / 2 - centre.x(),
                                window.canvas.height() / 2 - centre.y())
    window.canvas.update()
    pump(app, 0.5)
    shot = window.grab()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    shot.save(str(out))
    print(f"saved {out} ({shot.width()}x{shot.height()}, model {model}); "
          f"{panel.area_label.text()}")
    ai.shutdown()
    window.discard_changes_and_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
