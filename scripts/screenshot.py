"""Screenshot of the main window with a few layers painted through the brush engine.

    xvfb-run -a -s "-screen 0 1600x1000x24" python scripts/screenshot.py [out.png]

Every stroke goes through `document.brush.Stroke`, exactly as the canvas draws them, so the
picture also shows that the brush, blend modes, mask overlay and panels work together.
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
for _kind in ("CACHE", "DATA", "CONFIG"):  # never read or write the real settings
    os.environ.setdefault(f"RFEDIT_{_kind}_DIR", tempfile.mkdtemp(prefix=f"rfedit-shot-{_kind}-"))

from PySide6.QtCore import QPointF, QSize, QTimer  # noqa: E402
from PySide6.QtGui import QColor, QLinearGradient, QPainter  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from rfedit_desktop.document.brush import BrushSettings, Stroke  # noqa: E402
from rfedit_desktop.document.document import Document  # noqa: E402
from rfedit_desktop.document.image_io import new_image  # noqa: E402


def stroke(doc: Document, layer, points, size: float, colour: QColor, **kw) -> None:
    s = Stroke(doc, BrushSettings(size=size, color=colour, **kw))
    (x, y, p), *rest = points
    s.begin(layer, QPointF(x, y), p)
    for x, y, p in rest:
        s.move(QPointF(x, y), p)
    s.end()


def wave(x0, x1, y, amp, period, n=80, pressure=lambda t: 1.0):
    return [(x0 + (x1 - x0) * i / n,
             y + amp * math.sin(2 * math.pi * (x0 + (x1 - x0) * i / n) / period),
             pressure(i / n)) for i in range(n + 1)]


def build_document() -> Document:
    w, h = 960, 640
    sky = new_image(w, h)
    p = QPainter(sky)
    grad = QLinearGradient(0, 0, 0, h)
    grad.setColorAt(0.0, QColor(40, 70, 130))
    grad.setColorAt(0.6, QColor(230, 150, 110))
    grad.setColorAt(1.0, QColor(250, 210, 160))
    p.fillRect(sky.rect(), grad)
    p.end()
    doc = Document(w, h)
    doc.add_layer("Sky", image=sky, undoable=False)
    hills = doc.add_layer("Hills", undoable=False)
    for i, (y, col) in enumerate(((440, QColor(70, 60, 90)), (500, QColor(45, 40, 60)),
                                  (570, QColor(25, 22, 35)))):
        for k in range(6):
            pts = wave(-40, w + 40, y + k * 14 + 30, 30 - 6 * i, 420 - 90 * i)
            stroke(doc, hills, pts, 60, col, hardness=0.6)
    sun = doc.add_layer("Sun glow", undoable=False)
    doc.set_layer_blend_mode(sun, "screen")
    for size, opacity, colour in ((320, 0.35, QColor(255, 160, 90)), (170, 0.6, QColor(255, 200, 120)),
                                  (90, 1.0, QColor(255, 236, 190))):
        stroke(doc, sun, [(640, 330, 1.0)], size, colour, hardness=0.05 if size > 100 else 0.85,
               opacity=opacity, pressure_size=False)
    ink = doc.add_layer("Ink sketch", undoable=False)
    for k in range(5):  # pen strokes with pressure tapering in and out
        pts = wave(120 + k * 30, 420 + k * 40, 210 + k * 26, 12, 160,
                   pressure=lambda t: math.sin(math.pi * t) ** 0.7)
        stroke(doc, ink, pts, 9, QColor(20, 20, 28), hardness=0.9)
    birds = [(300, 150), (350, 130), (390, 165), (460, 120)]
    for bx, by in birds:
        pts = [(bx - 14 + i, by + 0.06 * (i - 14) ** 2 - 8, 0.8) for i in range(29)]
        stroke(doc, ink, pts, 4, QColor(30, 25, 40), hardness=1.0)
    doc.set_layer_opacity(ink, 0.9, merge=False)
    mask = doc.add_mask_layer()
    for k in range(7):  # fill an ellipse with a spiral of mask-brush rings
        rx, ry = 20 + 22 * k, 12 + 13 * k
        pts = [(600 + rx * math.cos(a / 60 * 2 * math.pi), 330 + ry * math.sin(a / 60 * 2 * math.pi),
                1.0) for a in range(61)]
        stroke(doc, mask, pts, 40, QColor(255, 255, 255), hardness=0.6, pressure_size=False)
    doc.set_active_layer(ink)
    doc.undo_stack.setClean()
    return doc


def main(out: str) -> int:
    from rfedit_desktop.ui.theme import apply_dark_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    apply_dark_theme(app)
    from rfedit_desktop.ui.main_window import MainWindow

    window = MainWindow(restore_state=False)
    window.set_document(build_document())
    window.resize(QSize(1400, 900))
    window.show()
    window.canvas.fit_to_window()
    window.tools.update_brush(size=34)
    window.canvas._move_outline(window.canvas.transform.to_view(QPointF(520, 380)))
    window.statusBar().showMessage("Ready")

    def grab() -> None:
        image = window.grab().toImage()
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        ok = image.save(out)
        print(f"saved {out} ({image.width()}x{image.height()}): {ok}")
        window.discard_changes_and_close()
        app.exit(0 if ok else 1)

    QTimer.singleShot(600, grab)
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "docs" / "screenshot.png")))
