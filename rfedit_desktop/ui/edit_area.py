"""What the model will see, shown before a run: the edit area's frame and the working size.

A collaborator of `AiEditing`: it computes the same `RegionPlan` the engine will use
(engine/region.py, torch-free) from the document's mask, the area the artist drew, the context
setting and the loaded model's budget; it draws the frame on the canvas and the working
resolution line in the Edit panel, and keeps the context and keep-detail settings in QSettings.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QRect, QTimer, Signal

from rfedit_desktop.engine.region import LOW_SCALE, RegionPlan, pixel_budget, plan_region
from rfedit_desktop.ui.edit_area_frame import EditAreaFrame, doc_rect
from rfedit_desktop.ui.edit_panel import AUTO_CONTEXT, EditPanel
from rfedit_desktop.ui.settings import read_bool

CONTEXT_KEY = "edit/context"
KEEP_DETAIL_KEY = "edit/keep_detail"
REFRESH_DELAY_MS = 200
#: The budget assumed before a model is loaded (EditRequest's default max_megapixels).
DEFAULT_MEGAPIXELS = 1.0


class EditArea(QObject):
    """The edit area of the current document; `changed` after every recomputation."""

    changed = Signal()

    def __init__(self, canvas: Any, panel: EditPanel, settings: Any = None) -> None:
        super().__init__(panel)
        self.frame = EditAreaFrame(canvas)
        self.panel = panel
        self._settings = settings
        self._document: Any = None
        self._drawn: QRect | None = None
        self._active = False
        self._model_pixels: int | None = None
        self._multiple = 16
        self._model_known = False
        self._plan: RegionPlan | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REFRESH_DELAY_MS)
        self._timer.timeout.connect(self.refresh)
        self._restore_settings()
        self.frame.area_drawn.connect(self._on_drawn)
        panel.area_params_changed.connect(self.schedule)
        panel.area_reset_requested.connect(self.reset)
        panel.context_spin.valueChanged.connect(self._save_settings)
        panel.keep_detail_check.toggled.connect(self._save_settings)

    # inputs ---------------------------------------------------------------------------------
    def set_document(self, document: Any) -> None:
        self._document = document
        self._drawn = None
        self.refresh()

    def set_model(self, info: dict | None) -> None:
        """The loaded model's budget (its native resolution) and size grid."""
        info = info or {}
        native = info.get("native_resolution")
        self._model_pixels = int(native) ** 2 if native else None
        self._multiple = 2 * int(info.get("vae_scale_factor") or 8)
        self._model_known = bool(info)
        self.schedule()

    def set_active(self, active: bool) -> None:
        """Show the frame while the Edit panel is in use."""
        self._active = bool(active)
        self._update_frame()

    def schedule(self, *_args: Any) -> None:
        self._timer.start()

    def reset(self) -> None:
        """Back to the automatic area: the mask's box plus context, else the whole image."""
        self._drawn = None
        self.refresh()

    # what the request gets --------------------------------------------------------------------
    def region(self) -> tuple[int, int, int, int] | None:
        """The area the artist drew, as EditRequest.region; None for the automatic one."""
        if self._drawn is None:
            return None
        r = self._drawn
        return (r.x(), r.y(), r.width(), r.height())

    def plan(self) -> RegionPlan | None:
        return self._plan

    def box_rect(self) -> QRect | None:
        """The current plan's box in document pixels."""
        return doc_rect(self._plan.box.as_list()) if self._plan is not None else None

    def box_mask(self) -> np.ndarray | None:
        """A document-sized mask of the box (for a result pasted into an area without a mask)."""
        if self._plan is None or self._plan.whole or self._document is None:
            return None
        m = np.zeros((self._document.height, self._document.width), np.uint8)
        rows, cols = self._plan.box.slices()
        m[rows, cols] = 255
        return m

    # computing -----------------------------------------------------------------------------
    def refresh(self) -> None:
        document = self._document
        if document is None:
            self._plan = None
            self.panel.set_area_text("edit area: no image")
            self._update_frame()
            self.changed.emit()
            return
        w, h = document.width, document.height
        if self._drawn is not None and not QRect(0, 0, w, h).contains(self._drawn):
            self._drawn = None  # the image shrank under it
        mask = document.selection.edit_coverage() if self._drawn is None else None
        budget = pixel_budget(DEFAULT_MEGAPIXELS, self._model_pixels)
        try:
            self._plan = plan_region(w, h, budget, self._multiple, mask=mask,
                                     region=self.region(), context=self.panel.context())
        except Exception:  # noqa: BLE001 - a plan the engine would refuse: say nothing new
            self._plan = None
        self.panel.set_area_text(self.text(), self.warns(), drawn=self._drawn is not None)
        self._update_frame()
        self.changed.emit()

    def text(self) -> str:
        plan = self._plan
        if plan is None:
            return "edit area: —"
        if not self._model_known:
            b = plan.box
            return f"edit area {b.w}×{b.h} (the model's size shows once it is loaded)"
        line = plan.describe()
        if self.warns():
            line += (": the model sees fewer pixels than the area holds; mask a smaller "
                     "region for more detail")
        return line

    def warns(self) -> bool:
        return self._model_known and self._plan is not None and self._plan.scale < LOW_SCALE

    def _update_frame(self) -> None:
        rect = self.box_rect()
        label = self._plan.describe() if self._plan is not None and self._model_known else ""
        self.frame.set_area(rect, label, self.warns())
        self.frame.setVisible(self._active and rect is not None)

    def _on_drawn(self, rect: QRect) -> None:
        self._drawn = QRect(rect)
        self.refresh()

    # settings ------------------------------------------------------------------------------
    def _restore_settings(self) -> None:
        s = self._settings
        if s is None:
            return
        try:
            context = int(s.value(CONTEXT_KEY, AUTO_CONTEXT))
        except (TypeError, ValueError):
            context = AUTO_CONTEXT
        self.panel.set_params({"context": None if context == AUTO_CONTEXT else context,
                               "keep_detail": read_bool(s, KEEP_DETAIL_KEY, True)})

    def _save_settings(self, *_args: Any) -> None:
        s = self._settings
        if s is None:
            return
        s.setValue(CONTEXT_KEY, self.panel.context_spin.value())
        s.setValue(KEEP_DETAIL_KEY, self.panel.keep_detail_check.isChecked())
