"""Screenshot of the staging strip after Compare methods on a real photo.

    xvfb-run -a -s "-screen 0 1600x1000x24" python scripts/screenshot_compare.py [out.png]
        [--model demo|tiny|PATH] [--steps 28]

Opens scikit-image's photo of a cat (`skimage.data.chelsea`), ticks RF-Inversion, RF-Solver,
FireFlow and FlowEdit in the Edit panel's Compare menu, clicks Compare methods and grabs the
window once every result is staged, each labelled with its method, NFE and seconds. The demo
model knows only painted shapes, so on a photo its edits are shape-world pictures; with a
FLUX.1 (`--model`) they are edits of the photo.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
for _kind in ("CACHE", "DATA", "CONFIG"):  # never read or write the real settings
    os.environ.setdefault(f"RFEDIT_{_kind}_DIR", tempfile.mkdtemp(prefix=f"rfedit-shot-{_kind}-"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from shot_window import default_model, open_window, pump  # noqa: E402

from rfedit_desktop.document.document import Document  # noqa: E402

METHODS = ("rf-inversion", "rf-solver", "fireflow", "flowedit")


def photo_document() -> Document:
    import numpy as np
    from skimage import data

    from rfedit_desktop.jobs.preview_image import to_qimage

    pixels = np.ascontiguousarray(data.chelsea())
    h, w = pixels.shape[:2]
    doc = Document(w, h)
    doc.add_layer("Photo", image=to_qimage(pixels).copy(), undoable=False)
    doc.undo_stack.clear()
    return doc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default=str(ROOT / "docs" / "screenshot-compare.png"))
    parser.add_argument("--model", default=None)
    parser.add_argument("--steps", type=int, default=28)
    args = parser.parse_args()
    model = default_model(args.model)

    app, window, errors = open_window(photo_document(), model, staging_height=210)
    ai = window.ai_editing

    panel = ai.panel
    panel.apply_preset("age")
    panel.steps_spin.setValue(args.steps)
    panel.seed_spin.setValue(7)
    panel.prompt_edit.setPlainText("a large orange circle on a green background")
    for method, action in panel.compare_actions.items():
        action.setChecked(method in METHODS)
    panel.compare_button.click()
    while ai.is_busy() and not errors:
        pump(app, 0.05)
    if errors:
        print("failed:", errors[0], file=sys.stderr)
        return 2
    results = ai.strip.results()
    ai.strip.select(results[-1].id)
    pump(app, 0.3)
    for r in results:
        m = r.metadata
        seconds = sum(float(v) for v in m["timings"].values())
        print(f"{m['method']:13s} NFE {m['nfe']:3d}  {seconds:.2f} s  cache "
              f"{'hit' if m['cache_hit'] else 'miss'}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(out))
    print(f"saved {out} (model {model})")
    ai.shutdown()
    window.discard_changes_and_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
