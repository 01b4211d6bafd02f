"""Screenshot of the photo-editor tools: a selection with marching ants and a transform in
progress (handles, rotated and scaled preview) on a real photo.

    xvfb-run -a -s "-screen 0 1600x1000x24" python scripts/screenshot_tools.py [out.png]

The photo is scikit-image's `chelsea` (the test extra). The selection is made with the same
document calls the ellipse tool makes; Ctrl+T then lifts the selected pixels.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
for _kind in ("CACHE", "DATA", "CONFIG"):  # never read or write the real settings
    os.environ.setdefault(f"RFEDIT_{_kind}_DIR", tempfile.mkdtemp(prefix=f"rfedit-shot-{_kind}-"))

import numpy as np  # noqa: E402
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from rfedit_desktop.document import Document, array_to_qimage  # noqa: E402


def build_document() -> Document:
    from skimage import data

    cat = data.chelsea()  # 300 x 451
    h, w = cat.shape[:2]
    img = array_to_qimage(np.dstack([cat, np.full((h, w), 255, np.uint8)]))
    img = img.scaled(w * 2, h * 2, Qt.AspectRatioMode.IgnoreAspectRatio,
                     Qt.TransformationMode.SmoothTransformation)
    doc = Document(img.width(), img.height())
    doc.add_layer("Chelsea", image=img, undoable=False)
    doc.selection.select_ellipse(QRectF(250, 70, 330, 300))
    doc.undo_stack.setClean()
    return doc


def main(out: str) -> int:
    from rfedit_desktop.ui.theme import apply_dark_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    apply_dark_theme(app)
    from rfedit_desktop.ui.main_window import MainWindow
    from rfedit_desktop.ui.tool_state import Tool

    window = MainWindow(restore_state=False, ai=False)
    window.set_document(build_document())
    window.resize(QSize(1400, 900))
    window.show()
    window.canvas.fit_to_window()
    window.tools.set_tool(Tool.TRANSFORM)  # what Ctrl+T does
    tool = window.editor.transform_tool
    tool.angle, tool.sx, tool.sy, tool.t = -12.0, 1.25, 1.25, QPointF(150, 40)

    def grab() -> None:
        image = window.grab().toImage()
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        ok = image.save(out)
        print(f"saved {out} ({image.width()}x{image.height()}): {ok}")
        tool.cancel()
        window.discard_changes_and_close()
        app.exit(0 if ok else 1)

    QTimer.singleShot(700, grab)
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1
                          else str(ROOT / "docs" / "screenshot-tools.png")))
