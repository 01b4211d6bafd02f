"""The staging strip: results wait here until the artist keeps or discards them.

Nothing reaches the document until Apply (InvokeAI's staging area, Krita-AI's history strip):
a result can be compared with the original — hold the "Original" button or the backslash key,
or switch on the split view — and discarding it leaves no trace in the undo history.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QMouseEvent, QPainter, QPaintEvent, QPen, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from rfedit_desktop.document.image_io import fit_smoothly
from rfedit_desktop.ui.checkerboard import checker_brush
from rfedit_desktop.ui.elided_label import ElidedLabel

THUMB = 96
ROLE_ID = int(Qt.ItemDataRole.UserRole)
RUNNING_ID = -1
COMPARE_KEY = Qt.Key.Key_Backslash
TARGET_TEXT = {"new-layer": "as a new layer", "replace": "replacing the layer"}


@dataclass
class StagedResult:
    """One finished result waiting for a decision; `pixels` go to `document.apply_edit`."""

    pixels: np.ndarray  # HxWx3 or HxWx4 straight RGBA uint8 at document size
    image: QImage  # the same, for display
    original: QImage  # the source as it was when the edit ran (for comparing)
    prompt: str
    metadata: dict[str, Any]
    target: str = "new-layer"
    layer_id: int | None = None
    mask: np.ndarray | None = None  # HxW in [0, 1]: where the edit was allowed to change
    id: int = field(default_factory=lambda: next(_ids))


_ids = itertools.count(1)


class CompareView(QWidget):
    """Shows a result, the original, or both split by a draggable divider."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(160, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._result: QImage | None = None
        self._original: QImage | None = None
        self._show_original = False
        self._split = False
        self._divider = 0.5
        self._caption = ""
        self.setMouseTracking(False)

    def set_images(self, result: QImage | None, original: QImage | None,
                   caption: str = "") -> None:
        self._result, self._original, self._caption = result, original, caption
        self.update()

    def set_show_original(self, on: bool) -> None:
        if on != self._show_original:
            self._show_original = on
            self.update()

    def showing_original(self) -> bool:
        return self._show_original

    def set_split(self, on: bool) -> None:
        self._split = on
        self.update()

    def is_split(self) -> bool:
        return self._split

    def set_divider(self, fraction: float) -> None:
        self._divider = min(1.0, max(0.0, float(fraction)))
        self.update()

    def divider(self) -> float:
        return self._divider

    def _target_rect(self, image: QImage) -> QRectF:
        area = QRectF(self.rect()).adjusted(4, 4, -4, -4)
        if image.isNull() or area.width() <= 0 or area.height() <= 0:
            return area
        scale = min(area.width() / image.width(), area.height() / image.height())
        w, h = image.width() * scale, image.height() * scale
        return QRectF(area.center().x() - w / 2, area.center().y() - h / 2, w, h)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(36, 36, 36))
        shown = self._original if self._show_original else self._result
        if shown is None or shown.isNull():
            shown = self._original
        if shown is None or shown.isNull():
            painter.setPen(QColor(140, 140, 140))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter,
                             "Results appear here")
            return
        rect = self._target_rect(shown)
        painter.fillRect(rect, checker_brush())
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        if self._split and not self._show_original and self._original is not None \
                and self._result is not None:
            x = rect.left() + rect.width() * self._divider
            painter.drawImage(rect, self._result)
            painter.save()
            painter.setClipRect(QRectF(rect.left(), rect.top(), x - rect.left(), rect.height()))
            painter.drawImage(rect, self._original)
            painter.restore()
            painter.setPen(QPen(QColor(255, 255, 255, 220), 1.5))
            painter.drawLine(QPointF(x, rect.top()), QPointF(x, rect.bottom()))
            painter.setPen(QColor(230, 230, 230))
            painter.drawText(rect.adjusted(6, 4, -6, -4),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, "original")
            painter.drawText(rect.adjusted(6, 4, -6, -4),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop, "result")
        else:
            painter.drawImage(rect, shown)
            if self._show_original:
                painter.setPen(QColor(230, 230, 230))
                painter.drawText(rect.adjusted(6, 4, -6, -4),
                                 Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
                                 "original")

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self._drag_divider(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self._drag_divider(event)

    def _drag_divider(self, event: QMouseEvent) -> None:
        if not self._split or self._result is None:
            return
        rect = self._target_rect(self._result)
        if rect.width() > 0:
            self.set_divider((event.position().x() - rect.left()) / rect.width())


class StagingStrip(QWidget):
    """Thumbnails of results with Apply / Discard / Discard all and a comparison view."""

    apply_requested = Signal(int, str)  # result id, target ("new-layer" | "replace")
    selection_changed = Signal(int)  # result id, RUNNING_ID for the live preview, 0 for none
    compare_changed = Signal(bool)  # True while the original is shown
    discarded = Signal(int)
    reuse_requested = Signal(int)  # put this result's parameters back into the Edit panel

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("StagingStrip")
        self._results: dict[int, StagedResult] = {}
        self._running_item: QListWidgetItem | None = None
        self._running_original: QImage | None = None
        self._running_preview: QImage | None = None
        self._build()
        self._update_buttons()

    def _build(self) -> None:
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.compare = CompareView()
        self.compare.setMinimumWidth(200)
        layout.addWidget(self.compare, 2)

        self.list = QListWidget()
        self.list.setObjectName("stagingList")
        self.list.setViewMode(QListView.ViewMode.IconMode)
        self.list.setFlow(QListView.Flow.LeftToRight)
        self.list.setWrapping(False)
        self.list.setMovement(QListView.Movement.Static)
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setIconSize(QSize(THUMB, THUMB))
        self.list.setGridSize(QSize(THUMB + 28, THUMB + 54))
        self.list.setWordWrap(True)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setUniformItemSizes(True)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.list.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.currentItemChanged.connect(self._current_changed)
        # Enter or a double click applies; Delete discards (keyboard first, like the rest).
        # (not itemActivated: some desktops activate on a single click)
        self.list.itemDoubleClicked.connect(lambda _item: self.apply_current())
        self.list.installEventFilter(self)
        self.info_label = ElidedLabel()
        self.info_label.setObjectName("stagingInfo")
        middle = QVBoxLayout()
        middle.setContentsMargins(0, 0, 0, 0)
        middle.addWidget(self.list, 1)
        middle.addWidget(self.info_label)
        layout.addLayout(middle, 5)

        side = QVBoxLayout()
        self.apply_button = QToolButton()
        self.apply_button.setText("Apply")
        self.apply_button.setObjectName("applyButton")
        self.apply_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.apply_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.apply_button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.apply_button.clicked.connect(lambda: self.apply_current())
        menu = QMenu(self.apply_button)
        self.apply_new_action = menu.addAction("Apply as new layer",
                                               lambda: self.apply_current("new-layer"))
        self.apply_replace_action = menu.addAction("Apply replacing the target layer",
                                                   lambda: self.apply_current("replace"))
        self.apply_button.setMenu(menu)
        self.discard_button = QPushButton("Discard")
        self.discard_button.clicked.connect(self.discard_current)
        self.discard_all_button = QPushButton("Discard all")
        self.discard_all_button.clicked.connect(self.discard_all)
        self.original_button = QPushButton("Original")
        self.original_button.setToolTip("Hold to see the original (or hold \\)")
        self.original_button.pressed.connect(lambda: self.set_comparing(True))
        self.original_button.released.connect(lambda: self.set_comparing(False))
        self.split_button = QPushButton("Split view")
        self.split_button.setCheckable(True)
        self.split_button.setToolTip("Original on the left, result on the right; drag to move")
        self.split_button.toggled.connect(self.compare.set_split)
        self.reuse_button = QPushButton("Reuse settings")
        self.reuse_button.setToolTip("Put this result's prompt, seed and parameters back into "
                                     "the Edit panel, to run it again with a change")
        self.reuse_button.clicked.connect(self._reuse_current)
        for w in (self.apply_button, self.discard_button, self.discard_all_button,
                  self.original_button, self.split_button, self.reuse_button):
            side.addWidget(w)
        side.addStretch(1)
        layout.addLayout(side, 1)

    # results ----------------------------------------------------------------------------
    def add_result(self, result: StagedResult, select: bool = True) -> int:
        self._results[result.id] = result
        item = QListWidgetItem(QIcon(_thumb(result.image)), _caption(result))
        item.setData(ROLE_ID, result.id)
        item.setToolTip(_tooltip(result))
        row = self.list.count() - (1 if self._running_item is not None else 0)
        self.list.insertItem(max(0, row), item)
        if select:
            self.list.setCurrentItem(item)
        self._update_buttons()
        return result.id

    def result(self, result_id: int) -> StagedResult | None:
        return self._results.get(result_id)

    def results(self) -> list[StagedResult]:
        """In strip order, left to right."""
        out = []
        for row in range(self.list.count()):
            rid = self.list.item(row).data(ROLE_ID)
            if rid in self._results:
                out.append(self._results[rid])
        return out

    def current_id(self) -> int:
        item = self.list.currentItem()
        return int(item.data(ROLE_ID)) if item is not None else 0

    def select(self, result_id: int) -> None:
        for row in range(self.list.count()):
            if self.list.item(row).data(ROLE_ID) == result_id:
                self.list.setCurrentRow(row)
                return

    def remove(self, result_id: int) -> None:
        self._results.pop(result_id, None)
        for row in range(self.list.count()):
            if self.list.item(row).data(ROLE_ID) == result_id:
                self.list.takeItem(row)
                break
        if self.list.currentItem() is None and self.list.count():
            self.list.setCurrentRow(0)
        self._refresh_compare()
        self._update_buttons()

    def apply_current(self, target: str | None = None) -> None:
        rid = self.current_id()
        result = self._results.get(rid)
        if result is None:
            return
        self.apply_requested.emit(rid, target or result.target)

    def _reuse_current(self) -> None:
        if self.current_id() in self._results:
            self.reuse_requested.emit(self.current_id())

    def discard_current(self) -> None:
        rid = self.current_id()
        if rid in self._results:
            self.remove(rid)
            self.discarded.emit(rid)

    def discard_all(self) -> None:
        for rid in list(self._results):
            self.remove(rid)
            self.discarded.emit(rid)

    # the running job ----------------------------------------------------------------------
    def begin_running(self, original: QImage, text: str = "running…") -> None:
        """A slot at the end of the strip that shows the live preview of the running job."""
        self.end_running()
        self._running_original = original
        self._running_preview = None
        item = QListWidgetItem(QIcon(_thumb(original, dim=True)), text)
        item.setData(ROLE_ID, RUNNING_ID)
        self.list.addItem(item)
        self._running_item = item
        if not self._results or self.current_id() in (0, RUNNING_ID):
            self.list.setCurrentItem(item)
        self._update_buttons()

    def show_preview(self, image: QImage, text: str | None = None) -> None:
        """Cheap on purpose: called for every step's preview while the GUI must stay fluid."""
        if self._running_item is None:
            return
        self._running_preview = image
        self._running_item.setIcon(QIcon(_thumb(image)))
        if text is not None:
            self._running_item.setText(text)
        if self.current_id() == RUNNING_ID:
            self.compare.set_images(image, self._running_original, "preview")

    def end_running(self) -> None:
        if self._running_item is None:
            return
        row = self.list.row(self._running_item)
        self._running_item = None
        self.list.takeItem(row)
        self._running_preview = None
        self._refresh_compare()
        self._update_buttons()

    def running_preview(self) -> QImage | None:
        return self._running_preview

    # comparing ----------------------------------------------------------------------------
    def set_comparing(self, on: bool) -> None:
        if on != self.compare.showing_original():
            self.compare.set_show_original(on)
            self.compare_changed.emit(on)

    def eventFilter(self, watched: Any, event: Any) -> bool:  # noqa: N802
        if (watched is self.list and event.type() == QEvent.Type.ShortcutOverride
                and event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace)):
            event.accept()  # the strip's own Delete/Backspace, not the window's fill or clear
            return True
        if watched is self.list and event.type() == QEvent.Type.KeyPress:
            if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
                self.discard_current()
                return True
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not event.modifiers():
                self.apply_current()
                return True
        return super().eventFilter(watched, event)

    def keyPressEvent(self, event: Any) -> None:  # noqa: N802
        if event.key() == COMPARE_KEY and not event.isAutoRepeat():
            self.set_comparing(True)
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: Any) -> None:  # noqa: N802
        if event.key() == COMPARE_KEY and not event.isAutoRepeat():
            self.set_comparing(False)
            return
        super().keyReleaseEvent(event)

    # internals ----------------------------------------------------------------------------
    def _current_changed(self, *_args: Any) -> None:
        self._refresh_compare()
        self._update_buttons()
        self.selection_changed.emit(self.current_id())

    def _refresh_compare(self) -> None:
        rid = self.current_id()
        if rid == RUNNING_ID:
            self.compare.set_images(self._running_preview, self._running_original, "preview")
            self.info_label.setText("Running…")
            return
        result = self._results.get(rid)
        if result is None:
            self.compare.set_images(None, None)
            self.info_label.setText("")
            return
        self.compare.set_images(result.image, result.original, result.prompt)
        self.info_label.setText(_tooltip(result))

    def _update_buttons(self) -> None:
        has = self.current_id() in self._results
        self.apply_button.setEnabled(has)
        self.discard_button.setEnabled(has)
        self.reuse_button.setEnabled(has)
        self.original_button.setEnabled(has or self._running_item is not None)
        self.discard_all_button.setEnabled(bool(self._results))
        if has:
            target = self._results[self.current_id()].target
            self.apply_button.setToolTip(f"Apply {TARGET_TEXT.get(target, '')} "
                                         "(one step in the history)")


def _thumb(image: QImage | None, dim: bool = False) -> QPixmap:
    """The image fitted into a square thumbnail on a neutral background."""
    pix = QPixmap(THUMB, THUMB)
    pix.fill(QColor(44, 44, 44))
    if image is None or image.isNull():
        return pix
    scaled = fit_smoothly(image, THUMB)
    painter = QPainter(pix)
    x, y = (THUMB - scaled.width()) // 2, (THUMB - scaled.height()) // 2
    painter.drawImage(x, y, scaled)
    if dim:
        painter.fillRect(x, y, scaled.width(), scaled.height(), QColor(0, 0, 0, 120))
    painter.end()
    return pix


def _caption(result: StagedResult) -> str:
    m = result.metadata
    if m.get("compared"):
        # a "Compare methods" result: what it is and what it cost, so the artist can pick
        seconds = sum(float(v) for v in (m.get("timings") or {}).values())
        shown = f"{seconds:.1f}" if seconds < 10 else f"{seconds:.0f}"
        return f"{m.get('method')}\n{m.get('nfe')} NFE · {shown} s"
    prompt = result.prompt if len(result.prompt) <= 34 else result.prompt[:33].rstrip() + "…"
    seed = m.get("seed")
    return f"{prompt}\nseed {seed}" if seed is not None else prompt


def _tooltip(result: StagedResult) -> str:
    m = result.metadata
    parts = [f"“{result.prompt}”"]
    method = m.get("method")
    if method:
        parts.append(str(method))
    for key, label in (("steps", "steps"), ("eta", "η"), ("seed", "seed")):
        if key == "eta" and method not in (None, "rf-inversion", "stochastic"):
            continue  # the other methods have no η
        if key in m and m[key] is not None:
            parts.append(f"{label} {m[key]}")
    if "nfe" in m:
        parts.append(f"{m['nfe']} NFE")
    if m.get("cache_hit"):
        parts.append("inversion from cache")
    return " · ".join(parts)
